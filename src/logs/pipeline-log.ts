/**
 * The pipeline log (SPEC E2): one line per transition of a run, at a level, secrets masked —
 * `2026-12-01T20:00:00.123Z | ERROR    | stage train failed (exit 3): …`. A TOML pipeline's goes
 * to `work_dir/logs/pipeline_<id>_<timestamp>.log` with its `log_config` (level, rotation,
 * retention); any other pipeline's to `pipeline.log` in its run directory.
 */
import { join } from 'node:path';
import type { RunEvent } from '../scheduler/events.ts';
import { type LogLevel, logLevels, type Retention, type Rotation } from './log-config.ts';
import { RotatingFile } from './rotating-file.ts';

export interface PipelineLogSettings {
  /** @default INFO */
  level?: LogLevel;
  /** Where the files go. @default the run directory (`pipeline.log`) */
  dir?: string;
  /** The file name's `<id>`: `pipeline_<id>_<timestamp>.log`. Needs `dir`. */
  pipelineId?: string;
  rotation?: Rotation;
  retention?: Retention;
  /** Masks secrets in each line. */
  redact?: (text: string) => string;
}

export class PipelineLog {
  readonly #settings: PipelineLogSettings;
  readonly #threshold: number;
  readonly #startedAt = new Map<string, number>();
  #file: RotatingFile | undefined;
  #pending = '';
  #scheduled = false;

  constructor(settings: PipelineLogSettings = {}) {
    this.#settings = settings;
    this.#threshold = logLevels.indexOf(settings.level ?? 'INFO');
  }

  /** The file being written, once the run has started. */
  get path(): string | undefined {
    return this.#file?.path;
  }

  readonly onEvent = (event: RunEvent): void => {
    if (event.event === 'run_started') this.#open(event.runDir, event.ts);
    const line = describe(event, this.#startedAt);
    if (line) this.#write(event.ts, line[0], line[1]);
  };

  /** Writes what is buffered and closes the file. */
  close(): void {
    this.#flush();
    this.#file?.close();
    this.#file = undefined;
  }

  #open(runDir: string, ts: number): void {
    if (this.#file) return;
    const { dir, pipelineId } = this.#settings;
    const stamp = new Date(ts).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
    this.#file = new RotatingFile({
      dir: dir ?? runDir,
      stem: dir && pipelineId ? `pipeline_${pipelineId}_${stamp}` : 'pipeline',
      prefix: dir && pipelineId ? `pipeline_${pipelineId}_` : 'pipeline.',
      ...(this.#settings.rotation && { rotation: this.#settings.rotation }),
      ...(this.#settings.retention && { retention: this.#settings.retention }),
    });
  }

  #write(ts: number, level: LogLevel, message: string): void {
    if (logLevels.indexOf(level) < this.#threshold || !this.#file) return;
    const masked = this.#settings.redact ? this.#settings.redact(message) : message;
    // A message's further lines are indented: every record starts with its time.
    const text = masked.replaceAll('\n', '\n    ');
    this.#pending += `${new Date(ts).toISOString()} | ${level.padEnd(8)} | ${text}\n`;
    // Lines of one turn of the event loop go out in one write.
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#pending === '' || !this.#file) return;
    const text = this.#pending;
    this.#pending = '';
    try {
      this.#file.write(text);
    } catch {
      // A full disk loses log lines, never the run.
    }
  }
}

/** The level and message of an event, if it gets a line. */
function describe(event: RunEvent, startedAt: Map<string, number>): [LogLevel, string] | undefined {
  switch (event.event) {
    case 'run_started':
      return [
        'INFO',
        `run ${event.runId} of ${event.pipeline} ${event.resumed ? 'resumed' : 'started'}: ${event.stages} stages${event.reused ? `, ${event.reused} done before` : ''}`,
      ];
    case 'stage_mapped':
      return ['INFO', `stage ${event.stage} mapped over ${event.over}: ${event.items} items`];
    case 'stage_started':
      startedAt.set(event.stage, event.ts);
      return ['INFO', `stage ${event.stage} started (attempt ${event.attempt})`];
    case 'stage_retrying':
      return [
        'WARNING',
        `stage ${event.stage} attempt ${event.attempt} failed${exit(event.exitCode)}: ${event.error.message}; retrying in ${event.delayMs} ms`,
      ];
    case 'stage_fallback':
      return [
        'WARNING',
        `stage ${event.stage} failed${exit(event.exitCode)}: ${event.error.message}; its fallback ${event.fallback} runs in its place`,
      ];
    case 'stage_finished': {
      const started = startedAt.get(event.stage);
      const took = started === undefined ? '' : ` in ${((event.ts - started) / 1000).toFixed(1)}s`;
      if (event.status === 'failed') {
        return [
          'ERROR',
          `stage ${event.stage} failed${exit(event.exitCode)}${took}: ${event.error?.message ?? 'no message'}`,
        ];
      }
      if (event.status === 'succeeded') return ['SUCCESS', `stage ${event.stage} succeeded${took}`];
      if (event.status === 'upstream_failed' || event.status === 'cancelled') {
        return ['WARNING', `stage ${event.stage} ${event.status.replace('_', ' ')}`];
      }
      return [
        'DEBUG',
        `stage ${event.stage} ${event.status}${event.reused ? ' (done before)' : ''}`,
      ];
    }
    case 'run_finished':
      return [
        event.status === 'succeeded' ? 'SUCCESS' : 'ERROR',
        `run ${event.runId} ${event.status}`,
      ];
  }
}

function exit(code: number | undefined): string {
  return code === undefined ? '' : ` (exit ${code})`;
}

/** Where the pipeline log of a run without its own settings goes. */
export function runPipelineLogPath(runDir: string): string {
  return join(runDir, 'pipeline.log');
}
