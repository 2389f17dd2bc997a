import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Retention, Rotation } from './log-config.ts';

export interface RotatingFileOptions {
  dir: string;
  /** `pipeline_<id>_<timestamp>`: the files are `<stem>.log`, then `<stem>.1.log`, `<stem>.2.log`… */
  stem: string;
  /** Files of this prefix in `dir` are subject to `retention` (this pipeline's logs). */
  prefix: string;
  rotation?: Rotation;
  retention?: Retention;
  /** @default Date.now */
  now?: () => number;
}

/**
 * An append-only log file that moves on to a new file once the current one passes its rotation
 * size (or age), and deletes the pipeline's older log files past their retention — when it
 * opens and at each rotation. The file being written is never deleted.
 */
export class RotatingFile {
  readonly #options: RotatingFileOptions;
  readonly #now: () => number;
  #fd: number | undefined;
  #path = '';
  #part = 0;
  #size = 0;
  #openedAt = 0;

  constructor(options: RotatingFileOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    mkdirSync(options.dir, { recursive: true });
    this.#open();
  }

  /** The file being written. */
  get path(): string {
    return this.#path;
  }

  /** Appends whole lines; a rotation falls between two lines, never inside one. */
  write(text: string): void {
    if (!this.#options.rotation) {
      this.#append(text);
      return;
    }
    let batch = '';
    let batchBytes = 0;
    for (let at = 0; at < text.length; ) {
      const newline = text.indexOf('\n', at);
      const end = newline < 0 ? text.length : newline + 1;
      const line = text.slice(at, end);
      const bytes = Buffer.byteLength(line);
      if (this.#rotationDue(this.#size + batchBytes, bytes)) {
        this.#append(batch);
        batch = '';
        batchBytes = 0;
        this.close();
        this.#part++;
        this.#open();
      }
      batch += line;
      batchBytes += bytes;
      at = end;
    }
    this.#append(batch);
  }

  #rotationDue(size: number, adding: number): boolean {
    const rotation = this.#options.rotation!;
    if (size === 0) return false; // a line longer than the limit still goes somewhere
    return 'bytes' in rotation
      ? size + adding > rotation.bytes
      : this.#now() - this.#openedAt >= rotation.ms;
  }

  #append(text: string): void {
    if (text === '') return;
    writeSync(this.#fd!, text);
    this.#size += Buffer.byteLength(text);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #open(): void {
    const { dir, stem } = this.#options;
    this.#path = join(dir, this.#part === 0 ? `${stem}.log` : `${stem}.${this.#part}.log`);
    this.#fd = openSync(this.#path, 'a');
    this.#size = statSync(this.#path).size;
    this.#openedAt = this.#now();
    this.#applyRetention();
  }

  #applyRetention(): void {
    const { dir, prefix, retention } = this.#options;
    if (!retention) return;
    const files = readdirSync(dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.log'))
      .map((name) => ({ path: join(dir, name), mtime: statSync(join(dir, name)).mtimeMs }))
      .filter((file) => file.path !== this.#path)
      .sort((a, b) => b.mtime - a.mtime);
    const doomed =
      'days' in retention
        ? files.filter((file) => this.#now() - file.mtime > retention.days * 86_400_000)
        : // The current file counts as one of those kept.
          files.slice(Math.max(0, retention.files - 1));
    for (const file of doomed) rmSync(file.path, { force: true });
  }
}
