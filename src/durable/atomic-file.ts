/**
 * Atomic replacement of files and links (SPEC C4: every run file is written atomically). A
 * reader sees the old content or the new, never a torn file: the new one is written beside
 * it and renamed over it, and rename(2) within one directory is atomic.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

export interface AtomicWriteOptions {
  /**
   * Flush the data to disk before the rename, so that a crash cannot leave an empty file
   * under the new name. Off only for files the store can rebuild.
   * @default true
   */
  fsync?: boolean;
}

let counter = 0;

/** A name beside `path` that no other writer, in this process or another, is using. */
function tempPathFor(path: string): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${path}.tmp-${process.pid}-${counter}`;
}

/** Writes `data` to `path` atomically; creates the parent directory when it is missing. */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  const temp = tempPathFor(path);
  try {
    const fd = openCreatingParent(temp);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let written = 0;
      while (written < bytes.length)
        written += writeSync(fd, bytes, written, bytes.length - written);
      if (options.fsync ?? true) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Opens `path` for writing; makes its directory only when missing (rare: no mkdir per write). */
function openCreatingParent(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dirname(path), { recursive: true });
    return openSync(path, 'w');
  }
}

/**
 * Points the symbolic link `linkPath` at `target` (e.g. `.gpipe/latest`), replacing any link
 * there in one step: there is no moment without a link.
 */
export function replaceSymlinkSync(target: string, linkPath: string): void {
  const temp = tempPathFor(linkPath);
  try {
    symlinkSync(target, temp);
    renameSync(temp, linkPath);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
