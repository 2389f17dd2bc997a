/**
 * The SQLite binding by Node version (src/store/sqlite/sqlite-driver.ts). better-sqlite3 12,
 * built against Node 24's headers, aborts the process when the garbage collector frees one of
 * its statements; these tests make a process do exactly that, on whatever Node runs them, and
 * expect it to end cleanly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { sqlitePackage } from '../src/store/sqlite/sqlite-driver.ts';

const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);
const root = join(import.meta.dirname, '..');

test('the binding: better-sqlite3 13 (Node-API, prebuilt) on Node 22 and later, 12 on Node 20', () => {
  assert.equal(sqlitePackage, nodeMajor >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3');
  const { version } = require(`${sqlitePackage}/package.json`) as { version: string };
  assert.equal(version.split('.')[0], nodeMajor >= 22 ? '13' : '12');
});

/** Runs `code` (a module importing the sources from `ROOT/`) in a fresh node with gc(). */
function runNode(code: string, dir: string) {
  const file = join(dir, 'collect.mts');
  writeFileSync(file, code.replaceAll('ROOT/', pathToFileURL(`${root}/`).href));
  return spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', file, dir], {
    cwd: root,
    encoding: 'utf8',
  });
}

test('statements the garbage collector frees, on the main thread and in the writer thread, end no process', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-sqlite-driver-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const code = `
    import { openSqlite } from 'ROOT/src/store/sqlite/sqlite-driver.ts';
    import { openSqliteStore } from 'ROOT/src/store/sqlite/sqlite-store.ts';
    import { run, runRecord } from 'ROOT/test/store-records.ts';
    const dir = process.argv[2]!;
    const join = (...parts: string[]) => parts.join('/');
    // The writer thread prepares its statements, writes, and ends when the store closes.
    for (let i = 0; i < 3; i++) {
      const store = await openSqliteStore(join(dir, 'state.db'));
      await store.append([run(runRecord('run-' + i))]);
      if ((await store.getRun('run-' + i)) === undefined) throw new Error('run not stored');
      await store.close();
    }
    // Statements that become garbage at once, on a database left open and on a closed one.
    const open = openSqlite(join(dir, 'state.db'));
    for (let i = 0; i < 500; i++) open.prepare('SELECT ' + i).get();
    const closed = openSqlite(join(dir, 'other.db'));
    for (let i = 0; i < 500; i++) closed.prepare('SELECT ' + i).get();
    closed.close();
    // Scavenges, as a run's allocations make them, and full collections.
    for (let round = 0; round < 3; round++) {
      let young: object[] = [];
      for (let i = 0; i < 500_000; i++) young.push({ i });
      young = [];
      (globalThis as unknown as { gc: () => void }).gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    console.log('collected');
  `;
  const result = runNode(code, dir);
  assert.equal(result.signal, null, `ended by ${result.signal}: ${result.stderr.slice(0, 400)}`);
  assert.equal(result.status, 0, result.stderr.slice(0, 400));
  assert.equal(result.stdout.trim(), 'collected');
});
