// SQLite events stored a page at a time: migration 7 of a store an older gpipe wrote, and
// pages read back whole, from a point, and by type.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StoreWrite } from '../src/store/run-store.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { insertOldRuns, oldStore, readOnly } from './fixtures/store/store-file.ts';
import { event, run, runRecord } from './store-records.ts';

describe('events stored a page at a time', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gp-store-events-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('migration 7 keeps every event under its number, and numbers new ones after all', async () => {
    const file = join(dir, 'v6.db');
    oldStore(file, 6, (db) => {
      insertOldRuns(db, 'r1', 'r2');
      const insert = db.prepare(
        'INSERT INTO events (run_key, ts, type, stage, attempt, data) VALUES (?, ?, ?, ?, ?, ?)',
      );
      insert.run(1, 1, 'run_started', null, null, '{"a":[1,"ü"]}');
      insert.run(2, 2, 'stage_started', 'load', 1, null);
      insert.run(1, 3, 'stage_started', 'load', 1, null);
      insert.run(1, 4, 'stage_mapped', 'map', null, '{"items":2}');
      insert.run(1, 5, 'stage_finished', 'load', 1, '{"status":"succeeded"}');
      // The newest row went: its number must not come back.
      db.prepare('DELETE FROM events WHERE seq = 5').run();
    });
    const store = await openSqliteStore(file);
    try {
      assert.deepEqual(await store.events('r1'), [
        { seq: 1, runId: 'r1', ts: 1, type: 'run_started', data: { a: [1, 'ü'] } },
        { seq: 3, runId: 'r1', ts: 3, type: 'stage_started', stage: 'load', attempt: 1 },
        { seq: 4, runId: 'r1', ts: 4, type: 'stage_mapped', stage: 'map', data: { items: 2 } },
      ]);
      assert.deepEqual(
        (await store.events('r2')).map((e) => [e.seq, e.stage]),
        [[2, 'load']],
      );
      await store.append([event('r1', 6, { type: 'stage_finished', stage: 'load', attempt: 1 })]);
      const events = await store.events('r1', 3);
      assert.deepEqual(
        events.map((e) => [e.seq, e.type]),
        [
          [4, 'stage_mapped'],
          [6, 'stage_finished'],
        ],
      );
      assert.deepEqual(
        (await store.lastStageEvents('r1')).map((e) => [e.seq, e.stage, e.type]),
        [[6, 'load', 'stage_finished']],
      );
      assert.deepEqual((await store.eventsOfType('r1', 'stage_mapped')).length, 1);
    } finally {
      await store.close();
    }
    const tables = readOnly(file, (db) =>
      db.prepare("SELECT name FROM sqlite_master WHERE name = 'events'").all(),
    );
    assert.deepEqual(tables, []);
  });

  it('numbers events of two writers on one file apart, each in its order', async () => {
    const file = join(dir, 'two-writers.db');
    const [a, b] = [await openSqliteStore(file), await openSqliteStore(file)];
    try {
      await a.append([run(runRecord('ra'))]);
      await b.append([run(runRecord('rb'))]);
      // Turn by turn, as two processes' commits come: each writer's next batch follows the
      // other's, so neither may number from what it saw last.
      for (let batch = 0; batch < 20; batch++) {
        const events = (runId: string) =>
          Array.from({ length: 25 }, (_, n) => event(runId, batch * 100 + n));
        await a.append(events('ra'));
        await b.append(events('rb'));
      }
      const [ra, rb] = [await a.events('ra'), await b.events('rb')];
      assert.deepEqual(
        ra.map((e) => e.ts),
        Array.from({ length: 500 }, (_, i) => Math.floor(i / 25) * 100 + (i % 25)),
      );
      assert.equal(rb.length, 500);
      const seqs = new Set([...ra, ...rb].map((e) => e.seq));
      assert.equal(seqs.size, 1000, 'every event its own number');
      assert.ok(ra.every((e, i) => i === 0 || e.seq > ra[i - 1]!.seq));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('stores a batch of one run as one page, and reads it from any point in it', async () => {
    const file = join(dir, 'pages.db');
    const store = await openSqliteStore(file);
    try {
      const writes: StoreWrite[] = [run(runRecord('r1'))];
      for (let i = 0; i < 500; i++) {
        writes.push(event('r1', i, { stage: `s${i % 7}`, attempt: 1 + Math.floor(i / 7) }));
      }
      await store.append(writes);
      // Another run's events in between: pages of each run, still numbered in append order.
      await store.append([run(runRecord('r2')), event('r2', 1000), event('r1', 1001)]);
      const all = await store.events('r1');
      assert.equal(all.length, 501);
      assert.ok(all.every((e, i) => i === 0 || e.seq === all[i - 1]!.seq + 1 || i === 500));
      assert.deepEqual(await store.events('r1', all[250]!.seq), all.slice(251));
      const [r2] = await store.events('r2');
      assert.ok(r2!.seq > all[499]!.seq && r2!.seq < all[500]!.seq);
      const started = await store.startedAttempts('r1');
      assert.equal(started.get('s0'), 72);
      assert.equal(started.get('s6'), 71);
      const last = await store.lastStageEvents('r1');
      assert.deepEqual(
        last.map((e) => e.stage),
        ['s3', 's4', 's5', 's6', 's0', 's1', 's2'],
      );
    } finally {
      await store.close();
    }
    const pages = readOnly(file, (db) =>
      db.prepare('SELECT count(*) FROM event_pages').pluck().get(),
    );
    assert.equal(pages, 3);
  });
});
