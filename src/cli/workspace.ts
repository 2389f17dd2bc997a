import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { findProjectRoot, projectRootMarker } from '../config/project-root.ts';
import { InputError } from '../errors.ts';

export { projectRootMarker };

/** The workspace of a run: the project root (SPEC D3) found from `start`. */
export function findWorkspaceRoot(
  start: string,
  exists: (path: string) => boolean = existsSync,
): string {
  return findProjectRoot(start, exists);
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
