import { join } from 'node:path';
import type { LogStream } from '../logs/stage-log-line.ts';
import { StampedLines } from '../logs/stamped-lines.ts';

type Write = typeof process.stdout.write;

/**
 * Sends this worker's stdout and stderr to the `stage.log` of the stage it is running (one at
 * a time), as stamped lines in order with what `context.log` writes; to the usual place
 * between stages (a stage's late timer), masked there too once a stage has brought secrets.
 */
export class StageLogCapture {
  #lines: StampedLines | undefined;
  #redact: ((text: string) => string) | undefined;

  constructor() {
    this.#patch(process.stdout, 'stdout');
    this.#patch(process.stderr, 'stderr');
  }

  /** `redact` masks secrets in each line; kept after `detach` for what is printed later. */
  attach(stageDir: string, redact?: (text: string) => string): void {
    this.#redact = redact;
    this.#lines = new StampedLines(join(stageDir, 'stage.log'), redact);
  }

  detach(): void {
    this.#lines?.end();
    this.#lines = undefined;
  }

  #patch(target: NodeJS.WriteStream, stream: LogStream): void {
    const original = target.write.bind(target) as Write;
    const capture = (chunk: unknown, ...rest: unknown[]): boolean => {
      const lines = this.#lines;
      if (lines === undefined)
        return (original as (...args: unknown[]) => boolean)(this.#masked(chunk), ...rest);
      lines.write(chunk as string | Uint8Array, stream);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
    target.write = capture as Write;
  }

  /** A write between stages, masked (a chunk may cut a secret in two: this is a fallback). */
  #masked(chunk: unknown): unknown {
    if (this.#redact === undefined) return chunk;
    if (typeof chunk === 'string') return this.#redact(chunk);
    if (chunk instanceof Uint8Array) return this.#redact(Buffer.from(chunk).toString('utf8'));
    return chunk;
  }
}
