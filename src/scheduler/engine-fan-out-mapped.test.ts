// `stage_mapped`: a fan-out's size is said as soon as the list it maps over is known, before
// any of its items starts, so that views count a mapped stage's items from the start.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { mapStage } from '../api/map-stage.ts';
import { pipeline } from '../api/pipeline.ts';
import { stage } from '../api/stage.ts';
import type { RunEvent } from './events.ts';

const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-fan-out-mapped-'));
after(() => rmSync(workspaceRoot, { recursive: true, force: true }));

type Mapped = Extract<RunEvent, { event: 'stage_mapped' }>;

/** `words` of `words[2][1]`. */
const templateOf = (name: string) => name.slice(0, name.indexOf('['));

/**
 * Checks the events of a run: each instance starts only once its mapped stage's announced
 * items cover it, and in the end every mapped stage had exactly the items announced.
 */
function checkAnnounced(events: readonly RunEvent[]): Map<string, number> {
  const announced = new Map<string, number>();
  const started = new Map<string, Set<string>>();
  const ended = new Map<string, Set<string>>();
  const seen = (map: Map<string, Set<string>>, name: string) => {
    const template = templateOf(name);
    const set = map.get(template) ?? new Set();
    map.set(template, set.add(name));
    return set.size;
  };
  for (const event of events) {
    if (event.event === 'stage_mapped') {
      announced.set(event.stage, (announced.get(event.stage) ?? 0) + event.items);
    } else if (event.event === 'stage_started' && event.stage.includes('[')) {
      const count = seen(started, event.stage);
      const known = announced.get(templateOf(event.stage)) ?? 0;
      assert.ok(count <= known, `${event.stage} started with ${known} items announced`);
    } else if (event.event === 'stage_finished' && event.stage.includes('[')) {
      seen(ended, event.stage);
    }
  }
  for (const [template, items] of announced)
    assert.equal(ended.get(template)?.size ?? 0, items, `instances of ${template}`);
  for (const template of ended.keys()) assert.ok(announced.has(template), template);
  return announced;
}

test('one list: stage_mapped after the source finishes, before the first item starts', async () => {
  const list = stage('list', () => [1, 2, 3, 4, 5]);
  const square = mapStage('square', { over: list }, (n) => n * n);
  const plus = mapStage('plus', { over: square }, (n: number) => n + 1);
  const events: RunEvent[] = [];
  const result = await pipeline('one', [plus]).run({
    workspaceRoot,
    onEvent: (event) => events.push(event),
  });
  assert.equal(result.status, 'succeeded');
  const mapped = events.filter((e): e is Mapped => e.event === 'stage_mapped');
  // A stage mapped item by item over a mapped stage has as many items: said at once too.
  assert.deepEqual(
    mapped.map(({ stage, over, items }) => ({ stage, over, items })),
    [
      { stage: 'square', over: 'list', items: 5 },
      { stage: 'plus', over: 'square', items: 5 },
    ],
  );
  const at = (find: (e: RunEvent) => boolean) => events.findIndex(find);
  const listDone = at((e) => e.event === 'stage_finished' && e.stage === 'list');
  const firstMapped = at((e) => e.event === 'stage_mapped');
  const firstItem = at((e) => e.event === 'stage_started' && e.stage.includes('['));
  assert.ok(
    listDone < firstMapped && firstMapped < firstItem,
    `${listDone} ${firstMapped} ${firstItem}`,
  );
  checkAnnounced(events);
});

test('nested fan-out: each inner list is announced as its item ends; the sums are the instances', async () => {
  const docs = stage('docs', () => ['a b', '', 'c d e']);
  const words = mapStage('words', { over: docs }, (doc) => (doc === '' ? [] : doc.split(' ')));
  const upper = mapStage('upper', { over: words, nested: true }, (word) => word.toUpperCase());
  const lengths = mapStage('len', { over: upper }, (word) => word.length);
  const letters = mapStage('letters', { over: upper }, (word) => word.split(''));
  const codes = mapStage('codes', { over: letters, nested: true }, (l) => l.charCodeAt(0));
  const all = stage('all', { deps: { lengths, codes } }, (inputs) => inputs);
  const events: RunEvent[] = [];
  const result = await pipeline('nest', [all]).run({
    workspaceRoot,
    onEvent: (event) => events.push(event),
  });
  assert.equal(result.status, 'succeeded');
  const announced = checkAnnounced(events);
  assert.deepEqual(Object.fromEntries(announced), {
    words: 3,
    upper: 5,
    len: 5,
    letters: 5,
    codes: 5,
  });
  const inner = events.filter(
    (e): e is Mapped => e.event === 'stage_mapped' && e.stage === 'upper',
  );
  assert.deepEqual(inner.map((e) => [e.over, e.items]).sort(), [
    ['words[0]', 2],
    ['words[1]', 0],
    ['words[2]', 3],
  ]);
});

test('collect_all with a failed item: the item after it still counts (upstream_failed)', async () => {
  const items = stage('items', () => [0, 1, 2, 3]);
  const work = mapStage('work', { over: items }, (n) => {
    if (n === 1) throw new Error('item 1 fails');
    return n;
  });
  const next = mapStage('next', { over: work }, (n: number) => n * 10);
  const events: RunEvent[] = [];
  const result = await pipeline('failing', [next], { failurePolicy: 'collect_all' }).run({
    workspaceRoot,
    onEvent: (event) => events.push(event),
  });
  assert.equal(result.status, 'failed');
  assert.equal(result.stages['next[1]']?.status, 'upstream_failed');
  assert.deepEqual(Object.fromEntries(checkAnnounced(events)), { work: 4, next: 4 });
});

test('an output that is not a list announces nothing', async () => {
  const notList = stage('source', () => 'text');
  const mapped = mapStage('each', { over: notList as never }, (x: unknown) => x);
  const events: RunEvent[] = [];
  const result = await pipeline('bad', [mapped]).run({
    workspaceRoot,
    onEvent: (event) => events.push(event),
  });
  assert.equal(result.status, 'failed');
  assert.equal(events.filter((e) => e.event === 'stage_mapped').length, 0);
});
