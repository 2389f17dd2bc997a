/**
 * The RunStore contract, cache part: an entry is a successful attempt's output under its key,
 * so every case stores the attempts its entries belong to. Run by runStoreContract.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { CacheEntry, RunStore, StoreWrite } from '../src/store/run-store.ts';
import {
  attempt,
  attemptRecord,
  cacheEntry,
  entryAttempt,
  put,
  run,
  runRecord,
  stored,
} from './store-records.ts';

/** Runs r1 (pipeline p), rq (pipeline q) and rr (pipeline r). */
const runs: StoreWrite[] = [
  run(runRecord('r1')),
  run(runRecord('rq', { pipeline: 'q' })),
  run(runRecord('rr', { pipeline: 'r' })),
];

/** Entries on attempts 1, 2, 3 … of r1's `load`, in order. */
const entries = (keys: string[], more: (i: number) => Partial<CacheEntry> = () => ({})) =>
  keys.map((key, i) => cacheEntry(key, { attempt: i + 1, ...more(i) }));

const rejectsAsInvalid = (append: Promise<void>) =>
  assert.rejects(append, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STORE_INVALID_WRITE', error.message);
    return true;
  });

export function cacheContract(current: () => RunStore): void {
  it('puts, gets and replaces entries exactly', async () => {
    const store = current();
    const entry = cacheEntry('k1', { parts: { stage: 'load', version: '2', upstream: {} } });
    await store.append([...runs, run(runRecord('r9')), ...stored(entry)]);
    assert.deepEqual(await store.cacheGet('p', 'load', 'k1'), entry);
    // Another attempt puts the same key: the entry is now that one, r1's attempt is none.
    const replaced = cacheEntry('k1', { runId: 'r9', outputJson: '[]', createdAt: 4_000 });
    await store.append(stored(replaced));
    assert.deepEqual(await store.cacheGet('p', 'load', 'k1'), replaced);
    assert.equal(await store.cacheClear(), 1);
    assert.equal(await store.cacheGet('p', 'load', 'missing'), undefined);
  });

  it('puts an entry on an attempt stored before it, in this batch or an earlier one', async () => {
    const store = current();
    const [early, same] = entries(['early', 'same']);
    await store.append([...runs, attempt(entryAttempt(early!))]);
    await store.append([put(early!)]);
    await store.append([attempt(entryAttempt(same!)), put(same!)]);
    assert.deepEqual(await store.cacheGet('p', 'load', 'early'), early);
    assert.deepEqual(await store.cacheGet('p', 'load', 'same'), same);
    // A second put on the same attempt replaces its entry.
    const again = { ...early!, parts: { stage: 'load', upstream: {} }, createdAt: 5 };
    await store.append([put(again)]);
    assert.deepEqual(await store.cacheGet('p', 'load', 'early'), again);
    assert.deepEqual(await store.cacheKeys('p'), new Set(['early', 'same']));
  });

  it('refuses an entry that is not its attempt, and the whole batch with it', async () => {
    const store = current();
    await store.append(runs);
    const entry = cacheEntry('k');
    const refused: StoreWrite[][] = [
      // No attempt; or one that comes later than the very next write.
      [put(entry)],
      [put(entry), run(runRecord('r2')), attempt(entryAttempt(entry))],
      // An attempt that is not this entry's: another key, output, status or pipeline.
      [put(entry), attempt(entryAttempt(entry, { cacheKey: 'other' }))],
      [put(entry), attempt(entryAttempt(entry, { outputHash: 'sha256:other' }))],
      [put(entry), attempt(entryAttempt(entry, { status: 'failed' }))],
      [put(entry), attempt(entryAttempt(entry, { outputJson: undefined }))],
      [attempt(entryAttempt(entry, { status: 'failed' })), put(entry)],
      stored({ ...entry, pipeline: 'q' }),
      [attempt(entryAttempt(entry)), put({ ...entry, pipeline: 'q' })],
    ];
    for (const writes of refused) await rejectsAsInvalid(store.append(writes));
    assert.deepEqual(await store.attempts('r1'), []);
    assert.equal(await store.getRun('r2'), undefined);
    assert.equal(await store.cacheGet('p', 'load', 'k'), undefined);
  });

  it('drops the entry of an attempt written again, and keeps attempts when entries go', async () => {
    const store = current();
    const [kept, rewritten] = entries(['kept', 'rewritten']);
    await store.append([...runs, ...stored(kept!), ...stored(rewritten!)]);
    await store.append([attempt(entryAttempt(rewritten!))]);
    assert.equal(await store.cacheGet('p', 'load', 'rewritten'), undefined);
    assert.deepEqual(await store.cacheKeys('p'), new Set(['kept']));
    const before = await store.attempts('r1');
    assert.equal(await store.cacheClear(), 1);
    assert.deepEqual(await store.attempts('r1'), before);
    assert.equal(before[0]!.cacheKey, 'kept');
  });

  it('keeps one entry per key when a batch puts a key twice', async () => {
    const store = current();
    const [first, second] = entries(['twice', 'twice']);
    await store.append([...runs, ...stored(first!), ...stored(second!)]);
    assert.equal((await store.cacheGet('p', 'load', 'twice'))?.attempt, 2);
    assert.equal(await store.cacheClear(), 1);
  });

  it('finds the newest entry of a stage and the keys of a pipeline', async () => {
    const store = current();
    await store.append([
      ...runs,
      ...entries(['old', 'new', 'tie'], (i) => ({ createdAt: Math.min(i + 1, 2) })).flatMap(stored),
      ...stored(cacheEntry('train', { stage: 'train', createdAt: 9 })),
      ...stored(cacheEntry('elsewhere', { runId: 'rq', pipeline: 'q', createdAt: 9 })),
      // A success that is no entry, newer than them all.
      attempt(attemptRecord('r1', 'load', 9, { startedAt: 9_000, cacheKey: 'hit' })),
    ]);
    assert.equal((await store.cacheLatest('p', 'load'))?.key, 'tie');
    assert.equal(await store.cacheLatest('p', 'none'), undefined);
    assert.deepEqual(await store.cacheKeys('p'), new Set(['old', 'new', 'tie', 'train']));
    assert.deepEqual(await store.cacheKeys('none'), new Set());
  });

  it('records use, and collects entries last used before a time', async () => {
    const store = current();
    await store.append([
      ...runs,
      ...entries(['a', 'b', 'c'], (i) => ({ lastUsedAt: i === 2 ? 30 : 10 })).flatMap(stored),
    ]);
    await store.append([
      { kind: 'cache_used', runId: 'r1', stage: 'load', key: 'b', at: 25 },
      { kind: 'cache_used', runId: 'r1', stage: 'load', key: 'missing', at: 25 },
      // The key of another stage: that stage has no entry of it.
      { kind: 'cache_used', runId: 'r1', stage: 'train', key: 'a', at: 25 },
    ]);
    assert.equal((await store.cacheGet('p', 'load', 'b'))?.lastUsedAt, 25);
    assert.equal(await store.cacheGc(25), 1);
    assert.deepEqual(await store.cacheKeys('p'), new Set(['b', 'c']));
    assert.equal(await store.cacheGc(0), 0);
    assert.equal((await store.attempts('r1')).length, 3);
  });

  it('clears one pipeline or all', async () => {
    const store = current();
    await store.append([
      ...runs,
      ...entries(['p1', 'p2']).flatMap(stored),
      ...stored(cacheEntry('q1', { runId: 'rq', pipeline: 'q' })),
      ...stored(cacheEntry('r1', { runId: 'rr', pipeline: 'r' })),
    ]);
    assert.equal(await store.cacheClear('p'), 2);
    assert.deepEqual(await store.cacheKeys('p'), new Set());
    assert.deepEqual(await store.cacheKeys('q'), new Set(['q1']));
    assert.equal(await store.cacheClear('none'), 0);
    assert.equal(await store.cacheClear(), 2);
    assert.equal(await store.cacheGet('r', 'load', 'r1'), undefined);
  });

  it('follows its run into another pipeline', async () => {
    const store = current();
    await store.append([...runs, ...stored(cacheEntry('k'))]);
    await store.append([run(runRecord('r1', { pipeline: 'renamed' }))]);
    assert.equal((await store.cacheGet('renamed', 'load', 'k'))?.pipeline, 'renamed');
    assert.equal(await store.cacheGet('p', 'load', 'k'), undefined);
    assert.deepEqual(await store.cacheKeys('renamed'), new Set(['k']));
    assert.deepEqual(await store.cacheKeys('p'), new Set());
  });

  it('keeps clears in order with the appends around them', async () => {
    const store = current();
    await store.append(runs);
    const [k1, k2] = entries(['k1', 'k2']);
    const before = store.append(stored(k1!));
    const cleared = store.cacheClear();
    const after = store.append(stored(k2!));
    await Promise.all([before, after]);
    assert.equal(await cleared, 1);
    assert.deepEqual(await store.cacheKeys('p'), new Set(['k2']));
  });

  it('keeps keys apart by pipeline and stage', async () => {
    const store = current();
    const inP = cacheEntry('same');
    const inQ = cacheEntry('same', { runId: 'rq', pipeline: 'q' });
    const inTrain = cacheEntry('same', { stage: 'train' });
    await store.append([...runs, ...stored(inP), ...stored(inQ), ...stored(inTrain)]);
    // Three entries: none took the key from another.
    assert.deepEqual(await store.cacheGet('p', 'load', 'same'), inP);
    assert.deepEqual(await store.cacheGet('q', 'load', 'same'), inQ);
    assert.deepEqual(await store.cacheGet('p', 'train', 'same'), inTrain);
    assert.equal(await store.cacheGet('r', 'load', 'same'), undefined);
    assert.equal(await store.cacheClear(), 3);
  });

  it("finds an instance's entry from any instance of its mapped stage", async () => {
    const store = current();
    const item = cacheEntry('item', { stage: 'load[2]' });
    await store.append([...runs, ...stored(item)]);
    // The item moved: it is load[3] now, or a nested place; the mapped stage finds it too.
    assert.deepEqual(await store.cacheGet('p', 'load[3]', 'item'), item);
    assert.deepEqual(await store.cacheGet('p', 'load[0][1]', 'item'), item);
    assert.deepEqual(await store.cacheGet('p', 'load', 'item'), item);
    assert.equal(await store.cacheGet('p', 'loader[2]', 'item'), undefined);
    // Another instance with the same item takes the key over.
    const again = cacheEntry('item', { stage: 'load[5]', attempt: 2 });
    await store.append(stored(again));
    assert.deepEqual(await store.cacheGet('p', 'load[2]', 'item'), again);
    assert.equal(await store.cacheClear(), 1);
  });
}
