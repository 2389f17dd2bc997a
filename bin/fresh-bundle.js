// Whether a bundle under `root` (made by scripts/build-cli.js) was built from the files as they
// are now: each input its inputs file lists has the same size and modification time.
import { readFileSync, statSync } from 'node:fs';

/**
 * `root`: the package folder, as a file URL ending in `/`; `inputs`: the bundle's inputs file,
 * relative to it (the CLI's by default).
 */
export function freshBundle(root, inputs = 'dist/cli/inputs.json') {
  let listed;
  try {
    listed = JSON.parse(readFileSync(new URL(inputs, root), 'utf8'));
  } catch {
    return false;
  }
  for (const [path, mtimeMs, size] of listed.files) {
    try {
      const stats = statSync(new URL(path, root));
      if (stats.mtimeMs !== mtimeMs || stats.size !== size) return false;
    } catch {
      return false;
    }
  }
  return true;
}
