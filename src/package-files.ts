/**
 * Files of this package (the Python bridge, worker entries, the native helper) by their path in
 * the package, found the same way whether the code runs from src/ or from the CLI bundle in
 * dist/cli/, whose modules sit at another depth.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

let root: string | undefined;

/** The package's root directory: the nearest one upwards whose package.json is ours. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const here = fileURLToPath(import.meta.url);
  for (let dir = dirname(here); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      JSON.parse(readFileSync(manifest, 'utf8')).name === 'general-pipeline'
    ) {
      root = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`general-pipeline: no package root above ${here}`);
  }
}

/** The absolute path of `path` (relative to the package root, e.g. `python/gpipe_bridge.py`). */
export function packageFile(path: string): string {
  return join(packageRoot(), path);
}

/** `packageFile` as a file URL, for Worker and import(). */
export function packageFileUrl(path: string): URL {
  return pathToFileURL(packageFile(path));
}
