/**
 * The CLI's output with secrets masked (SPEC H2): every line the CLI prints — plain progress,
 * the live view, `--json` events, error messages — goes through one Redactor, to which the
 * config loader adds the secrets it finds.
 */
import { Writable } from 'node:stream';
import { Redactor } from '../secrets/redactor.ts';
import type { CliIo, OutputStream } from './cli-io.ts';

/** `io` with stdout and stderr masking what `io.redactor` (made here if missing) knows. */
export function redactedIo(io: CliIo): CliIo & { redactor: Redactor } {
  const redactor = io.redactor ?? new Redactor();
  return {
    ...io,
    stdout: redactedStream(io.stdout, redactor),
    stderr: redactedStream(io.stderr, redactor),
    redactor,
  };
}

function redactedStream(target: OutputStream, redactor: Redactor): OutputStream {
  const stream: OutputStream = new Writable({
    decodeStrings: false,
    // Passed on at once: nothing waits here, so the target's own flushing still covers all.
    write(chunk: string | Buffer, _encoding, done) {
      target.write(redactor.redact(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
      done();
    },
  });
  Object.defineProperties(stream, {
    isTTY: { get: () => target.isTTY },
    columns: { get: () => target.columns },
  });
  return stream;
}
