import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { mapStage } from '../api/map-stage.ts';
import { pipeline } from '../api/pipeline.ts';
import { stage } from '../api/stage.ts';
import type { FailurePolicy } from '../graph/pipeline.ts';
import type { RunEvent } from './events.ts';

const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-fan-out-'));
after(() => rmSync(workspaceRoot, { recursive: true, force: true }));

/** A promise the test resolves by hand: items wait on it, never on time. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

function finishedOrder(events: readonly RunEvent[]): string[] {
  return events.flatMap((e) =>
    e.event === 'stage_finished' && e.status === 'succeeded' ? [e.stage] : [],
  );
}

test('items flow downstream before the slowest sibling ends; the collector gets all, in order', async () => {
  const slow = latch();
  const events: RunEvent[] = [];
  const images = stage('images', () => ['a', 'bb', 'ccc']);
  const resized = mapStage('resize', { over: images }, async (image, context) => {
    assert.deepEqual(context.itemIndex.length, 1);
    if (image === 'bb') await slow.promise;
    return image.length;
  });
  const doubled = mapStage('double', { over: resized }, (size: number, context) => {
    // Item 0 went all the way down while item 1 is still held: no barrier.
    if (context.itemIndex[0] === 0) queueMicrotask(() => slow.open());
    return size * 2;
  });
  const total = stage('total', { deps: { doubled } }, ({ doubled }) => doubled);
  const result = await pipeline('flow', [total], { maxCpus: 4 }).run({
    workspaceRoot,
    onEvent: (event) => events.push(event),
  });
  assert.equal(result.status, 'succeeded');
  assert.deepEqual(result.stages.total?.output, [2, 4, 6]);
  assert.deepEqual(result.stages.resize?.output, [1, 2, 3]);
  const order = finishedOrder(events);
  assert.ok(order.indexOf('double[0]') < order.indexOf('resize[1]'), order.join(' '));
  assert.ok(order.indexOf('resize') > order.indexOf('resize[1]'));
  assert.equal(order.at(-1), 'total');
});

test('a fan-out nests: each item returns a list, mapped further as x[i][j], and again as x[i][j][k]', async () => {
  const docs = stage('docs', () => ['a b', '', 'c d e']);
  const words = mapStage('words', { over: docs }, (doc) => (doc === '' ? [] : doc.split(' ')));
  const upper = mapStage('upper', { over: words, nested: true }, (word) => word.toUpperCase());
  const lengths = mapStage('len', { over: upper, nested: false }, (word) => word.length);
  // A third level: each word's letters, codes[i][j][k].
  const letters = mapStage('letters', { over: upper }, (word) => word.split(''));
  const codes = mapStage('codes', { over: letters, nested: true }, (l) => l.charCodeAt(0));
  const all = stage('all', { deps: { upper, lengths, codes } }, (inputs) => inputs);
  const events: RunEvent[] = [];
  const result = await pipeline('nest', [all]).run({
    workspaceRoot,
    onEvent: (event) => events.push(event),
  });
  assert.equal(result.status, 'succeeded');
  assert.deepEqual(result.stages.all?.output, {
    upper: [['A', 'B'], [], ['C', 'D', 'E']],
    lengths: [[1, 1], [], [1, 1, 1]],
    codes: [[[65], [66]], [], [[67], [68], [69]]],
  });
  assert.equal(result.stages['codes[2][1][0]']?.output, 68);
  assert.equal(result.stages['upper[2][1]']?.output, 'D');
  assert.equal(result.stages['len[2][1]']?.output, 1);
  const started = events.flatMap((e) => (e.event === 'stage_started' ? [e.stage] : []));
  assert.equal(started.filter((s) => s.startsWith('upper[')).length, 5);
});

test('an empty list: no instance runs and the collector gets []', async () => {
  const none = stage('none', (): number[] => []);
  const each = mapStage('each', { over: none }, (n: number) => n + 1);
  const got = stage('got', { deps: { each } }, ({ each }) => ({ each }));
  const result = await pipeline('empty', [got]).run({ workspaceRoot });
  assert.equal(result.status, 'succeeded');
  assert.deepEqual(result.stages.got?.output, { each: [] });
  assert.deepEqual(result.stages.each?.output, []);
});

test('an output that is not a list fails the mapped stage with a clear error', async () => {
  const one = stage('one', () => ({ not: 'a list' }) as unknown as number[]);
  const each = mapStage('each', { over: one }, (n: number) => n);
  const got = stage('got', { deps: { each } }, ({ each }) => each);
  const result = await pipeline('not-a-list', [got]).run({ workspaceRoot });
  assert.equal(result.status, 'failed');
  assert.equal(result.stages.each?.status, 'failed');
  assert.equal(result.stages.each?.error?.code, 'NOT_A_LIST');
  assert.match(
    result.stages.each?.error?.message ?? '',
    /mapped over 'one', whose output is an object/,
  );
  assert.equal(result.stages.got?.status, 'upstream_failed');
});

async function failingItemRun(failurePolicy: FailurePolicy) {
  const gate = latch();
  const ran: string[] = [];
  const items = stage('items', () => [0, 1, 2, 3]);
  const work = mapStage('work', { over: items }, async (n: number, context) => {
    if (n === 1) throw new Error('item 1 broke');
    if (n === 3) await gate.promise; // still running when item 1 fails
    ran.push(context.moduleName);
    return n;
  });
  const next = mapStage('next', { over: work }, (n: number) => n * 10);
  const collect = stage('collect', { deps: { next } }, ({ next }) => next);
  const run = pipeline('failing', [collect], { failurePolicy, maxCpus: 4 }).run({
    workspaceRoot,
    onEvent: (event) => {
      if (event.event === 'stage_finished' && event.stage === 'work[1]') gate.open();
    },
  });
  return { result: await run, ran };
}

test('fail_fast: a failed item fails the mapped stage at once; its running siblings are cancelled', async () => {
  const { result } = await failingItemRun('fail_fast');
  assert.equal(result.status, 'failed');
  assert.equal(result.stages['work[1]']?.status, 'failed');
  assert.equal(result.stages.work?.status, 'failed');
  assert.equal(result.stages.work?.error?.code, 'ITEMS_FAILED');
  assert.equal(result.stages['work[3]']?.status, 'cancelled');
  assert.equal(result.stages.collect?.status, 'upstream_failed');
});

test('collect_all: siblings and their downstream items finish; the collector is upstream_failed', async () => {
  const { result, ran } = await failingItemRun('collect_all');
  assert.equal(result.status, 'failed');
  assert.deepEqual(ran.sort(), ['work[0]', 'work[2]', 'work[3]']);
  for (const i of [0, 2, 3]) assert.equal(result.stages[`next[${i}]`]?.status, 'succeeded');
  assert.equal(result.stages['next[1]']?.status, 'upstream_failed');
  assert.equal(result.stages.work?.status, 'failed');
  assert.match(result.stages.work?.error?.message ?? '', /1 item of 'work' failed: work\[1\]/);
  assert.equal(result.stages.next?.status, 'upstream_failed');
  assert.equal(result.stages.collect?.status, 'upstream_failed');
});

test('a mapped stage also takes its other inputs whole, and its items wait for them', async () => {
  const gate = latch();
  const factor = stage('factor', async () => {
    await gate.promise;
    return 3;
  });
  const numbers = stage('numbers', () => {
    queueMicrotask(() => gate.open());
    return [1, 2];
  });
  const scaled = mapStage(
    'scaled',
    { over: numbers, deps: { factor } },
    (n, _context, { factor }) => n * factor,
  );
  const result = await pipeline('inputs', [scaled]).run({ workspaceRoot });
  assert.equal(result.status, 'succeeded');
  assert.deepEqual(result.stages.scaled?.output, [3, 6]);
});

test('each item is retried and timed out under its mapped stage policy, on its own', async () => {
  const tries = new Map<number, number>();
  const items = stage('items', () => [0, 1, 2]);
  const flaky = mapStage(
    'flaky',
    { over: items, retry: { maxAttempts: 2, delay: 0, jitter: 0 }, timeout: '30s' },
    (n: number, context) => {
      tries.set(n, (tries.get(n) ?? 0) + 1);
      assert.equal(context.attempt, tries.get(n));
      if (n === 1 && context.attempt === 1) throw new Error('first try of item 1');
      return n;
    },
  );
  const events: RunEvent[] = [];
  const result = await pipeline('retry', [flaky]).run({
    workspaceRoot,
    onEvent: (event) => events.push(event),
  });
  assert.equal(result.status, 'succeeded');
  assert.deepEqual([...tries.entries()].sort(), [
    [0, 1],
    [1, 2],
    [2, 1],
  ]);
  assert.equal(result.stages['flaky[1]']?.attempts, 2);
  assert.equal(result.stages.flaky?.attempts, 1);
  const retried = events.filter((e) => e.event === 'stage_retrying').map((e) => e.stage);
  assert.deepEqual(retried, ['flaky[1]']);
});
