import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pipeline } from './pipeline.ts';
import { command, stage } from './stage.ts';

const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-api-'));
after(() => rmSync(workspaceRoot, { recursive: true, force: true }));

const rows = stage('rows', async () => [{ word: 'a' }, { word: 'bb' }]);
const count = stage('count', () => 2);

test('inputs arrive typed under their keys, and upstream stages join the pipeline', async () => {
  const lengths = stage('lengths', { deps: { table: rows } }, ({ table }) =>
    table.map((r) => r.word.length),
  );
  const total = stage(
    'total',
    { deps: { lengths, count } },
    ({ lengths, count }) => lengths.reduce((a, b) => a + b, 0) * count,
  );
  const run = await pipeline('typed', [total]).run({ workspaceRoot });
  assert.equal(run.status, 'succeeded');
  assert.deepEqual(Object.keys(run.stages).sort(), ['count', 'lengths', 'rows', 'total']);
  assert.equal(run.stages.total!.output, 6);
});

test('the type checker refuses a stage wired to an upstream of the wrong type', () => {
  // `tsc --noEmit` (part of the test command) checks these lines: each must be an error, or
  // the unused @ts-expect-error fails the type check. They are never run.
  const useText = (input: { text: string }) => input.text.toUpperCase();
  const miswired = () => [
    // @ts-expect-error `count` outputs a number, `useText` wants a string
    stage('wrong', { deps: { text: count } }, useText),
    // @ts-expect-error a number has no `map`
    stage('wrong2', { deps: { n: count } }, ({ n }) => n.map((x: number) => x)),
    // @ts-expect-error argv is an array of strings (or one string with shell: true)
    command('wrong3', { argv: 42 }),
  ];
  assert.equal(typeof miswired, 'function');
  // The right wiring type-checks.
  const ok = stage('ok', { deps: { text: stage('t', () => 'x') } }, useText);
  assert.equal(ok.name, 'ok');
});

test('a command string without shell: true is refused with a clear message', () => {
  assert.throws(() => command('sh', { argv: 'echo hi | wc -c' }), /needs shell: true/);
  assert.throws(() => command('sh', { argv: ['echo', 'hi'], shell: true }), /one command string/);
  assert.equal(command('sh', { argv: 'echo hi | wc -c', shell: true }).spec.task.kind, 'command');
});

test('a fallback function gets the same inputs and stands in for the failed stage', async () => {
  const flaky = stage(
    'flaky',
    { deps: { count }, fallback: ({ count }) => count * 100 },
    ({ count }): number => {
      throw new Error(`cannot use ${count}`);
    },
  );
  const run = await pipeline('fallback', [flaky]).run({ workspaceRoot });
  assert.equal(run.stages.flaky!.output, 200);
  assert.equal(run.stages.flaky!.fallback, 'flaky:fallback');
});

test('durations are accepted as seconds or strings and bad ones are refused', () => {
  assert.equal(stage('t1', { timeout: '1m30s' }, () => 1).spec.timeoutMs, 90_000);
  assert.equal(stage('t2', { timeout: 2 }, () => 1).spec.timeoutMs, 2000);
  assert.throws(
    () => stage('t3', { timeout: 'soon' }, () => 1),
    /timeout must be seconds or a duration/,
  );
});

test('a 100,000-stage chain builds without exhausting the stack, upstream first', () => {
  let last = stage('c0', () => 0);
  for (let i = 1; i < 100_000; i++) last = stage(`c${i}`, { after: [last] }, () => i);
  const names = pipeline('long', [last]).spec.stages.map((s) => s.name);
  assert.equal(names.length, 100_000);
  assert.equal(names[0], 'c0');
  assert.equal(names.at(-1), 'c99999');
});

test('params reach the spec as a frozen copy, and the function as context.params', async () => {
  const given = { n: 3, grid: { lr: [0.1, 0.01] } };
  const seen: unknown[] = [];
  const train = stage('train', { params: given }, (_inputs, context) => {
    seen.push(context.params);
    return (context.params.n as number) * 2;
  });
  const plain = stage('plain', { after: [train] }, (_inputs, context) => {
    seen.push(context.params);
    return null;
  });
  given.n = 4; // too late: the stage keeps what it was made with
  assert.deepStrictEqual(train.spec.params, { n: 3, grid: { lr: [0.1, 0.01] } });
  assert.equal(plain.spec.params, undefined);
  const run = await pipeline('params', [plain]).run({ workspaceRoot });
  assert.equal(run.status, 'succeeded');
  assert.equal(run.stages.train!.output, 6);
  assert.deepStrictEqual(seen, [{ n: 3, grid: { lr: [0.1, 0.01] } }, {}]);
  assert.ok(seen.every((params) => Object.isFrozen(params)));
  assert.ok(Object.isFrozen((seen[0] as { grid: unknown }).grid));
});

test('a command and a fallback take params the same way', () => {
  const cmd = command('cmd', { argv: ['true'], params: { n: 1 } });
  assert.deepStrictEqual(cmd.spec.params, { n: 1 });
  const withFallback = stage('f', { params: { n: 2 }, fallback: () => 0 }, () => 1);
  assert.deepStrictEqual(withFallback.companions[0]?.params, { n: 2 });
});

test('cache: false reaches the spec of a function stage and of a command', () => {
  assert.equal(stage('uncached', { cache: false }, () => 1).spec.cache, false);
  assert.equal(command('uncached_cmd', { argv: ['true'], cache: false }).spec.cache, false);
  assert.equal('cache' in stage('cached', () => 1).spec, false);
});

test('params that are not JSON data are refused, naming the place', () => {
  assert.throws(() => stage('p1', { params: { grid: { lr: [0.1, Number.NaN] } } }, () => 1), {
    code: 'INVALID_STAGE',
    message:
      "stage 'p1': params.grid.lr[1] must be JSON data (a string, a finite number, true/false, null, a list or a plain object), got NaN",
  });
  assert.throws(
    () => stage('p2', { params: { when: new Date(0) } }, () => 1),
    /params\.when .* got a Date$/,
  );
  assert.throws(
    () => stage('p3', { params: { f: () => 1 } }, () => 1),
    /params\.f .* got a function$/,
  );
  assert.throws(
    () => stage('p4', { params: { u: undefined } }, () => 1),
    /params\.u .* got undefined$/,
  );
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.throws(
    () => stage('p5', { params: cycle }, () => 1),
    /params\.self .* got a circular reference$/,
  );
  assert.throws(
    () => stage('p6', { params: [1] as unknown as Record<string, unknown> }, () => 1),
    /stage 'p6': params must be a plain object of JSON values/,
  );
});

test('resources: memory sizes, gpus and a memory limit reach the spec; bad sizes are refused', () => {
  const train = command('train', {
    argv: ['python3', 'train.py'],
    cpus: 2,
    memory: '1.5GiB',
    gpus: 1,
    memoryLimit: 4096,
  });
  assert.deepEqual(
    [train.spec.cpus, train.spec.memoryMb, train.spec.gpus, train.spec.memoryLimitMb],
    [2, 1536, 1, 4096],
  );
  const spec = pipeline('p', [train], { maxMemory: '16GB', maxGpus: 2 }).spec;
  assert.deepEqual([spec.maxMemoryMb, spec.maxGpus], [16384, 2]);
  assert.throws(() => stage('s', { memory: 'lots' }, () => 1), {
    message: `stage 's': memory must be megabytes, or a size like "512MB", "4GB" or "1.5GiB", got "lots"`,
  });
  assert.throws(() => pipeline('p', [train], { maxMemory: '-1GB' }), {
    message: `pipeline 'p': maxMemory must be megabytes, or a size like "512MB", "4GB" or "1.5GiB", got "-1GB"`,
  });
});

test('monitorInterval: milliseconds, false or 0 for off; anything under 10 ms is refused', async () => {
  const only = stage('only', async () => {
    await new Promise((resolve) => setTimeout(resolve, 120));
    return 1;
  });
  assert.equal(pipeline('p', [only], { monitorInterval: 500 }).spec.monitorIntervalMs, 500);
  assert.equal(pipeline('p', [only], { monitorInterval: false }).spec.monitorIntervalMs, 0);
  assert.equal(pipeline('p', [only]).spec.monitorIntervalMs, undefined);
  for (const bad of [5, -1, Number.NaN])
    assert.throws(
      () => pipeline('p', [only], { monitorInterval: bad }),
      /pipeline 'p': monitorInterval must be false or 0 \(off\), or at least 10 ms/,
    );
  // A stage that runs for a few intervals gets the orchestrator's figures in its result.
  const finished: unknown[] = [];
  const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-api-monitor-'));
  const result = await pipeline('p', [only], { monitorInterval: 20 })
    .run({
      workspaceRoot,
      onEvent: (event) => {
        if (event.event === 'stage_finished') finished.push(event.result?.resources);
      },
    })
    .finally(() => rmSync(workspaceRoot, { recursive: true, force: true }));
  assert.equal(result.status, 'succeeded');
  const resources = finished[0] as { source: string; samples: number } | undefined;
  assert.equal(resources?.source, 'orchestrator');
  assert.ok(resources.samples >= 2, `${resources.samples} samples`);
});

test('a concurrency group runs at most its limit of stages at once, and the rest meanwhile', async () => {
  let inGroup = 0;
  let mostInGroup = 0;
  let otherRanWithGroup = false;
  const grouped = ['g1', 'g2', 'g3', 'g4', 'g5'].map((name) =>
    stage(name, { concurrency: { group: 'jobs', limit: 2 }, cpus: 0.5 }, async () => {
      inGroup++;
      mostInGroup = Math.max(mostInGroup, inGroup);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inGroup--;
    }),
  );
  const other = stage('other', { cpus: 0.5 }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    otherRanWithGroup = inGroup > 0;
  });
  const run = await pipeline('grouped', [...grouped, other], { maxCpus: 4 }).run({
    workspaceRoot,
    hostCpus: 4,
  });
  assert.equal(run.status, 'succeeded');
  assert.equal(mostInGroup, 2);
  assert.ok(otherRanWithGroup, 'the stage outside the group waited for the group');
});

test('stages of one concurrency group with different limits are refused', async () => {
  const a = stage('a', { concurrency: { group: 'jobs', limit: 2 } }, () => 1);
  const b = stage('b', { concurrency: { group: 'jobs', limit: 3 } }, () => 2);
  await assert.rejects(pipeline('mismatch', [a, b]).run({ workspaceRoot }), {
    message: /concurrency group 'jobs' has limit 3 here but 2 on stage 'a'/,
  });
});

test('the instances of a mapped stage share its concurrency group', async () => {
  let running = 0;
  let most = 0;
  const items = stage('items', () => [1, 2, 3, 4, 5, 6]);
  const each = stage(
    'each',
    { over: items, concurrency: { group: 'per-item', limit: 2 }, cpus: 0.5 },
    async (_inputs, context) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 10));
      running--;
      return context.item;
    },
  );
  const run = await pipeline('mapped-group', [each], { maxCpus: 4 }).run({
    workspaceRoot,
    hostCpus: 4,
  });
  assert.equal(run.status, 'succeeded');
  assert.deepEqual(run.stages.each!.output, [1, 2, 3, 4, 5, 6]);
  assert.equal(most, 2);
});
