/**
 * A stream filter that masks secrets in a command's output on its way to `stage.log`. Text is
 * passed on a line at a time, so that a secret split across two reads is still caught; a line
 * longer than `maxLineLength` is passed on in parts, holding back only what could begin a secret.
 */

import { LineTransform, maxLineLength } from '../logs/line-transform.ts';
import type { Redactor } from './redactor.ts';

export class RedactingFilter extends LineTransform {
  readonly #redactor: Redactor;

  constructor(redactor: Redactor) {
    super();
    this.#redactor = redactor;
  }

  protected lines(complete: string, partial: string): [string, string] {
    const out = this.#redactor.redact(complete);
    if (partial.length <= maxLineLength) return [out, partial];
    const [head, tail] = this.#redactor.redactHead(partial);
    return [out + head, tail];
  }

  protected rest(text: string): string {
    return this.#redactor.redact(text);
  }
}
