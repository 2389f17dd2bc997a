import { pathToFileURL } from 'node:url';

/**
 * Imports a user's JavaScript or TypeScript module. TypeScript goes through tsx's `tsImport`,
 * which loads a `.ts` file whatever the `type` of the package.json above it: a plain `import`
 * of a `.ts` file in a CommonJS folder fails on the require(esm) cycle back into this package.
 * A CommonJS module's exports arrive as its namespace's `default` (and, on Node 23+, as its
 * `module.exports`); they are returned as is.
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  await ensureTypeScriptLoader();
  if (!/\.[cm]?ts$/.test(file)) return import(pathToFileURL(file).href);
  const { tsImport } = await import('tsx/esm/api');
  const loaded = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<
    string,
    unknown
  >;
  const inner = loaded.default;
  // Node 23+ also names a CommonJS module's exports 'module.exports' in its namespace.
  const isCommonJs =
    typeof inner === 'object' &&
    inner !== null &&
    Object.keys(loaded).every((name) => name === 'default' || name === 'module.exports') &&
    '__esModule' in inner;
  return isCommonJs ? (inner as Record<string, unknown>) : loaded;
}

let loaderRegistered = false;

/**
 * A user's module, JavaScript too, may import this package, whose entry is TypeScript. Run
 * from the sources (this file is `.ts`), a TypeScript loader is registered already; the CLI
 * bundle registers tsx only here, when a user's module is about to load, so that commands
 * which load none never pay for it.
 */
async function ensureTypeScriptLoader(): Promise<void> {
  if (loaderRegistered || import.meta.url.endsWith('.ts')) return;
  const { register } = await import('tsx/esm/api');
  register();
  loaderRegistered = true;
}
