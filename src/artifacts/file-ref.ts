/**
 * FileRef (SPEC A6): how a stage returns large data — a reference to a file, with its size
 * and hash, in place of the bytes. It is plain JSON, so it travels in outputs, result files
 * and the run store like any other value; the `$fileRef` marker is what identifies it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Stats, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PipelineError } from '../errors.ts';

export interface FileRef {
  $fileRef: 1;
  /** Absolute. */
  path: string;
  /** Bytes. */
  size: number;
  /** `sha256:<64 hex>` of the file's bytes. */
  sha256: string;
}

/**
 * A reference to the file at `path` (relative to the current directory), hashed as a stream:
 * a file of any size costs a small buffer, not its size in memory.
 * @example return { model: await fileRef('out/model.bin') };
 */
export async function fileRef(path: string): Promise<FileRef> {
  const absolute = resolve(path);
  const stats = await stat(absolute).catch((error: NodeJS.ErrnoException) => {
    throw new PipelineError(
      'FILE_REF_NOT_FOUND',
      error.code === 'ENOENT'
        ? `cannot make a FileRef: ${absolute} does not exist`
        : `cannot make a FileRef of ${absolute}: ${error.message}`,
      { cause: error },
    );
  });
  if (!stats.isFile()) {
    throw new PipelineError(
      'FILE_REF_NOT_FOUND',
      `cannot make a FileRef: ${absolute} is ${stats.isDirectory() ? 'a directory' : 'not a regular file'}`,
    );
  }
  const hash = createHash('sha256');
  let size = 0;
  // The size counted while hashing, not stat's: the two then describe the same bytes.
  await pipeline(createReadStream(absolute), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      size += chunk.length;
      hash.update(chunk);
    }
  });
  return { $fileRef: 1, path: absolute, size, sha256: `sha256:${hash.digest('hex')}` };
}

export function isFileRef(value: unknown): value is FileRef {
  if (value === null || typeof value !== 'object') return false;
  const ref = value as Partial<FileRef>;
  return (
    ref.$fileRef === 1 &&
    typeof ref.path === 'string' &&
    typeof ref.size === 'number' &&
    typeof ref.sha256 === 'string'
  );
}

/** Every FileRef in a JSON value, however deep, in document order. */
export function collectFileRefs(value: unknown): FileRef[] {
  const found: FileRef[] = [];
  // An explicit stack: an output may be a long list, nested deeper than the call stack allows.
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (item === null || typeof item !== 'object') continue;
    if (isFileRef(item)) {
      found.push(item);
      continue;
    }
    const children = Array.isArray(item) ? item : Object.values(item);
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]);
  }
  return found;
}

export type FileRefCheck = { ok: true } | { ok: false; problem: string };

/**
 * Whether the files a value refers to are still there as recorded: present, regular files,
 * the recorded size. Never rehashes — resume runs this over every finished stage.
 */
export function checkFileRefs(value: unknown): FileRefCheck {
  for (const ref of collectFileRefs(value)) {
    const problem = fileRefProblem(ref);
    if (problem !== undefined) return { ok: false, problem };
  }
  return { ok: true };
}

function fileRefProblem(ref: FileRef): string | undefined {
  let stats: Stats | undefined;
  try {
    stats = statSync(ref.path, { throwIfNoEntry: false });
  } catch (error) {
    return `${ref.path} cannot be read: ${(error as Error).message}`;
  }
  if (!stats) return `${ref.path} is gone`;
  if (!stats.isFile()) return `${ref.path} is no longer a regular file`;
  if (stats.size !== ref.size)
    return `${ref.path} has changed: ${stats.size} bytes, ${ref.size} recorded`;
  return undefined;
}
