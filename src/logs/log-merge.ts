/**
 * Several stages' logs interleaved by time (`gpipe logs RUN`). Each `stage.log` is in time
 * order already, so a k-way merge holds a chunk of lines per log rather than every line of the
 * run: a run whose logs are gigabytes prints in bounded memory.
 */
import { type LogLine, parseLogLine } from './stage-log-line.ts';
import { TailReader } from './tail-reader.ts';

/** Bytes of a log read at a time, through one buffer shared by every log. */
const chunkBytes = 64 * 1024;
/** Lines printed at a time. */
const printBatch = 1024;

interface Source {
  /** Its place among the logs: the tie-break between lines of the same millisecond. */
  index: number;
  log: MergedLog;
  reader: TailReader;
  /** Lines read and kept, not printed yet, from `next`. */
  lines: string[];
  times: number[];
  next: number;
  /** Time of the last line read: a line without one stays next to it. */
  lastTime: number;
}

/** A log to merge: its path, the prefix its lines are printed with, and whose it is. */
export interface MergedLog {
  path: string;
  prefix: string;
  stage?: string;
}

/** How a kept line is printed: `raw` is the line as the log holds it. */
export type LineFormat = (log: MergedLog, raw: string, line: LogLine) => string;

const prefixed: LineFormat = (log, raw) => `${log.prefix}${raw}`;

export class LogMerge {
  readonly #sources: Source[] = [];
  readonly #keep: (line: LogLine) => boolean;
  readonly #format: LineFormat;
  readonly #chunk = Buffer.allocUnsafe(chunkBytes);

  constructor(
    logs: readonly MergedLog[],
    keep: (line: LogLine) => boolean,
    format: LineFormat = prefixed,
  ) {
    this.#keep = keep;
    this.#format = format;
    for (const log of logs) this.add(log);
  }

  /**
   * Merges one more log from the next drain on (a fan-out item that started while following):
   * it ties after every log added before it. Returns its index, for `drain`'s `only`.
   */
  add(log: MergedLog): number {
    const index = this.#sources.length;
    this.#sources.push({
      index,
      log,
      reader: new TailReader(log.path, { chunk: this.#chunk }),
      lines: [],
      times: [],
      next: 0,
      lastTime: 0,
    });
    return index;
  }

  /**
   * Prints every line appended to the logs since the last call, oldest first; lines of the
   * same millisecond go in the order of the logs, then of their lines. With `only`, reads just
   * those logs (by index): a follower of 100,000 logs then looks at the few that may grow.
   */
  drain(print: (lines: string[]) => void, only?: Iterable<number>): void {
    const heap = new SourceHeap();
    const sources = only === undefined ? this.#sources : this.#pick(only);
    for (const source of sources) if (this.#fill(source)) heap.push(source);
    let out: string[] = [];
    for (let source = heap.pop(); source; source = heap.pop()) {
      out.push(source.lines[source.next++]!);
      if (out.length >= printBatch) {
        print(out);
        out = [];
      }
      if (source.next < source.lines.length || this.#fill(source)) heap.push(source);
    }
    print(out);
  }

  /** The sources of these indexes, each once. */
  #pick(only: Iterable<number>): Source[] {
    const picked = new Set<Source>();
    for (const index of only) {
      const source = this.#sources[index];
      if (source) picked.add(source);
    }
    return [...picked];
  }

  /** Reads the source's next chunk of kept lines; false when it has none. */
  #fill(source: Source): boolean {
    source.lines = [];
    source.times = [];
    source.next = 0;
    while (source.lines.length === 0) {
      const read = source.reader.read((text) => {
        const line = parseLogLine(text);
        if (!Number.isNaN(line.time)) source.lastTime = line.time;
        if (!this.#keep(line)) return;
        source.lines.push(this.#format(source.log, text, line));
        source.times.push(source.lastTime);
      }, chunkBytes);
      if (read === 0) return false;
    }
    return true;
  }
}

/** Sources by the time of their next line, then by their place among the logs. */
class SourceHeap {
  readonly #items: Source[] = [];

  push(source: Source): void {
    const items = this.#items;
    items.push(source);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.#before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): Source | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && this.#before(items[left]!, items[least]!)) least = left;
      if (right < items.length && this.#before(items[right]!, items[least]!)) least = right;
      if (least === i) break;
      [items[i], items[least]] = [items[least]!, items[i]!];
      i = least;
    }
    return top;
  }

  #before(a: Source, b: Source): boolean {
    const ta = a.times[a.next]!;
    const tb = b.times[b.next]!;
    return ta < tb || (ta === tb && a.index < b.index);
  }
}
