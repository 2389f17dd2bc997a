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
  prefix: string;
  reader: TailReader;
  /** Lines read and kept, not printed yet, from `next`. */
  lines: string[];
  times: number[];
  next: number;
  /** Time of the last line read: a line without one stays next to it. */
  lastTime: number;
}

/** A log to merge: its path and the prefix its lines are printed with. */
export interface MergedLog {
  path: string;
  prefix: string;
}

export class LogMerge {
  readonly #sources: Source[] = [];
  readonly #keep: (line: LogLine) => boolean;
  readonly #chunk = Buffer.allocUnsafe(chunkBytes);

  constructor(logs: readonly MergedLog[], keep: (line: LogLine) => boolean) {
    this.#keep = keep;
    for (const log of logs) this.add(log);
  }

  /**
   * Merges one more log from the next drain on (a fan-out item that started while following):
   * it ties after every log added before it.
   */
  add({ path, prefix }: MergedLog): void {
    this.#sources.push({
      index: this.#sources.length,
      prefix,
      reader: new TailReader(path, { chunk: this.#chunk }),
      lines: [],
      times: [],
      next: 0,
      lastTime: 0,
    });
  }

  /**
   * Prints every line appended to the logs since the last call, oldest first; lines of the
   * same millisecond go in the order of the logs, then of their lines.
   */
  drain(print: (lines: string[]) => void): void {
    const heap = new SourceHeap();
    for (const source of this.#sources) if (this.#fill(source)) heap.push(source);
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
        source.lines.push(`${source.prefix}${text}`);
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
