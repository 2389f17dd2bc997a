import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** Bytes read at a time: what a read holds in memory, whatever the file's size. */
const defaultChunkSize = 1024 * 1024;

export interface TailReaderOptions {
  /** Where to start: a byte offset just after a line (a stored `offset`). @default 0 */
  offset?: number;
  /** @default 1 MiB */
  chunkSize?: number;
  /**
   * The buffer reads go through, shared by readers read one after the other (what they keep
   * between reads is copied out): many readers then hold one chunk, not one each.
   */
  chunk?: Buffer;
}

/**
 * Reads the lines appended to a file since the last read, from a byte offset, never from the
 * start again (SPEC E5; `gpipe logs -f`). A last line without its newline yet is kept back
 * and completed by a later read. Memory stays at one chunk plus the unfinished line.
 */
export class TailReader {
  readonly path: string;
  readonly #chunkSize: number;
  /** Allocated by the first read: most readers (a stage that writes no metrics) never read. */
  #chunk: Buffer | undefined;
  /** Just after the last whole line handed out: where a new reader would resume. */
  #offset: number;
  /** Bytes of an unfinished line, read already (they follow `#offset`). */
  #partial: Buffer[] = [];
  #partialLength = 0;
  #bytesRead = 0;

  constructor(path: string, options: TailReaderOptions = {}) {
    this.path = path;
    this.#offset = options.offset ?? 0;
    this.#chunkSize = options.chunk?.length ?? options.chunkSize ?? defaultChunkSize;
    this.#chunk = options.chunk;
  }

  /** The byte offset just after the last whole line read: store it to resume there. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes read from the file by this reader, in all. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Whether the file holds bytes past what was read: a stat, no open, no exception. */
  hasNewBytes(): boolean {
    const size = statSync(this.path, { throwIfNoEntry: false })?.size;
    return size !== undefined && size > this.#offset + this.#partialLength;
  }

  /**
   * Hands each whole line appended since the last call to `onLine` (without its newline);
   * returns the number of bytes this call read. A missing file reads as empty. With `maxBytes`
   * it stops after the chunk that passes it (call again for the rest): what the caller holds
   * from one call stays bounded, whatever the file's size.
   */
  read(onLine: (line: string) => void, maxBytes = Number.POSITIVE_INFINITY): number {
    if (!this.hasNewBytes()) return 0;
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    let total = 0;
    this.#chunk ??= Buffer.allocUnsafe(this.#chunkSize);
    const chunk = this.#chunk;
    try {
      let position = this.#offset + this.#partialLength;
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, position);
        if (n === 0) break;
        position += n;
        total += n;
        this.#split(chunk.subarray(0, n), onLine);
        if (total >= maxBytes) break;
      }
    } finally {
      closeSync(fd);
    }
    this.#bytesRead += total;
    return total;
  }

  #split(data: Buffer, onLine: (line: string) => void): void {
    let start = 0;
    for (let newline = data.indexOf(10); newline >= 0; newline = data.indexOf(10, start)) {
      const tail = data.subarray(start, newline);
      let line: Buffer = tail;
      if (this.#partialLength > 0) {
        line = Buffer.concat([...this.#partial, tail]);
        this.#partial = [];
        this.#partialLength = 0;
      }
      this.#offset += line.length + 1;
      onLine(line.toString('utf8'));
      start = newline + 1;
    }
    if (start < data.length) {
      // Copied: the chunk is reused by the next read.
      this.#partial.push(Buffer.from(data.subarray(start)));
      this.#partialLength += data.length - start;
    }
  }
}
