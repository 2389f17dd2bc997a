/**
 * A stream filter that masks secrets in a command's output on its way to `stage.log`. Text is
 * passed on a line at a time, so that a secret split across two reads is still caught; a line
 * longer than `maxLineLength` is passed on in parts, holding back only what could begin a secret.
 */

import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Redactor } from './redactor.ts';

const maxLineLength = 64 * 1024;

export class RedactingFilter extends Transform {
  readonly #redactor: Redactor;
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  constructor(redactor: Redactor) {
    super();
    this.#redactor = redactor;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const text = this.#pending + this.#decoder.write(chunk);
    const cut = text.lastIndexOf('\n') + 1;
    let out = this.#redactor.redact(text.slice(0, cut));
    this.#pending = text.slice(cut);
    if (this.#pending.length > maxLineLength) {
      const [head, tail] = this.#redactor.redactHead(this.#pending);
      out += head;
      this.#pending = tail;
    }
    if (out.length > 0) this.push(out);
    done();
  }

  override _flush(done: TransformCallback): void {
    const rest = this.#redactor.redact(this.#pending + this.#decoder.end());
    if (rest.length > 0) this.push(rest);
    done();
  }
}
