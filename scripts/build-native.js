#!/usr/bin/env node
// Builds native/build/spawn-helper, the process starter behind NativeSpawner. Runs at
// `npm install`; never fails it: without a C compiler (or off Linux) gpipe falls back to Node's
// child_process and this prints why. One line of output. `--force` rebuilds an up-to-date binary.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = ['spawn-helper.c', 'paths.c'].map((file) => join(root, 'native', file));
const header = join(root, 'native', 'paths.h');
const target = join(root, 'native', 'build', 'spawn-helper');

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Starts the binary and reads its hello record: a build that cannot run is no build. */
function works(binary) {
  const probe = spawnSync(binary, [], { input: '', timeout: 5000 });
  return probe.status === 0 && probe.stdout.length >= 48 && probe.stdout.readUInt32LE(0) === 0;
}

function build() {
  if (process.platform !== 'linux')
    return 'skipped: the spawn helper is Linux-only; using Node spawn';
  const sourceTimes = [...sources, header].map(mtime);
  if (sourceTimes.includes(undefined))
    return 'skipped: native/ sources are missing; using Node spawn';
  const sourceTime = Math.max(...sourceTimes);
  const targetTime = mtime(target);
  if (
    !process.argv.includes('--force') &&
    targetTime !== undefined &&
    targetTime >= sourceTime &&
    works(target)
  ) {
    return `spawn helper up to date (${target})`;
  }
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.tmp`;
  const compilers = [...new Set([process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean))];
  const failures = [];
  for (const compiler of compilers) {
    const result = spawnSync(compiler, ['-O2', '-std=gnu11', '-o', partial, ...sources], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (result.error) {
      failures.push(`${compiler}: ${result.error.code ?? result.error.message}`);
      continue;
    }
    if (result.status !== 0) {
      const firstError =
        result.stderr.split('\n').find((line) => line.includes('error')) ?? result.stderr.trim();
      failures.push(`${compiler}: ${firstError.slice(0, 200)}`);
      rmSync(partial, { force: true });
      continue;
    }
    if (!works(partial)) {
      failures.push(`${compiler}: the built helper does not start`);
      rmSync(partial, { force: true });
      continue;
    }
    renameSync(partial, target);
    return `built the spawn helper with ${compiler} (${target})`;
  }
  // A stale helper may not speak the current protocol: better none than that one.
  if (targetTime !== undefined && targetTime < sourceTime) rmSync(target, { force: true });
  return `not built (${failures.join('; ')}); using Node spawn`;
}

let line;
try {
  line = build();
} catch (error) {
  line = `not built (${error.message}); using Node spawn`;
}
console.log(`gpipe native: ${line}`);
