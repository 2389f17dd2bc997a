import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../graph/graph.ts';
import type { StageSpec } from '../graph/pipeline.ts';
import { groupRequests } from './concurrency-groups.ts';
import { Scheduler } from './scheduler.ts';

/** Stages by name: [dependencies, concurrency group or none]. */
type Shape = [name: string, dependsOn: string[], group?: string][];

function setUp(shape: Shape, limit: number, options: { maxCpus: number; cpus?: number[] }) {
  const specs: StageSpec[] = shape.map(([name, dependsOn, group]) => ({
    name,
    dependsOn,
    cpus: 1,
    task: { kind: 'inline' },
    ...(group && { concurrency: { group, limit } }),
  }));
  const built = Graph.build(specs);
  assert.ok('graph' in built);
  const graph = built.graph;
  const groups = groupRequests(specs);
  assert.ok(groups);
  const scheduler = new Scheduler(graph, {
    mode: 'parallel',
    failurePolicy: 'collect_all',
    maxCpus: options.maxCpus,
    cpus: options.cpus ?? new Array(graph.size).fill(1),
    groups,
  });
  return { graph, scheduler, inGroup: (i: number) => shape[i]![2] !== undefined };
}

function startAll(scheduler: Scheduler): number[] {
  const started: number[] = [];
  for (let i = scheduler.next(); i >= 0; i = scheduler.next()) started.push(i);
  return started;
}

// g1..g5 rank first (each has a stage below it); o1..o4 rank after them.
const fiveAndOthers: Shape = [
  ...['g1', 'g2', 'g3', 'g4', 'g5'].map((g): [string, string[], string] => [g, [], 'node']),
  ...['g1', 'g2', 'g3', 'g4', 'g5'].map((g): [string, string[]] => [`${g}-next`, [g]]),
  ['o1', []],
  ['o2', []],
  ['o3', []],
  ['o4', []],
];

test('a group of 5 with limit 2 never runs more than 2, and other stages run meanwhile', () => {
  const { graph, scheduler, inGroup } = setUp(fiveAndOthers, 2, { maxCpus: 6 });
  const first = startAll(scheduler).map((i) => graph.names[i]);
  // Two of the group, then the others fill the pool ahead of the waiting g3..g5.
  assert.deepEqual(first, ['g1', 'g2', 'o1', 'o2', 'o3', 'o4']);
  const running = new Set(first.map((name) => graph.indexOf.get(name)!));
  let most = 0;
  const order: string[] = [...first];
  while (running.size > 0) {
    const [oldest] = running;
    running.delete(oldest!);
    scheduler.succeed(oldest!);
    for (const i of startAll(scheduler)) {
      running.add(i);
      order.push(graph.names[i]!);
    }
    const group = [...running].filter(inGroup).length;
    assert.ok(group <= 2, `${group} of the group run at once`);
    most = Math.max(most, group);
  }
  assert.equal(most, 2);
  assert.ok(scheduler.done);
  for (let i = 0; i < graph.size; i++) assert.equal(scheduler.status(i), 'succeeded');
  // The waiting ones started in rank order, each as a slot came free.
  const groupOrder = order.filter((name) => /^g\d$/.test(name));
  assert.deepEqual(groupOrder, ['g1', 'g2', 'g3', 'g4', 'g5']);
});

test('a stage of a full group does not hold up the stages ranked below it', () => {
  const { graph, scheduler } = setUp(fiveAndOthers, 1, { maxCpus: 3 });
  assert.deepEqual(
    startAll(scheduler).map((i) => graph.names[i]),
    ['g1', 'o1', 'o2'],
  );
  scheduler.succeed(graph.indexOf.get('o1')!);
  // g2..g5 wait for g1; the next free slot of the pool goes to o3, not to nobody.
  assert.deepEqual(
    startAll(scheduler).map((i) => graph.names[i]),
    ['o3'],
  );
  // g1's end frees its slot and its CPU: g2 (ranked above g1-next) takes them.
  scheduler.succeed(graph.indexOf.get('g1')!);
  assert.deepEqual(
    startAll(scheduler).map((i) => graph.names[i]),
    ['g2'],
  );
  scheduler.succeed(graph.indexOf.get('o2')!);
  assert.deepEqual(
    startAll(scheduler).map((i) => graph.names[i]),
    ['g1-next'],
    'g3..g5 still wait for g2',
  );
});

test('a retry gives its slot back while it waits, and waits for one when it is due', () => {
  const { graph, scheduler } = setUp(fiveAndOthers.slice(0, 3), 1, { maxCpus: 4 });
  const g1 = graph.indexOf.get('g1')!;
  assert.deepEqual(startAll(scheduler), [g1]);
  scheduler.waitForRetry(g1);
  const g2 = graph.indexOf.get('g2')!;
  assert.deepEqual(startAll(scheduler), [g2]);
  scheduler.retry(g1);
  assert.deepEqual(startAll(scheduler), [], 'g2 holds the only slot');
  scheduler.succeed(g2);
  // Slots go to the stages in the order they found the group full: g3 waited before g1.
  const g3 = graph.indexOf.get('g3')!;
  assert.deepEqual(startAll(scheduler), [g3]);
  scheduler.succeed(g3);
  assert.deepEqual(startAll(scheduler), [g1]);
  scheduler.succeed(g1);
  assert.ok(scheduler.done);
});

test('a group stage that needs the whole pool neither deadlocks nor starves', () => {
  // Group stages of 2 CPUs in a pool of 2, limit 1, among 1-CPU stages ranked after them.
  const shape: Shape = [
    ['big1', [], 'node'],
    ['big2', [], 'node'],
    ['big1-next', ['big1']],
    ['big2-next', ['big2']],
    ['small1', []],
    ['small2', []],
  ];
  const { graph, scheduler } = setUp(shape, 1, { maxCpus: 2, cpus: [2, 2, 1, 1, 1, 1] });
  const running: number[] = startAll(scheduler);
  assert.deepEqual(
    running.map((i) => graph.names[i]),
    ['big1'],
  );
  while (running.length > 0) {
    scheduler.succeed(running.shift()!);
    running.push(...startAll(scheduler));
  }
  assert.ok(scheduler.done);
  for (let i = 0; i < graph.size; i++) assert.equal(scheduler.status(i), 'succeeded');
});

test('stopping cancels the stages waiting for a slot of their group', () => {
  const { graph, scheduler } = setUp(fiveAndOthers.slice(0, 5), 2, { maxCpus: 8 });
  const running = startAll(scheduler);
  assert.equal(running.length, 2);
  const cancelled = scheduler.stop().map((i) => graph.names[i]);
  assert.deepEqual(cancelled, ['g3', 'g4', 'g5']);
  for (const i of running) scheduler.cancelRunning(i);
  assert.deepEqual(startAll(scheduler), []);
  assert.ok(scheduler.done);
});
