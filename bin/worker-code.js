// Loads a worker thread's code for its entry under src/ (a run from the sources): the worker's
// own bundle (dist/workers/NAME.js, made by scripts/build-cli.js) when it was built from the
// files as they are now, which starts in milliseconds; else its TypeScript source through tsx
// (a worker does not inherit a loader registered through tsx's API), which costs seconds on a
// loaded machine. GP_FROM_SOURCE=1 forces the sources, as it does for bin/gpipe.js.
import { freshBundle } from './fresh-bundle.js';

const root = new URL('../', import.meta.url);

/** `name`: the bundle's name; `source`: the TypeScript entry, as a URL. */
export async function loadWorkerCode(name, source) {
  const fromSource = process.env.GP_FROM_SOURCE;
  if (
    (fromSource === undefined || fromSource === '0') &&
    freshBundle(root, `dist/workers/${name}.inputs.json`)
  ) {
    await import(new URL(`dist/workers/${name}.js`, root).href);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
}
