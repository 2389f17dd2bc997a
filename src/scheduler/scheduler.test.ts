import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graphOf } from '../../test/fixtures/scheduler/graph-of.ts';
import { randomPool } from '../../test/fixtures/scheduler/random-pool.ts';
import type { Graph } from '../graph/graph.ts';
import type { ExecutionMode, FailurePolicy } from '../graph/pipeline.ts';
import { Scheduler } from './scheduler.ts';

function schedulerOf(
  graph: Graph,
  options: {
    mode?: ExecutionMode;
    failurePolicy?: FailurePolicy;
    maxCpus?: number;
    cpus?: number[];
  } = {},
) {
  return new Scheduler(graph, {
    mode: options.mode ?? 'parallel',
    failurePolicy: options.failurePolicy ?? 'fail_fast',
    maxCpus: options.maxCpus ?? 2,
    cpus: options.cpus ?? new Array(graph.size).fill(1),
  });
}

function startAll(scheduler: Scheduler, graph: Graph): string[] {
  const started: string[] = [];
  for (let i = scheduler.next(); i >= 0; i = scheduler.next()) started.push(graph.names[i]!);
  return started;
}

const diamondPlus: [string, string[]][] = [
  ['a', []],
  ['b', ['a']],
  ['c', ['a']],
  ['d', ['b', 'c']],
  ['solo', []],
];

test('the longest remaining path starts first', () => {
  const g = graphOf([
    ['short', []],
    ['long1', []],
    ['long2', ['long1']],
    ['long3', ['long2']],
    ['mid1', []],
    ['mid2', ['mid1']],
  ]);
  const s = schedulerOf(g, { maxCpus: 1 });
  assert.deepEqual(startAll(s, g), ['long1']);
  s.succeed(g.indexOf.get('long1')!);
  // long2 (path 2) ties with mid1 (path 2): declaration order breaks the tie.
  assert.deepEqual(startAll(s, g), ['long2']);
  s.succeed(g.indexOf.get('long2')!);
  assert.deepEqual(startAll(s, g), ['mid1']);
});

test('eager: a stage starts as soon as its own dependencies succeed, not when its level ends', () => {
  const g = graphOf([
    ['fast', []],
    ['slow', []],
    ['after_fast', ['fast']],
  ]);
  const s = schedulerOf(g, { maxCpus: 4 });
  assert.deepEqual(startAll(s, g).sort(), ['fast', 'slow']);
  s.succeed(g.indexOf.get('fast')!);
  assert.deepEqual(startAll(s, g), ['after_fast']);
  assert.equal(s.status(g.indexOf.get('slow')!), 'running');
});

test('waves: a level starts only when the previous one has ended', () => {
  const g = graphOf([
    ['fast', []],
    ['slow', []],
    ['after_fast', ['fast']],
  ]);
  const s = schedulerOf(g, { mode: 'waves', maxCpus: 4 });
  assert.deepEqual(startAll(s, g).sort(), ['fast', 'slow']);
  s.succeed(g.indexOf.get('fast')!);
  assert.deepEqual(startAll(s, g), []);
  s.succeed(g.indexOf.get('slow')!);
  assert.deepEqual(startAll(s, g), ['after_fast']);
});

test('sequential runs one stage at a time in declaration order', () => {
  const g = graphOf(diamondPlus);
  const s = schedulerOf(g, { mode: 'sequential', maxCpus: 8 });
  const order: string[] = [];
  while (!s.done) {
    const started = startAll(s, g);
    assert.equal(started.length, 1);
    order.push(started[0]!);
    s.succeed(g.indexOf.get(started[0]!)!);
  }
  assert.deepEqual(order, ['a', 'b', 'c', 'd', 'solo']);
});

test('fail_fast: nothing new starts, downstream is upstream_failed, the rest cancelled', () => {
  const g = graphOf(diamondPlus);
  const s = schedulerOf(g, { maxCpus: 2 });
  assert.deepEqual(startAll(s, g), ['a', 'solo']);
  const changed = s.fail(g.indexOf.get('a')!).map((i) => g.names[i]);
  assert.deepEqual(changed.sort(), ['b', 'c', 'd']);
  assert.deepEqual(startAll(s, g), []);
  assert.equal(s.done, false); // solo is still running until the engine ends it
  s.cancelRunning(g.indexOf.get('solo')!);
  assert.equal(s.done, true);
  assert.deepEqual(
    g.names.map((_, i) => s.status(i)),
    ['failed', 'upstream_failed', 'upstream_failed', 'upstream_failed', 'cancelled'],
  );
});

test('collect_all: independent branches finish, dependents of the failure are upstream_failed', () => {
  const g = graphOf([...diamondPlus, ['after_solo', ['solo']]]);
  const s = schedulerOf(g, { failurePolicy: 'collect_all', maxCpus: 2 });
  assert.deepEqual(startAll(s, g), ['a', 'solo']);
  s.succeed(g.indexOf.get('a')!);
  assert.deepEqual(startAll(s, g), ['b']);
  s.fail(g.indexOf.get('b')!);
  assert.deepEqual(startAll(s, g), ['c']);
  s.succeed(g.indexOf.get('c')!);
  s.succeed(g.indexOf.get('solo')!);
  assert.deepEqual(startAll(s, g), ['after_solo']);
  s.succeed(g.indexOf.get('after_solo')!);
  assert.equal(s.done, true);
  assert.deepEqual(
    g.names.map((_, i) => s.status(i)),
    ['succeeded', 'failed', 'succeeded', 'upstream_failed', 'succeeded', 'succeeded'],
  );
});

test('a stage waiting for a retry holds no CPUs and comes back ready', () => {
  const g = graphOf([
    ['flaky', []],
    ['other', []],
  ]);
  const s = schedulerOf(g, { maxCpus: 1 });
  assert.deepEqual(startAll(s, g), ['flaky']);
  s.waitForRetry(0);
  assert.equal(s.cpusInUse, 0);
  assert.deepEqual(startAll(s, g), ['other']);
  s.retry(0);
  assert.deepEqual(startAll(s, g), []);
  s.succeed(1);
  assert.deepEqual(startAll(s, g), ['flaky']);
});

test('stop cancels stages waiting for a retry', () => {
  const g = graphOf([['flaky', []]]);
  const s = schedulerOf(g);
  startAll(s, g);
  s.waitForRetry(0);
  assert.deepEqual(s.stop(), [0]);
  assert.equal(s.status(0), 'cancelled');
  assert.equal(s.done, true);
});

test('GPUs are leased as the lowest free device ids and given back at the end', () => {
  const g = graphOf([
    ['one', []],
    ['two', []],
    ['three', []],
    ['four', []],
  ]);
  const s = new Scheduler(g, {
    mode: 'parallel',
    failurePolicy: 'fail_fast',
    maxCpus: 8,
    cpus: [1, 1, 1, 1],
    gpuIds: [4, 5, 7],
    gpus: [1, 2, 1, 0],
  });
  assert.deepEqual(startAll(s, g), ['one', 'two', 'four']);
  assert.deepEqual(s.gpuIdsOf(0), [4]);
  assert.deepEqual(s.gpuIdsOf(1), [5, 7]);
  assert.deepEqual(s.gpuIdsOf(3), []);
  assert.equal(s.gpusInUse, 3);
  s.succeed(1);
  assert.deepEqual(startAll(s, g), ['three']);
  assert.deepEqual(s.gpuIdsOf(2), [5]);
  assert.deepEqual(s.gpuIdsOf(1), []);
});

test('memory reservations: two stages of 60% never run together', () => {
  const g = graphOf([
    ['big1', []],
    ['big2', []],
    ['small', []],
  ]);
  const s = new Scheduler(g, {
    mode: 'parallel',
    failurePolicy: 'fail_fast',
    maxCpus: 8,
    cpus: [1, 1, 1],
    maxMemoryMb: 1000,
    memoryMb: [600, 600, 300],
  });
  assert.deepEqual(startAll(s, g), ['big1', 'small']);
  assert.equal(s.memoryInUse, 900);
  s.succeed(0);
  assert.deepEqual(startAll(s, g), ['big2']);
});

test('a large request is not starved by a stream of small ones (bounded bypass)', () => {
  // `big` needs both GPUs and has the longest path behind it, so it is the best ready stage;
  // two chains of one-GPU stages would keep taking the GPUs it waits for.
  const stages: [string, string[]][] = [
    ['pre', []],
    ['big', ['pre']],
  ];
  for (let k = 0; k < 30; k++) stages.push([`after${k}`, [k === 0 ? 'big' : `after${k - 1}`]]);
  const chains = 2;
  const length = 20;
  for (let c = 0; c < chains; c++)
    for (let k = 0; k < length; k++) stages.push([`c${c}_${k}`, k === 0 ? [] : [`c${c}_${k - 1}`]]);
  const g = graphOf(stages);
  const s = new Scheduler(g, {
    mode: 'parallel',
    failurePolicy: 'fail_fast',
    maxCpus: 8,
    cpus: new Array(g.size).fill(0),
    gpuIds: [0, 1],
    gpus: g.names.map((name) => (name === 'big' ? 2 : name.startsWith('c') ? 1 : 0)),
    maxBypass: 3,
  });
  const running = new Set<number>();
  const bigIndex = g.indexOf.get('big')!;
  let startedBefore = 0;
  while (s.status(bigIndex) === 'pending') {
    for (let i = s.next(); i >= 0; i = s.next()) {
      running.add(i);
      if (g.names[i]!.startsWith('c') && s.status(g.indexOf.get('pre')!) === 'succeeded')
        startedBefore++;
    }
    // `pre` ends first, while both chains hold a GPU; then the chains' stages end one by one.
    const first = running.has(0) ? 0 : [...running].find((i) => i !== bigIndex);
    if (first === undefined) break;
    running.delete(first);
    s.succeed(first);
  }
  assert.equal(s.status(bigIndex), 'running');
  // Once big was ready, at most maxBypass stages went ahead of it; unbounded, all 40 would.
  assert.ok(startedBefore <= 3, `${startedBefore} stages started ahead of big`);
});

test('admission never exceeds the CPUs, memory or GPUs, never hangs and runs every stage (random DAGs, fractional cpus, retries)', () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  for (let round = 0; round < 300; round++) {
    const n = 5 + Math.floor(random() * 40);
    const stages: [string, string[]][] = [];
    for (let i = 0; i < n; i++) {
      const deps = new Set<string>();
      for (let k = 0; k < 3 && i > 0; k++)
        if (random() < 0.4) deps.add(`s${Math.floor(random() * i)}`);
      stages.push([`s${i}`, [...deps]]);
    }
    const g = graphOf(stages);
    const pool = randomPool(random, stages.length, pick([1000, 1536.5, 4096]), [0, 1, 2, 3, 5, 6]);
    const { maxCpus, cpus, maxMemoryMb, memoryMb, gpuIds, gpus } = pool;
    const mode = (['parallel', 'sequential', 'waves'] as const)[round % 3]!;
    const s = new Scheduler(g, {
      mode,
      failurePolicy: 'fail_fast',
      ...pool,
      maxBypass: 1 + Math.floor(random() * 8),
    });
    const running: number[] = [];
    const waiting: number[] = [];
    const retried = new Set<number>();
    let steps = 0;
    while (!s.done) {
      for (let i = s.next(); i >= 0; i = s.next()) {
        // A new lease takes the lowest ids free at that moment.
        const held = new Set(running.flatMap((r) => s.gpuIdsOf(r)));
        const free = gpuIds.filter((id) => !held.has(id));
        assert.deepEqual(s.gpuIdsOf(i), free.slice(0, gpus[i]!), `round ${round}: lease of s${i}`);
        running.push(i);
      }
      let usedCpus = 0;
      let usedMemory = 0;
      const ids: number[] = [];
      for (const i of running) {
        usedCpus += cpus[i]!;
        usedMemory += memoryMb[i]!;
        ids.push(...s.gpuIdsOf(i));
      }
      assert.ok(usedCpus <= maxCpus + 1e-9, `round ${round}: ${usedCpus} cpus of ${maxCpus}`);
      assert.ok(
        usedMemory <= maxMemoryMb + 1e-6,
        `round ${round}: ${usedMemory} MB of ${maxMemoryMb}`,
      );
      assert.equal(new Set(ids).size, ids.length, `round ${round}: a GPU leased twice`);
      assert.ok(
        ids.every((id) => gpuIds.includes(id)),
        `round ${round}: a GPU outside the pool`,
      );
      if (mode === 'sequential') assert.ok(running.length <= 1);
      assert.ok(
        running.length > 0 || waiting.length > 0,
        `round ${round}: nothing runs and the run is not done (a hang)`,
      );
      // Sometimes a retry delay ends; else a running stage ends, once in a while with a retry.
      if (waiting.length > 0 && (running.length === 0 || random() < 0.3)) {
        s.retry(waiting.splice(Math.floor(random() * waiting.length), 1)[0]!);
        continue;
      }
      const ended = running.splice(Math.floor(random() * running.length), 1)[0]!;
      if (!retried.has(ended) && random() < 0.15) {
        retried.add(ended);
        s.waitForRetry(ended);
        assert.deepEqual(s.gpuIdsOf(ended), []);
        waiting.push(ended);
        continue;
      }
      s.succeed(ended);
      assert.ok(++steps <= n);
    }
    assert.ok(
      g.names.every((_, i) => s.status(i) === 'succeeded'),
      `round ${round}`,
    );
    assert.equal(s.cpusInUse + s.memoryInUse + s.gpusInUse, 0);
  }
});
