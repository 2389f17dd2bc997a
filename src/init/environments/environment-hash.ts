/**
 * An environment's identity: its kind, its options and the content of the files it is made
 * from (the spec file and the lock file beside it). Equal hashes, one shared environment.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
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

/** `sha256:<hex>`; the source must exist (checked by the caller). */
export async function environmentHash(spec: EnvironmentSpec): Promise<string> {
  const digest = createHash('sha256');
  digest.update(
    JSON.stringify({
      kind: spec.kind,
      extraArgs: spec.extraArgs ?? [],
      channels: spec.channels ?? [],
    }),
  );
  const lock = lockFileOf(spec);
  const files: [string, string][] = [['source', spec.source]];
  if (lock) files.push(['lock', lock]);
  for (const [role, file] of files) {
    digest.update(`\n${role}\n`);
    // Streamed: a conda archive may be gigabytes.
    for await (const chunk of createReadStream(file)) digest.update(chunk as Buffer);
  }
  return `sha256:${digest.digest('hex')}`;
}
