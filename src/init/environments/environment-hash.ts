/**
 * An environment's identity: its kind, its options and the content of the files it is made
 * from (the spec file and the lock file beside it). Equal hashes, one shared environment.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EnvironmentSpec } from '../../graph/pipeline.ts';

/** The lock file each tool reads beside its spec file, when there is one. */
const lockFiles: Readonly<Record<EnvironmentSpec['kind'], string | undefined>> = {
  venv: undefined,
  uv: 'uv.lock',
  pixi: 'pixi.lock',
  conda: undefined,
  npm: 'package-lock.json',
};

/** The lock file beside `spec.source` that its tool will read, if one is there. */
export function lockFileOf(spec: EnvironmentSpec): string | undefined {
  const name = lockFiles[spec.kind];
  if (name === undefined) return undefined;
  const path = join(dirname(spec.source), name);
  return existsSync(path) ? path : undefined;
}

/** A spec file's content digest, with the stat it was read at. */
export interface FileDigest {
  path: string;
  size: number;
  mtimeMs: number;
  digest: string;
}

/** An environment's hash and the digests of its files, kept in the marker. */
export interface EnvironmentIdentity {
  hash: string;
  files: FileDigest[];
}

/**
 * `sha256:<hex>` of the spec; the source must exist (checked by the caller). A file whose
 * path, size and mtime match one of `known` (the marker's) is not read again: a conda archive
 * may be gigabytes, and every run checks its environment.
 */
export async function environmentHash(
  spec: EnvironmentSpec,
  known: readonly FileDigest[] = [],
): Promise<EnvironmentIdentity> {
  const lock = lockFileOf(spec);
  const files: FileDigest[] = [];
  for (const path of lock ? [spec.source, lock] : [spec.source]) {
    const { size, mtimeMs } = statSync(path);
    const same = known.find(
      (file) => file.path === path && file.size === size && file.mtimeMs === mtimeMs,
    );
    files.push({ path, size, mtimeMs, digest: same?.digest ?? (await digestOf(path)) });
  }
  const options = {
    kind: spec.kind,
    extraArgs: spec.extraArgs ?? [],
    channels: spec.channels ?? [],
  };
  const hash = createHash('sha256')
    .update(JSON.stringify({ options, files: files.map((file) => file.digest) }))
    .digest('hex');
  return { hash: `sha256:${hash}`, files };
}

async function digestOf(path: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(path)) digest.update(chunk as Buffer);
  return digest.digest('hex');
}
