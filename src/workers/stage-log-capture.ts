import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

type Write = typeof process.stdout.write;

/**
 * Sends this worker thread's stdout and stderr to the `stage.log` of the stage it is running
 * (one at a time), and to the usual place between stages.
 */
export class StageLogCapture {
  #file: string | undefined;

  constructor() {
    this.#patch(process.stdout);
    this.#patch(process.stderr);
  }

  attach(stageDir: string): void {
    mkdirSync(stageDir, { recursive: true });
    this.#file = join(stageDir, 'stage.log');
  }

  detach(): void {
    this.#file = undefined;
  }

  #patch(stream: NodeJS.WriteStream): void {
    const original = stream.write.bind(stream) as Write;
    const capture = (chunk: unknown, ...rest: unknown[]): boolean => {
      const file = this.#file;
      if (file === undefined) return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      try {
        appendFileSync(file, chunk as string | Uint8Array);
      } catch {
        // A log that cannot be written must not fail the stage.
      }
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
    stream.write = capture as Write;
  }
}
