import { join } from 'node:path';
import type { LogStream } from '../logs/stage-log-line.ts';
import { StampedLines } from '../logs/stamped-lines.ts';

type Write = typeof process.stdout.write;

/**
 * Sends this worker's stdout and stderr to the `stage.log` of the stage it is running (one at
 * a time), as stamped lines in order with what `context.log` writes; to the usual place
 * between stages.
 */
export class StageLogCapture {
  #lines: StampedLines | undefined;

  constructor() {
    this.#patch(process.stdout, 'stdout');
    this.#patch(process.stderr, 'stderr');
  }

  attach(stageDir: string): void {
    this.#lines = new StampedLines(join(stageDir, 'stage.log'));
  }

  detach(): void {
    this.#lines?.end();
    this.#lines = undefined;
  }

  #patch(target: NodeJS.WriteStream, stream: LogStream): void {
    const original = target.write.bind(target) as Write;
    const capture = (chunk: unknown, ...rest: unknown[]): boolean => {
      const lines = this.#lines;
      if (lines === undefined) return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      lines.write(chunk as string | Uint8Array, stream);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
    target.write = capture as Write;
  }
}
