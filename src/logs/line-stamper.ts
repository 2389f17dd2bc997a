import { LineTransform, maxLineLength } from './line-transform.ts';
import { formatLogLine, type LogStream } from './stage-log-line.ts';

/**
 * Turns one output stream of a command into `stage.log` lines: each whole line gets the time it
 * was read and the stream's name; an unfinished line waits for its end (or the stream's).
 */
export class LineStamper extends LineTransform {
  readonly #stream: LogStream;

  constructor(stream: LogStream) {
    super();
    this.#stream = stream;
  }

  protected lines(complete: string, partial: string): [string, string] {
    const timestamp = new Date().toISOString();
    let out = '';
    let at = 0;
    for (let newline = complete.indexOf('\n'); newline >= 0; newline = complete.indexOf('\n', at)) {
      out += formatLogLine(timestamp, this.#stream, complete.slice(at, newline));
      at = newline + 1;
    }
    if (partial.length <= maxLineLength) return [out, partial];
    return [out + formatLogLine(timestamp, this.#stream, partial), ''];
  }

  protected rest(text: string): string {
    return formatLogLine(new Date().toISOString(), this.#stream, text);
  }
}
