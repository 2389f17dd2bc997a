import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.ts';

/** The file whose directory is the project root (SPEC D3). */
export const projectRootMarker = '.project_root';

/**
 * The workspace of a run: the nearest directory from `start` upwards holding a `.project_root`
 * marker, else `start` itself. Reads only; creates nothing.
 */
export function findWorkspaceRoot(
  start: string,
  exists: (path: string) => boolean = existsSync,
): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (exists(join(dir, projectRootMarker))) return dir;
    if (dirname(dir) === dir) return resolve(start);
  }
}

/** The workspace given with `--workspace` (relative to `cwd`): it must be an existing directory. */
export function checkWorkspace(dir: string, cwd: string): string {
  const path = resolve(cwd, dir);
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) throw new InputError(`workspace '${dir}' is not a directory`);
  return path;
}
