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
const workersDir = join(root, 'dist', 'workers');

/** The bundle's entries: the CLI and the worker threads it starts, by the names it starts them. */
const entryPoints = {
  gpipe: 'src/cli/start.ts',
  'writer-worker': 'src/store/sqlite/writer-thread.ts',
  'run-files-entry': 'src/durable/run-files-worker.ts',
};

/** Options both builds share. */
const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // A native addon, and tsx, which the CLI loads only for a user's module.
  external: ['better-sqlite3', 'better-sqlite3-napi', 'tsx', 'tsx/*', 'esbuild'],
  // CommonJS dependencies (commander) require Node's modules at run time.
  banner: {
    js: "import { createRequire as __gpCreateRequire } from 'node:module'; const require = __gpCreateRequire(import.meta.url);",
  },
  metafile: true,
  logLevel: 'silent',
};

/** The files `inputs` (an esbuild metafile's) names, as they are now: [path, mtime, size]. */
function inputsOf(inputs) {
  return Object.keys(inputs).map((input) => {
    const stats = statSync(join(root, input));
    return [relative(root, join(root, input)), stats.mtimeMs, stats.size];
  });
}

/** Moves a built folder into place. */
function install(staging, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(staging, dir);
}

/**
 * Each worker thread on its own (dist/workers/NAME.js), with its own inputs: the worker entries
 * under src/ load it when run from the sources (bin/worker-code.js), so that a run from the
 * sources does not load tsx in its writer thread, and an edit elsewhere keeps it fresh.
 */
async function buildWorkers(esbuild) {
  const staging = `${workersDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  for (const name of ['writer-worker', 'run-files-entry']) {
    const result = await esbuild.build({
      ...common,
      absWorkingDir: root,
      entryPoints: { [name]: entryPoints[name] },
      outdir: staging,
    });
    const files = inputsOf(result.metafile.inputs);
    writeFileSync(join(staging, `${name}.inputs.json`), `${JSON.stringify({ files })}\n`);
  }
  install(staging, workersDir);
}

async function build() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return 'skipped: esbuild is not installed; gpipe runs from its TypeScript sources';
  }
  await buildWorkers(esbuild);
  const staging = `${outDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const result = await esbuild.build({
    ...common,
    absWorkingDir: root,
    entryPoints,
    outdir: staging,
    splitting: true,
  });
  // What the bundle was built from, as it was: a change to any of it makes the bundle stale.
  const files = inputsOf(result.metafile.inputs);
  writeFileSync(join(staging, 'inputs.json'), `${JSON.stringify({ files })}\n`);
  install(staging, outDir);
  return `built ${relative(root, outDir)} from ${files.length} files`;
}

let message;
try {
  message = await build();
} catch (error) {
  message = `skipped: ${error.message.split('\n')[0]}; gpipe runs from its TypeScript sources`;
}
console.log(`gpipe CLI bundle: ${message}`);
