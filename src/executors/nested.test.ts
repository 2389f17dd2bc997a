import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PipelineError } from '../errors.ts';
import { createNesting, type NestedContext } from './nested.ts';

const never = new AbortController().signal;

function nesting(cpus: number, maxDepth = 3): NestedContext {
  return createNesting({ cpus, maxDepth, signal: never });
}

/** Counts sub-tasks in flight; each waits until `release` lets it go. */
function gauge() {
  let running = 0;
  let peak = 0;
  return {
    get peak() {
      return peak;
    },
    async hold<T>(value: T, ticks = 3): Promise<T> {
      running++;
      peak = Math.max(peak, running);
      for (let i = 0; i < ticks; i++) await new Promise((resolve) => setImmediate(resolve));
      running--;
      return value;
    },
  };
}

test('results come in input order, a failed item as its Error in its place', async () => {
  const results = await nesting(4).map([30, 10, 20, 0], async (ms, index) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (index === 2) throw new PipelineError('BAD_ITEM', `item ${index} is bad`);
    return ms * 2;
  });
  assert.equal(results.length, 4);
  assert.deepEqual([results[0], results[1], results[3]], [60, 20, 0]);
  const failed = results[2];
  assert.ok(failed instanceof PipelineError);
  assert.equal(failed.code, 'BAD_ITEM');
  assert.equal(failed.message, 'item 2 is bad');
});

test('executeTasks: zero-argument tasks, a thrown non-Error becomes a TASK_FAILED error', async () => {
  const results = await nesting(2).executeTasks<unknown>([
    () => 'a',
    () => {
      throw 'plain text';
    },
    async () => ({ b: 1 }),
  ]);
  assert.equal(results[0], 'a');
  assert.deepEqual(results[2], { b: 1 });
  assert.ok(results[1] instanceof PipelineError);
  assert.equal(results[1].code, 'TASK_FAILED');
});

test('sub-tasks run in parallel up to floor(cpus), never more', async () => {
  for (const [cpus, expected] of [
    [3, 3],
    [2.7, 2],
    [0.5, 1],
    [0, 1],
  ] as const) {
    const meter = gauge();
    const results = await nesting(cpus).map([1, 2, 3, 4, 5, 6, 7, 8], (n) => meter.hold(n));
    assert.deepEqual(results, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(meter.peak, expected, `cpus ${cpus}`);
  }
});

test('nested sub-tasks share the grant: no overcommit and no deadlock at any depth', async () => {
  const meter = gauge();
  const context = nesting(2, 3);
  // Every level fans out 3 ways: 27 leaves, each holding a slot while it runs.
  const tree = (level: NestedContext, depth: number): Promise<unknown> =>
    level
      .map([0, 1, 2], (i, _index, child) => (depth === 3 ? meter.hold(i) : tree(child, depth + 1)))
      .then((results) => {
        for (const result of results) if (result instanceof Error) throw result;
        return results;
      });
  const leaves = (await tree(context, 1)) as unknown[][][];
  assert.deepEqual(
    leaves.flat(2),
    Array.from({ length: 27 }, (_, i) => i % 3),
  );
  assert.ok(meter.peak <= 2, `peak ${meter.peak}`);
  assert.equal(meter.peak, 2);
});

test('nesting deeper than the limit rejects with NESTED_DEPTH_EXCEEDED', async () => {
  const context = nesting(2, 1);
  const [inner] = await context.executeTasks([(child) => child.executeTasks([() => 1])]);
  assert.ok(inner instanceof PipelineError);
  assert.equal(inner.code, 'NESTED_DEPTH_EXCEEDED');
  assert.match(inner.message, /depth 2 exceeds max_nested_depth 1/);
  await assert.rejects(
    nesting(1, 0).map([1], (n) => n),
    { code: 'NESTED_DEPTH_EXCEEDED' },
  );
});

test('depth counts from 1 for a stage’s own sub-tasks', async () => {
  const depths = await nesting(1).executeTasks<unknown>([
    (child) => child.depth,
    (child) => child.executeTasks([(grandchild) => grandchild.depth]),
  ]);
  assert.deepEqual(depths, [1, [2]]);
});

test('after the stage is aborted, items not yet started fail with the abort reason', async () => {
  const controller = new AbortController();
  const context = createNesting({ cpus: 1, maxDepth: 3, signal: controller.signal });
  const results = await context.map([1, 2, 3], (n) => {
    if (n === 1) controller.abort(new PipelineError('TIMEOUT', 'timed out'));
    return n;
  });
  assert.equal(results[0], 1);
  assert.equal((results[1] as PipelineError).code, 'TIMEOUT');
  assert.equal((results[2] as PipelineError).code, 'TIMEOUT');
});

test('bad arguments are a clear error', async () => {
  await assert.rejects(nesting(1).executeTasks([1 as never]), { code: 'INVALID_TASKS' });
  await assert.rejects(
    nesting(1).map('abc' as never, (x) => x),
    { code: 'INVALID_TASKS' },
  );
});

test('concurrent calls from one context share its grant: no overcommit', async () => {
  for (const cpus of [1, 2]) {
    const meter = gauge();
    const context = nesting(cpus);
    const three = await Promise.all(
      [0, 1, 2].map((call) => context.map([1, 2, 3, 4], (n) => meter.hold(call * 10 + n))),
    );
    assert.deepEqual(three, [
      [1, 2, 3, 4],
      [11, 12, 13, 14],
      [21, 22, 23, 24],
    ]);
    assert.equal(meter.peak, cpus, `cpus ${cpus}`);
  }
});

test('a sub-task calling the stage’s own context is nested in its lane: no deadlock, depth counted', async () => {
  const meter = gauge();
  const context = nesting(1, 2);
  const results = await context.map([1, 2], (n) =>
    context.map([1, 2], (m, _i, inner) => meter.hold(`${n}.${m}@${inner.depth}`)),
  );
  assert.deepEqual(results, [
    ['1.1@2', '1.2@2'],
    ['2.1@2', '2.2@2'],
  ]);
  assert.equal(meter.peak, 1);
  // Recursion through the captured context ends at the depth limit instead of running forever.
  const recurse = (): Promise<unknown> =>
    context.executeTasks([recurse]).then(([result]) => {
      if (result instanceof Error) throw result;
      return result;
    });
  await assert.rejects(recurse(), { code: 'NESTED_DEPTH_EXCEEDED' });
});
