import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { formatLogLine, type LogStream } from './stage-log-line.ts';

/** A line longer than this is written in parts, as the native helper does. */
const maxLineLength = 64 * 1024;

/**
 * Turns one output stream of a command into `stage.log` lines: each whole line gets the time it
 * was read and the stream's name; an unfinished line waits for its end (or the stream's).
 */
export class LineStamper extends Transform {
  readonly #stream: LogStream;
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  constructor(stream: LogStream) {
    super();
    this.#stream = stream;
  }

  override _transform(
    chunk: Buffer | string,
    _encoding: BufferEncoding,
    done: TransformCallback,
  ): void {
    const text = this.#pending + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
    const timestamp = new Date().toISOString();
    let out = '';
    let at = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', at)) {
      out += formatLogLine(timestamp, this.#stream, text.slice(at, newline));
      at = newline + 1;
    }
    this.#pending = text.slice(at);
    if (this.#pending.length > maxLineLength) {
      out += formatLogLine(timestamp, this.#stream, this.#pending);
      this.#pending = '';
    }
    if (out.length > 0) this.push(out);
    done();
  }

  override _flush(done: TransformCallback): void {
    const rest = this.#pending + this.#decoder.end();
    if (rest.length > 0) this.push(formatLogLine(new Date().toISOString(), this.#stream, rest));
    done();
  }
}
