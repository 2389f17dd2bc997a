import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graphOf } from '../../test/fixtures/scheduler/graph-of.ts';
import { randomPool } from '../../test/fixtures/scheduler/random-pool.ts';
import type { FailurePolicy } from '../graph/pipeline.ts';
import { Scheduler } from './scheduler.ts';

test('a stage mapped over a mapped one starts item i once item i succeeded, its siblings still running', () => {
  const g = graphOf([
    ['list', []],
    ['a', ['list']],
    ['b', ['a']],
    ['c', ['b']],
  ]);
  const lengths = new Map([[0, 3]]);
  const s = new Scheduler(g, {
    mode: 'parallel',
    failurePolicy: 'fail_fast',
    maxCpus: 8,
    cpus: [1, 1, 1, 1],
    fanOut: { over: [-1, 0, 1, -1] },
    listLength: (node) => lengths.get(node) ?? -1,
  });
  assert.deepEqual(s.begin(), []);
  assert.equal(s.next(), 0);
  assert.equal(s.next(), -1);
  s.succeed(0);
  const items = [s.next(), s.next(), s.next()];
  assert.deepEqual(
    items.map((i) => s.templateOf(i)),
    [1, 1, 1],
  );
  assert.deepEqual(
    items.map((i) => s.itemIndexOf(i)),
    [0, 1, 2],
  );
  assert.equal(s.status(1), 'running');
  s.succeed(items[0]!);
  const b0 = s.next();
  assert.equal(s.templateOf(b0), 1 + 1);
  assert.equal(s.parentOf(b0), items[0]);
  assert.equal(s.itemIndexOf(b0), -1);
  s.succeed(items[1]!);
  s.succeed(b0);
  assert.equal(s.status(2), 'running', 'b waits for its other items');
  s.succeed(items[2]!);
  const rest = [s.next(), s.next()];
  assert.equal(s.status(1), 'succeeded', 'a ended with its last item');
  assert.deepEqual(s.succeed(rest[0]!), []);
  assert.deepEqual(s.succeed(rest[1]!), [2]);
  assert.equal(s.next(), 3, 'the collector runs once every item of b succeeded');
  s.succeed(3);
  assert.ok(s.done);
});

test('collect_all: a failed item lets its siblings finish, the item after it is upstream_failed', () => {
  const g = graphOf([
    ['list', []],
    ['a', ['list']],
    ['b', ['a']],
    ['c', ['b']],
  ]);
  const s = new Scheduler(g, {
    mode: 'parallel',
    failurePolicy: 'collect_all',
    maxCpus: 8,
    cpus: [1, 1, 1, 1],
    fanOut: { over: [-1, 0, 1, -1] },
    listLength: (node) => (node === 0 ? 2 : -1),
  });
  s.succeed(s.next());
  const [a0, a1] = [s.next(), s.next()];
  const changed = s.fail(a0!);
  assert.equal(changed.length, 1);
  assert.equal(s.status(changed[0]!), 'upstream_failed');
  assert.equal(s.templateOf(changed[0]!), 2);
  assert.equal(s.status(1), 'running');
  s.succeed(a1!);
  const b1 = s.next();
  assert.equal(s.parentOf(b1), a1);
  assert.deepEqual(s.succeed(b1), [2, 3]);
  assert.equal(s.status(1), 'failed');
  assert.equal(s.status(2), 'upstream_failed');
  assert.equal(s.status(3), 'upstream_failed');
  assert.ok(s.done);
});

test('random fan-outs: never over capacity, never a hang, every item runs once (nested, empty lists, failures, retries)', () => {
  let seed = 11;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let round = 0; round < 300; round++) {
    const n = 3 + Math.floor(random() * 14);
    const stages: [string, string[]][] = [];
    const over: number[] = [];
    const nested: number[] = [];
    for (let i = 0; i < n; i++) {
      const deps = new Set<string>();
      let source = -1;
      if (i > 0 && random() < 0.5) {
        source = Math.floor(random() * i);
        deps.add(`s${source}`);
      }
      for (let k = 0; k < 2 && i > 0; k++)
        if (random() < 0.3) deps.add(`s${Math.floor(random() * i)}`);
      stages.push([`s${i}`, [...deps]]);
      over.push(source);
      nested.push(source >= 0 && over[source]! >= 0 && random() < 0.4 ? 1 : 0);
    }
    const g = graphOf(stages);
    const pool = randomPool(random, stages.length, 1024, [0, 1, 3]);
    const { maxCpus, cpus, maxMemoryMb, memoryMb, gpus } = pool;
    const failurePolicy: FailurePolicy = round % 2 === 0 ? 'fail_fast' : 'collect_all';
    const failing = round % 3 === 0;
    const lengths = new Map<number, number>();
    const s = new Scheduler(g, {
      mode: (['parallel', 'sequential', 'waves'] as const)[round % 3]!,
      failurePolicy,
      ...pool,
      fanOut: { over, nested },
      listLength: (node) => {
        if (!lengths.has(node)) lengths.set(node, Math.floor(random() * 4));
        return lengths.get(node)!;
      },
      maxBypass: 1 + Math.floor(random() * 4),
    });
    s.begin();
    const running: number[] = [];
    const waiting: number[] = [];
    const started = new Map<number, number>();
    const retried = new Set<number>();
    let failed = false;
    while (!s.done) {
      for (let i = s.next(); i >= 0; i = s.next()) {
        assert.ok(!s.isMapped(i), `round ${round}: a mapped stage itself started`);
        started.set(i, (started.get(i) ?? 0) + (retried.has(i) ? 0 : 1));
        running.push(i);
      }
      let used = 0;
      let usedMemory = 0;
      const leased: number[] = [];
      for (const i of running) {
        used += cpus[s.templateOf(i)]!;
        usedMemory += memoryMb[s.templateOf(i)]!;
        assert.equal(s.gpuIdsOf(i).length, gpus[s.templateOf(i)], `round ${round}: lease of ${i}`);
        leased.push(...s.gpuIdsOf(i));
      }
      assert.ok(used <= maxCpus + 1e-9, `round ${round}: ${used} cpus of ${maxCpus}`);
      assert.ok(usedMemory <= maxMemoryMb + 1e-6, `round ${round}: ${usedMemory} MB`);
      assert.equal(new Set(leased).size, leased.length, `round ${round}: a GPU leased twice`);
      assert.ok(
        running.length > 0 || waiting.length > 0,
        `round ${round}: nothing runs and the run is not done (a hang)`,
      );
      if (waiting.length > 0 && (running.length === 0 || random() < 0.3)) {
        const back = waiting.splice(Math.floor(random() * waiting.length), 1)[0]!;
        if (s.isWaiting(back)) s.retry(back);
        continue;
      }
      if (running.length === 0) continue;
      const ended = running.splice(Math.floor(random() * running.length), 1)[0]!;
      // As the engine does: no retry once the run stops.
      if (!retried.has(ended) && !s.stopping && random() < 0.1) {
        retried.add(ended);
        s.waitForRetry(ended);
        waiting.push(ended);
        continue;
      }
      if (failing && random() < 0.08) {
        failed = true;
        s.fail(ended);
      } else if (s.stopping) {
        s.cancelRunning(ended);
      } else {
        s.succeed(ended);
      }
      // A stop cancels stages waiting for a retry: they leave the waiting list.
      for (let k = waiting.length - 1; k >= 0; k--)
        if (!s.isWaiting(waiting[k]!)) waiting.splice(k, 1);
    }
    for (const [node, times] of started)
      assert.equal(times, 1, `round ${round}: node ${node} ran ${times} times`);
    assert.equal(s.cpusInUse + s.memoryInUse + s.gpusInUse, 0);
    if (failed) continue;
    // Every stage and instance succeeded, and each mapped stage made exactly its items.
    const made = new Map<number, number[]>();
    for (let node = g.size; node < s.size; node++) {
      assert.equal(s.status(node), 'succeeded', `round ${round}: instance ${node}`);
      const template = s.templateOf(node);
      made.set(template, [...(made.get(template) ?? []), node]);
    }
    for (let i = 0; i < g.size; i++) {
      assert.equal(s.status(i), 'succeeded', `round ${round}: s${i}`);
      if (over[i]! < 0) continue;
      const mine = made.get(i) ?? [];
      const source = over[i]!;
      const expected =
        over[source]! < 0
          ? lengths.get(source)!
          : nested[i]
            ? (made.get(source) ?? []).reduce((sum, u) => sum + lengths.get(u)!, 0)
            : (made.get(source) ?? []).length;
      assert.equal(mine.length, expected, `round ${round}: instances of s${i}`);
      for (const node of mine) assert.equal(started.get(node), 1);
    }
  }
});
