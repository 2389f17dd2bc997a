#!/usr/bin/env node
// The `gpipe` command. Runs the CLI bundle (dist/cli, made by scripts/build-cli.js at install)
// when it was built from the files as they are now; otherwise the TypeScript sources through
// tsx, which costs a few hundred milliseconds per call. GP_FROM_SOURCE=1 forces the sources.
import { freshBundle } from './fresh-bundle.js';

const fromSource = process.env.GP_FROM_SOURCE;
if (
  (fromSource === undefined || fromSource === '0') &&
  freshBundle(new URL('../', import.meta.url))
) {
  await import('../dist/cli/gpipe.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/start.ts');
}
