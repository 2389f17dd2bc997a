/**
 * Finds where an interpreter would import a dotted module from — an installed package — without
 * running any of the package's code: importlib's PathFinder walks the import path the way
 * `import` does, but finding a spec executes nothing, not even a parent's `__init__.py`.
 */
import { execFileSync } from 'node:child_process';

const findSpec = `
import sys
from importlib.machinery import PathFinder
name = sys.argv[1]
sys.path[:0] = sys.argv[2:]
parts, path, spec = name.split("."), None, None
for i in range(len(parts)):
    spec = PathFinder.find_spec(".".join(parts[: i + 1]), path)
    if spec is None:
        break
    path = spec.submodule_search_locations
    if path is None and i < len(parts) - 1:
        spec = None
        break
sys.stdout.write(spec.origin if spec is not None and spec.origin else "")
`;

/**
 * The file `interpreter` would load `moduleName` from, with `searchPath` first on its import
 * path; `{}` when it has none (a namespace package has no file either), `{error}` when the
 * interpreter could not be asked.
 */
export function installedModuleFile(
  moduleName: string,
  interpreter: string,
  searchPath: readonly string[],
): string | { error?: string } {
  let origin: string;
  try {
    origin = execFileSync(interpreter, ['-c', findSpec, moduleName, ...searchPath], {
      encoding: 'utf8',
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    return {
      error: code === 'ENOENT' ? 'no such interpreter (ENOENT)' : (message.split('\n')[0] ?? ''),
    };
  }
  return origin.startsWith('/') ? origin : {};
}
