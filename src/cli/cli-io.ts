import type { Writable } from 'node:stream';
import { ExitCode } from '../errors.ts';
import type { Redactor } from '../secrets/redactor.ts';

/** An output stream of the CLI: process.stdout / stderr, or a test's stand-in. */
export type OutputStream = Writable & { isTTY?: boolean; columns?: number };

/** Where the CLI reads its surroundings and writes its output; injected so that tests can. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Secrets to mask in everything written to stdout and stderr (see redacted-io.ts). */
  redactor?: Redactor;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}

/**
 * Resolves once everything written so far has been handed to the OS. Writes to a pipe are
 * asynchronous in Node, and `process.exit()` drops what is still queued.
 */
export function flush(stream: OutputStream): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('error', done);
    stream.once('close', done);
    // Writes complete in order: the callback of an empty write runs once the earlier ones have.
    stream.write('', done);
  });
}

/**
 * A reader that goes away (`gpipe run --json | head -1`) must not crash the run with EPIPE:
 * further output is dropped, the run goes on and its exit code still tells the outcome. Any
 * other failure to write (a full disk under a redirect) is an environment error: exit 5.
 */
export function handleWriteErrors(stream: OutputStream, report: OutputStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    process.exitCode = ExitCode.environment;
    if (report !== stream && !report.destroyed)
      report.write(`gpipe: cannot write output: ${error.message}\n`);
  });
}
