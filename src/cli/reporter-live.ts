import type { StageSample } from '../monitor/stage-sample.ts';
import type { RunResult } from '../scheduler/engine.ts';
import type { RunEvent } from '../scheduler/events.ts';
import type { CliIo } from './cli-io.ts';
import type { Palette } from './colors.ts';
import { renderLiveFrame } from './progress-live.ts';
import { formatPlainLine } from './progress-plain.ts';
import { ProgressState } from './progress-state.ts';
import { type Reporter, reportOf, writeSummary } from './reporter.ts';

const hideCursor = '\x1b[?25l';
const showCursor = '\x1b[?25h';
/** Redraws per second, at most. */
const framesPerSecond = 10;

/**
 * The live view on a terminal: a frame of a few lines (counts, elapsed time, running stages,
 * the last ones to finish) redrawn in place at most ten times a second. Failures and retries
 * are also printed above the frame as they happen, so that they stay in the scrollback.
 */
export class LiveReporter implements Reporter {
  readonly #io: CliIo;
  readonly #palette: Palette;
  readonly #now: () => number;
  readonly #state = new ProgressState();
  #timer: NodeJS.Timeout | undefined;
  /** Lines of the frame now on screen, to erase before the next one. */
  #height = 0;
  #closed = false;
  readonly #restoreCursor = () => this.#io.stdout.write(showCursor);

  constructor(io: CliIo, palette: Palette, now: () => number = Date.now) {
    this.#io = io;
    this.#palette = palette;
    this.#now = now;
  }

  onEvent(event: RunEvent): void {
    const stage = this.#state.apply(event);
    if (this.#closed) return;
    if (this.#timer === undefined) this.#start();
    const lasting =
      event.event === 'stage_retrying' ||
      event.event === 'stage_fallback' ||
      (event.event === 'stage_finished' && event.status === 'failed');
    if (lasting)
      this.#printAbove(this.#io.stdout, formatPlainLine(event, stage, { palette: this.#palette })!);
  }

  /** The monitor's latest figures of a running stage: shown at the next redraw. */
  onSample(sample: StageSample): void {
    this.#state.applySample(sample);
  }

  notice(message: string): void {
    if (this.#closed) this.#io.stderr.write(`gpipe: ${message}\n`);
    else this.#printAbove(this.#io.stderr, `gpipe: ${message}`);
  }

  finish(result: RunResult, wallMs: number): void {
    this.close();
    writeSummary(this.#io, this.#palette, result, wallMs, reportOf(result));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#io.stdout.write(this.#erase() + showCursor);
    process.off('exit', this.#restoreCursor);
  }

  #start(): void {
    this.#io.stdout.write(hideCursor);
    // Whatever ends the process, the cursor comes back.
    process.on('exit', this.#restoreCursor);
    this.#timer = setInterval(() => this.#draw(), 1000 / framesPerSecond);
    this.#timer.unref();
    this.#draw();
  }

  #draw(): void {
    const width = this.#io.stdout.columns || 80;
    const lines = renderLiveFrame(this.#state, this.#now(), { palette: this.#palette, width });
    this.#io.stdout.write(`${this.#erase()}${lines.join('\n')}\n`);
    this.#height = lines.length;
  }

  /** Moves to the frame's first line and clears to the end of the screen. */
  #erase(): string {
    const erase = this.#height > 0 ? `\x1b[${this.#height}F\x1b[J` : '';
    this.#height = 0;
    return erase;
  }

  /** The frame comes back at the next tick: a burst of lines costs no burst of redraws. */
  #printAbove(stream: CliIo['stdout'], line: string): void {
    this.#io.stdout.write(this.#erase());
    stream.write(`${line}\n`);
  }
}
