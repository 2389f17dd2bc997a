#!/usr/bin/env node
// Bundles the CLI with esbuild (installed with tsx) into dist/cli/, so that `gpipe` starts
// without compiling TypeScript through tsx on every call: bin/gpipe.js runs the bundle when it
// was built from the files as they are now (dist/cli/inputs.json), else the sources. Runs at
// `npm install` and before `npm test`; never fails them: without esbuild, gpipe runs from the
// sources. One line of output.
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'cli');

/** The bundle's entries: the CLI and the worker threads it starts, by the names it starts them. */
const entryPoints = {
  gpipe: 'src/cli/start.ts',
  'writer-worker': 'src/store/sqlite/writer-thread.ts',
  'run-files-entry': 'src/durable/run-files-worker.ts',
};

async function build() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return 'skipped: esbuild is not installed; gpipe runs from its TypeScript sources';
  }
  const staging = `${outDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints,
    outdir: staging,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    // A native addon, and tsx, which the CLI loads only for a user's module.
    external: ['better-sqlite3', 'tsx', 'tsx/*', 'esbuild'],
    // CommonJS dependencies (commander) require Node's modules at run time.
    banner: {
      js: "import { createRequire as __gpCreateRequire } from 'node:module'; const require = __gpCreateRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'silent',
  });
  // What the bundle was built from, as it was: a change to any of it makes the bundle stale.
  const files = Object.keys(result.metafile.inputs).map((input) => {
    const stats = statSync(join(root, input));
    return [relative(root, join(root, input)), stats.mtimeMs, stats.size];
  });
  writeFileSync(join(staging, 'inputs.json'), `${JSON.stringify({ files })}\n`);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(dirname(outDir), { recursive: true });
  renameSync(staging, outDir);
  return `built ${relative(root, outDir)} from ${files.length} files`;
}

let message;
try {
  message = await build();
} catch (error) {
  message = `skipped: ${error.message.split('\n')[0]}; gpipe runs from its TypeScript sources`;
}
console.log(`gpipe CLI bundle: ${message}`);
