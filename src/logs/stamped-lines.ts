/**
 * What a stage writes to its stdout and stderr streams inside a Node process (an inline stage,
 * a worker), as `stage.log` lines: each whole line with the time it was written and its stream,
 * like a command's (SPEC E2). An unfinished line waits for its end, or for `end()`.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { maxLineLength } from './line-transform.ts';
import { formatLogLine, type LogStream } from './stage-log-line.ts';

export class StampedLines {
  readonly #file: string;
  readonly #redact: ((text: string) => string) | undefined;
  /** Per stream: its decoder and the unfinished line. Made by the first write. */
  readonly #streams: Partial<Record<LogStream, { decoder: StringDecoder; partial: string }>> = {};
  #madeDirectory = false;

  /** `redact` masks secrets in each line before it is written. */
  constructor(file: string, redact?: (text: string) => string) {
    this.#file = file;
    this.#redact = redact;
  }

  write(chunk: string | Uint8Array, stream: LogStream): void {
    this.#streams[stream] ??= { decoder: new StringDecoder('utf8'), partial: '' };
    const state = this.#streams[stream];
    const text = state.partial + (typeof chunk === 'string' ? chunk : state.decoder.write(chunk));
    const cut = text.lastIndexOf('\n') + 1;
    let rest = text.slice(cut);
    let lines = cut > 0 ? this.#lines(text.slice(0, cut - 1), stream) : '';
    if (rest.length > maxLineLength) {
      lines += this.#lines(rest, stream);
      rest = '';
    }
    state.partial = rest;
    if (lines !== '') this.#append(lines);
  }

  /** Writes what is left of unfinished lines. */
  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const state = this.#streams[stream];
      if (!state) continue;
      const rest = state.partial + state.decoder.end();
      state.partial = '';
      if (rest !== '') this.#append(this.#lines(rest, stream));
    }
  }

  /** `text` (lines without their last newline) as log lines. */
  #lines(text: string, stream: LogStream): string {
    const timestamp = new Date().toISOString();
    const masked = this.#redact ? this.#redact(text) : text;
    let out = '';
    for (const line of masked.split('\n')) out += formatLogLine(timestamp, stream, line);
    return out;
  }

  #append(lines: string): void {
    try {
      if (!this.#madeDirectory) mkdirSync(dirname(this.#file), { recursive: true });
      this.#madeDirectory = true;
      appendFileSync(this.#file, lines);
    } catch {
      // A log that cannot be written must not fail the stage: its output is a courtesy.
    }
  }
}
