import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const tailBytes = 4096;

/**
 * Where a worker's stdout and stderr go: the `stage.log` of the stage it is running (a worker
 * runs one stage at a time), and a short tail of stderr for the message of a crash.
 */
export class StageOutput {
  #logFile: string | undefined;
  #tail = '';

  /** Output from now on belongs to the stage in `stageDir`. */
  attach(stageDir: string): void {
    mkdirSync(stageDir, { recursive: true });
    this.#logFile = join(stageDir, 'stage.log');
    this.#tail = '';
  }

  detach(): void {
    this.#logFile = undefined;
  }

  write(chunk: Buffer | string, stderr: boolean): void {
    if (stderr) this.#tail = (this.#tail + chunk.toString()).slice(-tailBytes);
    if (this.#logFile === undefined) return;
    try {
      appendFileSync(this.#logFile, chunk);
    } catch {
      // A missing log must not fail the stage: its output is a courtesy, not its result.
    }
  }

  /** The last lines the worker wrote to stderr. */
  get stderrTail(): string {
    return this.#tail;
  }
}
