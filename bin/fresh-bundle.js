// Whether the CLI bundle under `root` (dist/cli, made by scripts/build-cli.js) was built from
// the files as they are now: each input it lists has the same size and modification time.
import { readFileSync, statSync } from 'node:fs';

/** `root`: the package folder, as a file URL ending in `/`. */
export function freshBundle(root) {
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(new URL('dist/cli/inputs.json', root), 'utf8'));
  } catch {
    return false;
  }
  for (const [path, mtimeMs, size] of inputs.files) {
    try {
      const stats = statSync(new URL(path, root));
      if (stats.mtimeMs !== mtimeMs || stats.size !== size) return false;
    } catch {
      return false;
    }
  }
  return true;
}
