import { existsSync } from 'node:fs';
import type { RunReport } from '../durable/stage-timeline.ts';
import type { StageSample } from '../monitor/stage-sample.ts';
import type { RunResult } from '../scheduler/engine.ts';
import type { RunEvent } from '../scheduler/events.ts';
import type { CliIo } from './cli-io.ts';
import type { Palette } from './colors.ts';
import { formatPlainLine } from './progress-plain.ts';
import { ProgressState } from './progress-state.ts';
import { renderSummary } from './progress-summary.ts';
import { renderStageTable } from './stage-table.ts';

/** How `gpipe run` shows a run: what each event prints, and what the end prints. */
export interface Reporter {
  onEvent(event: RunEvent): void;
  /** The resource monitor's latest figures of a running stage (views that show them). */
  onSample?(sample: StageSample): void;
  /** A message for the user during the run, on stderr (such as "stopping"). */
  notice(message: string): void;
  /** The run is over: print its summary. */
  finish(result: RunResult, wallMs: number): void;
  /** Stops timers and gives the terminal back; safe to call more than once. */
  close(): void;
}

/** `--json`: every event as one JSON line on stdout, and nothing else there. */
export class JsonReporter implements Reporter {
  readonly #io: CliIo;

  constructor(io: CliIo) {
    this.#io = io;
  }

  onEvent(event: RunEvent): void {
    this.#io.stdout.write(`${JSON.stringify(publicEvent(event))}\n`);
  }

  notice(message: string): void {
    this.#io.stderr.write(`gpipe: ${message}\n`);
  }

  finish(): void {}

  close(): void {}
}

/** The event as `--json` prints it: an attempt's full result stays in the run store. */
function publicEvent(event: RunEvent): RunEvent {
  if (!('result' in event) || event.result === undefined) return event;
  const { result: _result, ...rest } = event;
  return rest;
}

/** Not a terminal: one line per transition, then the summary. */
export class LineReporter implements Reporter {
  readonly #io: CliIo;
  readonly #palette: Palette;
  readonly #state = new ProgressState();

  constructor(io: CliIo, palette: Palette) {
    this.#io = io;
    this.#palette = palette;
  }

  onEvent(event: RunEvent): void {
    const stage = this.#state.apply(event);
    const group =
      event.event === 'stage_finished' && !event.reused
        ? this.#state.groupOf(event.stage)
        : undefined;
    const line = formatPlainLine(event, stage, {
      palette: this.#palette,
      ...(group && { group }),
    });
    if (line !== undefined) this.#io.stdout.write(`${line}\n`);
  }

  notice(message: string): void {
    this.#io.stderr.write(`gpipe: ${message}\n`);
  }

  finish(result: RunResult, wallMs: number): void {
    writeSummary(this.#io, this.#palette, result, wallMs, reportOf(result));
  }

  close(): void {}
}

/** `--quiet`: the summary only. */
export class QuietReporter implements Reporter {
  readonly #io: CliIo;
  readonly #palette: Palette;

  constructor(io: CliIo, palette: Palette) {
    this.#io = io;
    this.#palette = palette;
  }

  onEvent(): void {}

  notice(message: string): void {
    this.#io.stderr.write(`gpipe: ${message}\n`);
  }

  finish(result: RunResult, wallMs: number): void {
    writeSummary(this.#io, this.#palette, result, wallMs);
  }

  close(): void {}
}

/** The end-of-run summary, on stdout, after the stage table when there is a report. */
export function writeSummary(
  io: CliIo,
  palette: Palette,
  result: RunResult,
  wallMs: number,
  report?: RunReport,
): void {
  const lines = renderSummary(result, { palette, wallMs, cwd: io.cwd, exists: existsSync });
  const table = report ? renderStageTable(report, { palette }) : [];
  io.stdout.write(`${[...table, ...lines].join('\n')}\n`);
}

/** A durable run's report (a run of the TypeScript API has none). */
export function reportOf(result: RunResult): RunReport | undefined {
  return 'report' in result ? (result as { report: RunReport }).report : undefined;
}
