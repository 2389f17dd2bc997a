import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The file whose directory is the project root (SPEC D3). */
export const projectRootMarker = '.project_root';

/**
 * The project root: the nearest directory from `start` upwards holding a `.project_root`
 * marker, else `start` itself. Reads only; creates nothing.
 */
export function findProjectRoot(
  start: string,
  exists: (path: string) => boolean = existsSync,
): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (exists(join(dir, projectRootMarker))) return dir;
    if (dirname(dir) === dir) return resolve(start);
  }
}
