// The SQLite run store: the RunStore contract, plus what only a file on disk can show —
// reopening, migrations, files it must refuse, and a writer killed mid-stream.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../src/errors.ts';
import type { RunStore } from '../src/store/run-store.ts';
import { latestSchemaVersion, migrations } from '../src/store/sqlite/migrations.ts';
import { openSqlite } from '../src/store/sqlite/sqlite-driver.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { eventsPerBatch, runId } from './fixtures/store/crash-batches.ts';
import { readOnly } from './fixtures/store/store-file.ts';
import { cacheEntry, entryAttempt, runRecord, runStoreContract } from './store-contract.ts';

const fixtures = join(import.meta.dirname, 'fixtures', 'store');

runStoreContract('SqliteRunStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-store-'));
  // A folder that does not exist yet: opening creates it.
  const store = await openSqliteStore(join(dir, 'nested', 'runs.db'));
  return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('SqliteRunStore on disk', () => {
  let dir: string;
  let counter = 0;
  const newFile = () => join(dir, `store-${++counter}.db`);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gp-store-disk-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function withStore<T>(file: string, use: (store: RunStore) => Promise<T>): Promise<T> {
    const store = await openSqliteStore(file);
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  }

  it('keeps everything across a reopen', async () => {
    const file = newFile();
    const snapshot = (store: RunStore) =>
      Promise.all([
        store.getRun('r1'),
        store.events('r1'),
        store.attempts('r1'),
        store.latestSuccess('p', 'load'),
        store.cacheGet('p', 'load', 'k1'),
        store.cacheKeys('p'),
      ]);
    const written = await withStore(file, async (store) => {
      await store.append([
        { kind: 'run', run: runRecord('r1', { options: { from: 'load' } }) },
        { kind: 'event', event: { runId: 'r1', ts: 1, type: 'run_started', data: { a: [1] } } },
        { kind: 'attempt', attempt: entryAttempt(cacheEntry('k1')) },
        { kind: 'cache_put', entry: cacheEntry('k1') },
      ]);
      return snapshot(store);
    });
    const reread = await withStore(file, snapshot);
    assert.deepEqual(reread, written);
    assert.equal(reread[1].length, 1);
    // New events go on numbering after the old ones.
    await withStore(file, async (store) => {
      await store.append([{ kind: 'event', event: { runId: 'r1', ts: 2, type: 'run_finished' } }]);
      const events = await store.events('r1');
      assert.ok(events[1]!.seq > events[0]!.seq);
    });
  });

  it('applies each migration once and records its version', async () => {
    const file = newFile();
    await withStore(file, async () => {});
    const applied = () =>
      readOnly(file, (db) =>
        db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all(),
      );
    const first = applied() as { version: number; applied_at: number }[];
    assert.deepEqual(
      first.map((row) => row.version),
      migrations.map((m) => m.version),
    );
    assert.equal(first.at(-1)!.version, latestSchemaVersion);
    await withStore(file, async () => {});
    assert.deepEqual(applied(), first);
  });

  it('refuses a database written by a newer schema, in one line naming both versions', async () => {
    const file = newFile();
    await withStore(file, async () => {});
    const newer = latestSchemaVersion + 1;
    const db = openSqlite(file);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(newer);
    db.close();
    await assert.rejects(openSqliteStore(file), (error: Error) => {
      assert.ok(error instanceof InputError);
      assert.ok(error.message.startsWith(`${file}: `), error.message);
      assert.match(error.message, new RegExp(`version ${newer}\\b.*\\b${latestSchemaVersion}\\b`));
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  it("refuses another program's SQLite database and leaves it as it was", async () => {
    const file = newFile();
    const db = openSqlite(file);
    db.exec(
      "CREATE TABLE runs (id INTEGER PRIMARY KEY, what TEXT); INSERT INTO runs VALUES (1, 'theirs')",
    );
    db.close();
    await assert.rejects(openSqliteStore(file), (error: Error) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /: not a gpipe run store \(it holds tables such as 'runs'/);
      return true;
    });
    const after = openSqlite(file, { readonly: true });
    const tables = after
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .pluck()
      .all();
    after.close();
    assert.deepEqual(tables, ['runs']);
  });

  it('refuses a file that is not SQLite, naming it', async () => {
    const file = newFile();
    writeFileSync(file, 'name,value\nnot,a database at all\n'.repeat(20));
    await assert.rejects(openSqliteStore(file), (error: Error) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.message, `${file}: not a SQLite database`);
      return true;
    });
  });

  it('refuses a corrupt database, naming it', async () => {
    const file = newFile();
    await withStore(file, async (store) => store.append([{ kind: 'run', run: runRecord('r1') }]));
    // Garbage over the schema table (page 1, past the file header) and the pages after it.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(3 * 4096, 0xa5), 0, 3 * 4096, 100);
    closeSync(fd);
    await assert.rejects(openSqliteStore(file), (error: Error) => {
      assert.ok(error instanceof InputError);
      assert.ok(error.message.startsWith(`${file}: `), error.message);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  it('keeps every acknowledged batch whole when the writer is killed', async () => {
    const file = newFile();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(fixtures, 'append-loop.ts'), file],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let acked = 0;
    let seenWhileWriting = 0;
    for await (const line of createInterface({ input: child.stdout! })) {
      acked = Number(line.replace('acked ', ''));
      if (acked === 10) {
        // Another connection reads while the child goes on writing.
        seenWhileWriting = await withStore(
          file,
          async (store) => (await store.events(runId)).length,
        );
      }
      if (acked === 40) break;
    }
    child.kill('SIGKILL');
    await exited(child);
    assert.ok(seenWhileWriting >= 10 * eventsPerBatch);

    const found = await withStore(file, async (store) => ({
      events: await store.events(runId),
      attempts: await store.attempts(runId),
      cacheKeys: await store.cacheKeys('crash'),
    }));
    const eventsOf = new Map<number, number>();
    for (const event of found.events) {
      const batch = event.data!.batch as number;
      eventsOf.set(batch, (eventsOf.get(batch) ?? 0) + 1);
    }
    const stored = [...eventsOf.keys()].sort((a, b) => a - b);
    // Batches commit in order: what is there is batches 1..N, N at least the last acked.
    assert.ok(stored.length >= acked, `${stored.length} batches stored, ${acked} acked`);
    assert.deepEqual(
      stored,
      Array.from({ length: stored.length }, (_, i) => i + 1),
    );
    for (const batch of stored) {
      assert.equal(eventsOf.get(batch), eventsPerBatch, `events of batch ${batch}`);
      assert.ok(found.cacheKeys.has(`k${batch}`), `cache entry of batch ${batch}`);
    }
    assert.equal(found.attempts.length, stored.length);
    assert.equal(found.cacheKeys.size, stored.length);
  });

  it('works in a process that registers tsx through its API, as bin/gpipe.js does', async () => {
    const file = newFile();
    const child = spawn(process.execPath, [join(fixtures, 'open-without-loader.js'), file, '5'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    for await (const line of createInterface({ input: child.stdout! })) lines.push(line);
    assert.equal(await exited(child), 0);
    assert.deepEqual(lines, ['acked 1', 'acked 2', 'acked 3', 'acked 4', 'acked 5', 'closed']);
    const events = await withStore(file, (store) => store.events(runId));
    assert.equal(events.length, 5 * eventsPerBatch);
  });
});

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
