/**
 * What an inline stage prints (`console.log`, `process.stdout.write`) goes to its `stage.log`,
 * not to the orchestrator's stdout, where it would break `gpipe run --json` and the progress
 * display. Inline stages share the process and run interleaved, so a write is attributed by
 * the async context it happens in: the stage's function runs inside `withStageOutput`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { join } from 'node:path';
import type { LogStream } from '../logs/stage-log-line.ts';
import { StampedLines } from '../logs/stamped-lines.ts';

const current = new AsyncLocalStorage<StampedLines>();
let patched = false;

/**
 * Calls `fn(...args)` with the process's stdout and stderr writes made in its async context (its
 * awaits and callbacks included) going to `lines`. The caller ends `lines` once the stage has
 * settled.
 */
export function withStageOutput<A extends unknown[], T>(
  lines: StampedLines,
  fn: (...args: A) => T,
  ...args: A
): T {
  if (!patched) patchStreams();
  return current.run(lines, fn, ...args);
}

/** The lines of the stage in `stageDir`: its `stage.log`, made on the first write. */
export function stageOutputLines(
  stageDir: string,
  redact: ((text: string) => string) | undefined,
): StampedLines {
  return new StampedLines(join(stageDir, 'stage.log'), redact);
}

type Write = typeof process.stdout.write;

function patchStreams(): void {
  patched = true;
  patch(process.stdout, 'stdout');
  patch(process.stderr, 'stderr');
}

function patch(target: NodeJS.WriteStream, stream: LogStream): void {
  const original = target.write.bind(target) as (...args: unknown[]) => boolean;
  const write = (chunk: unknown, ...rest: unknown[]): boolean => {
    const lines = current.getStore();
    if (lines === undefined) return original(chunk, ...rest);
    lines.write(chunk as string | Uint8Array, stream);
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  target.write = write as Write;
}
