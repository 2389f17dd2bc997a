import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../graph/graph.ts';
import type { ExecutionMode, FailurePolicy } from '../graph/pipeline.ts';
import { Scheduler } from './scheduler.ts';

function graphOf(stages: [string, string[]][]): Graph {
  const built = Graph.build(stages.map(([name, dependsOn]) => ({ name, dependsOn })));
  assert.ok('graph' in built);
  return built.graph;
}

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

test('the CPU budget is never exceeded and every stage ends (random DAGs, fractional cpus)', () => {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let round = 0; round < 200; round++) {
    const n = 5 + Math.floor(random() * 40);
    const stages: [string, string[]][] = [];
    for (let i = 0; i < n; i++) {
      const deps = new Set<string>();
      for (let k = 0; k < 3 && i > 0; k++)
        if (random() < 0.5) deps.add(`s${Math.floor(random() * i)}`);
      stages.push([`s${i}`, [...deps]]);
    }
    const g = graphOf(stages);
    const maxCpus = 1 + Math.floor(random() * 4) + (random() < 0.5 ? 0.5 : 0);
    const cpus = stages.map(() => Math.round(random() * maxCpus * 10) / 10);
    const mode = (['parallel', 'sequential', 'waves'] as const)[round % 3]!;
    const s = schedulerOf(g, { mode, maxCpus, cpus });
    const running: number[] = [];
    let steps = 0;
    while (!s.done) {
      for (let i = s.next(); i >= 0; i = s.next()) running.push(i);
      let used = 0;
      for (const i of running) used += cpus[i]!;
      assert.ok(used <= maxCpus + 1e-9, `round ${round}: ${used} cpus in use of ${maxCpus}`);
      if (mode === 'sequential') assert.ok(running.length <= 1);
      assert.ok(
        running.length > 0,
        `round ${round}: nothing runs and the run is not done (a hang)`,
      );
      const finished = running.splice(Math.floor(random() * running.length), 1)[0]!;
      s.succeed(finished);
      assert.ok(++steps <= n);
    }
    assert.ok(g.names.every((_, i) => s.status(i) === 'succeeded'));
  }
});
