// SQLite cache entries on attempts: slots, and migration 4 of a store an older gpipe wrote.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { cacheSlot } from '../src/store/sqlite/cache-slot.ts';
import { latestSchemaVersion } from '../src/store/sqlite/migrations.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { insertOldRuns, oldStore, readOnly } from './fixtures/store/store-file.ts';
import { cacheEntry, run, runRecord, stored } from './store-records.ts';

describe('cache entries on attempts', () => {
  it('keeps keys that share a slot apart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp-store-slot-'));
    // Two keys of one 32-bit FNV-1a hash, found by search.
    const [a, b] = [cacheEntry('k32728'), cacheEntry('k261234', { attempt: 2, outputJson: '2' })];
    assert.equal(cacheSlot(a.key), cacheSlot(b.key));
    const store = await openSqliteStore(join(dir, 'state.db'));
    try {
      await store.append([run(runRecord('r1')), ...stored(a)]);
      await store.append(stored(b));
      assert.deepEqual(await store.cacheGet(a.pipeline, a.stage, a.key), a);
      assert.deepEqual(await store.cacheGet(b.pipeline, b.stage, b.key), b);
      await store.append([
        { kind: 'cache_used', runId: b.runId, stage: b.stage, key: b.key, at: 9_000 },
      ]);
      assert.equal((await store.cacheGet(a.pipeline, a.stage, a.key))?.lastUsedAt, a.lastUsedAt);
      assert.equal(await store.cacheGc(a.lastUsedAt + 1), 1);
      assert.deepEqual(await store.cacheKeys('p'), new Set([b.key]));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('migration 4: cache entries folded into their attempts', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gp-store-migrate-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const good = cacheEntry('sha256:good', { attempt: 2, createdAt: 7, lastUsedAt: 9 });
  const other = cacheEntry('sha256:other', { stage: 'train', runId: 'r2', outputJson: '[1]' });
  const lost = [
    cacheEntry('sha256:no-run', { runId: 'gone' }),
    cacheEntry('sha256:no-attempt', { attempt: 5 }),
    cacheEntry('sha256:failed', { attempt: 3 }),
    cacheEntry('sha256:other-output', { stage: 'train', outputHash: 'sha256:else' }),
  ];

  function fill(db: Database.Database): void {
    insertOldRuns(db, 'r1', 'r2');
    const insertAttempt = db.prepare(
      `INSERT INTO attempts (run_key, pipeline, stage, attempt, status, started_at, host, pid,
        executor, output_json, output_hash, cache_key) VALUES (?, 'p', ?, ?, ?, ?, 'h', 1,
        'inline', ?, ?, ?)`,
    );
    // r1's load: a failure, the entry's success, a failure the old store kept an entry of.
    insertAttempt.run(1, 'load', 1, 'failed', 1, null, null, null);
    insertAttempt.run(1, 'load', 2, 'succeeded', 2, good.outputJson, good.outputHash, good.key);
    insertAttempt.run(1, 'load', 3, 'failed', 3, good.outputJson, good.outputHash, null);
    insertAttempt.run(1, 'train', 1, 'succeeded', 4, '{}', 'sha256:out', null);
    insertAttempt.run(2, 'train', 1, 'succeeded', 5, '[1]', other.outputHash, null);
    const insertEntry = db.prepare(
      `INSERT INTO cache_entries (key, pipeline, stage, run_id, attempt, output_json, output_hash,
        parts, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const e of [good, other, ...lost]) {
      insertEntry.run(
        e.key,
        e.pipeline,
        e.stage,
        e.runId,
        e.attempt,
        e.outputJson,
        e.outputHash,
        JSON.stringify(e.parts),
        e.createdAt,
        e.lastUsedAt,
      );
    }
  }

  it('moves each entry into the attempt that made it and drops the table', async () => {
    const file = join(dir, 'v3.db');
    oldStore(file, 3, fill);
    const store = await openSqliteStore(file);
    try {
      assert.deepEqual(await store.cacheGet(good.pipeline, good.stage, good.key), good);
      assert.deepEqual(await store.cacheGet(other.pipeline, other.stage, other.key), other);
      // The old entry's key now is its attempt's too.
      assert.equal((await store.attempts('r2', 'train'))[0]!.cacheKey, other.key);
      for (const entry of lost)
        assert.equal(await store.cacheGet(entry.pipeline, entry.stage, entry.key), undefined);
      assert.deepEqual(await store.cacheKeys('p'), new Set([good.key, other.key]));
      assert.equal((await store.cacheLatest('p', 'train'))?.key, other.key);
      const attempts = await store.attempts('r1');
      assert.deepEqual(
        attempts.map((a) => [a.stage, a.attempt, a.status, a.cacheKey]),
        [
          ['load', 1, 'failed', undefined],
          ['load', 2, 'succeeded', good.key],
          ['load', 3, 'failed', undefined],
          ['train', 1, 'succeeded', undefined],
        ],
      );
      // The entries still work as entries: used, collected.
      await store.append([
        { kind: 'cache_used', runId: good.runId, stage: good.stage, key: good.key, at: 20 },
      ]);
      assert.equal((await store.cacheGet(good.pipeline, good.stage, good.key))?.lastUsedAt, 20);
      assert.equal(await store.cacheGc(other.lastUsedAt), 1);
      assert.deepEqual(await store.cacheKeys('p'), new Set([other.key]));
    } finally {
      await store.close();
    }
    readOnly(file, (db) => {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'cache%'").all();
      assert.deepEqual(tables, []);
      const version = db.prepare('SELECT max(version) AS v FROM schema_migrations').get();
      assert.deepEqual(version, { v: latestSchemaVersion });
      const slot = db
        .prepare('SELECT cache_slot FROM attempts WHERE cache_key = ? AND cache_slot IS NOT NULL')
        .pluck()
        .get(other.key);
      assert.equal(slot, cacheSlot(other.key));
      // Migration 6: the pipeline's entries, and only they, are in their own index.
      const indexed = db
        .prepare(
          `SELECT cache_key FROM attempts INDEXED BY attempts_entries
            WHERE pipeline = 'p' AND cache_slot IS NOT NULL`,
        )
        .pluck()
        .all();
      assert.deepEqual(indexed, [other.key]);
    });
  });

  it('brings a store without entries up to date', async () => {
    const file = join(dir, 'empty-v3.db');
    oldStore(file, 3, () => {});
    const store = await openSqliteStore(file);
    const entry = cacheEntry('k');
    try {
      await store.append([run(runRecord('r1')), ...stored(entry)]);
      assert.deepEqual(await store.cacheGet('p', 'load', 'k'), entry);
    } finally {
      await store.close();
    }
  });
});
