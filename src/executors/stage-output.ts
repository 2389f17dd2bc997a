import { join } from 'node:path';
import { StampedLines } from '../logs/stamped-lines.ts';

const tailBytes = 4096;

/**
 * Where a worker process's stdout and stderr go: the `stage.log` of the stage it is running (a
 * worker runs one stage at a time), as stamped lines, and a short tail of stderr for the
 * message of a crash. What the stage prints through `console` is written by the worker itself
 * (stage-log-capture.ts); what reaches here bypassed it (native code, a crash report).
 */
export class StageOutput {
  readonly #redact: ((text: string) => string) | undefined;
  #lines: StampedLines | undefined;
  #tail = '';

  /** `redact` masks secrets in the lines written to the log. @default no masking */
  constructor(redact?: (text: string) => string) {
    this.#redact = redact;
  }

  /** Output from now on belongs to the stage in `stageDir`. */
  attach(stageDir: string): void {
    this.#lines = new StampedLines(join(stageDir, 'stage.log'), this.#redact);
    this.#tail = '';
  }

  detach(): void {
    this.#lines?.end();
    this.#lines = undefined;
  }

  write(chunk: Buffer | string, stderr: boolean): void {
    if (stderr) this.#tail = (this.#tail + chunk.toString()).slice(-tailBytes);
    this.#lines?.write(chunk, stderr ? 'stderr' : 'stdout');
  }

  /** The last lines the worker wrote to stderr. */
  get stderrTail(): string {
    return this.#tail;
  }
}
