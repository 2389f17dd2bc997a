import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is passed on in parts (the native helper splits at the same size). */
export const maxLineLength = 64 * 1024;

/**
 * A stream transform over whole lines of UTF-8 text: a line split across two reads (or a
 * character split across two chunks) reaches `lines` whole. Subclasses say what whole lines and
 * the unfinished rest become; the rest they keep waits for the next read or the stream's end.
 */
export abstract class LineTransform extends Transform {
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  /**
   * `complete` is whole lines, each ending in `\n` (maybe none); `partial` the unfinished line
   * after them. Returns the text to pass on and the part of `partial` to keep.
   */
  protected abstract lines(complete: string, partial: string): [out: string, kept: string];

  /** What the text left at the stream's end (no newline after it) becomes. */
  protected abstract rest(text: string): string;

  override _transform(
    chunk: Buffer | string,
    _encoding: BufferEncoding,
    done: TransformCallback,
  ): void {
    const text = this.#pending + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
    const cut = text.lastIndexOf('\n') + 1;
    const [out, kept] = this.lines(text.slice(0, cut), text.slice(cut));
    this.#pending = kept;
    if (out.length > 0) this.push(out);
    done();
  }

  override _flush(done: TransformCallback): void {
    const text = this.#pending + this.#decoder.end();
    const out = text.length > 0 ? this.rest(text) : '';
    if (out.length > 0) this.push(out);
    done();
  }
}
