import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NonRetryableError, PipelineError } from '../errors.ts';
import { InlineExecutor } from '../executors/inline.ts';
import type { PipelineSpec, RetryPolicy, StageSpec } from '../graph/pipeline.ts';
import { ManualClock } from './clock.ts';
import { type RunOptions, runPipeline } from './engine.ts';
import type { RunEvent } from './events.ts';

const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-engine-'));
after(() => rmSync(workspaceRoot, { recursive: true, force: true }));

function inline(
  name: string,
  dependsOn: string[],
  run: (inputs: never, ctx: never) => unknown,
  extra: Partial<StageSpec> = {},
): StageSpec {
  return { name, dependsOn, cpus: 1, task: { kind: 'inline' }, run, ...extra };
}

function specOf(stages: StageSpec[], extra: Partial<PipelineSpec> = {}): PipelineSpec {
  return {
    name: 'test',
    stages,
    mode: 'parallel',
    failurePolicy: 'fail_fast',
    maxCpus: 2,
    ...extra,
  };
}

function start(spec: PipelineSpec, options: Partial<RunOptions> = {}) {
  const events: RunEvent[] = [];
  const functions = new Map(spec.stages.filter((s) => s.run).map((s) => [s.name, s.run!]));
  const inlineExecutor = new InlineExecutor(functions);
  const result = runPipeline(spec, {
    workspaceRoot,
    executors: { inline: inlineExecutor },
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { events, result };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const retry = (policy: Partial<RetryPolicy>): RetryPolicy => ({
  maxAttempts: 3,
  backoff: 'exponential',
  delayMs: 1000,
  maxDelayMs: 60_000,
  jitter: 0,
  ...policy,
});

test('outputs flow downstream and the run succeeds', async () => {
  const spec = specOf([
    inline('a', [], () => 2),
    inline('b', ['a'], ({ a }: { a: number }) => a * 10),
    inline('c', ['a', 'b'], (_: never, ctx: { getResult(n: string): unknown }) => [
      ctx.getResult('a'),
      ctx.getResult('b'),
    ]),
  ]);
  const { result, events } = start(spec);
  const run = await result;
  assert.equal(run.status, 'succeeded');
  assert.deepEqual(run.stages.c!.output, [2, 20]);
  assert.equal(events.at(-1)!.event, 'run_finished');
});

test('getResult throws for a stage that is not a dependency', async () => {
  const spec = specOf([
    inline('a', [], () => 1),
    inline('b', [], () => 2),
    inline('c', ['a'], (_: never, ctx: { getResult(n: string): unknown }) => ctx.getResult('b')),
  ]);
  const run = await start(spec).result;
  assert.equal(run.stages.c!.status, 'failed');
  assert.equal(run.stages.c!.error!.code, 'DEPENDENCY_NOT_FOUND');
  assert.match(run.stages.c!.error!.message, /does not depend on 'b' \(its dependencies: a\)/);
});

test('retries wait the exponential backoff on the injected clock', async () => {
  const clock = new ManualClock(0);
  let calls = 0;
  const spec = specOf([
    inline(
      'flaky',
      [],
      () => {
        calls++;
        if (calls < 3) throw new PipelineError('CONNECTION', `try ${calls}`);
        return 'ok';
      },
      { retry: retry({ delayMs: 1000 }) },
    ),
  ]);
  const { result, events } = start(spec, { clock, random: () => 0.5 });
  await settle();
  assert.equal(calls, 1);
  assert.deepEqual(clock.pending, [1000]);
  clock.advance(999);
  await settle();
  assert.equal(calls, 1, 'no attempt before the delay is over');
  clock.advance(1);
  await settle();
  assert.equal(calls, 2);
  assert.deepEqual(clock.pending, [3000], 'second delay doubles: 1000 + 2000');
  clock.advance(2000);
  const run = await result;
  assert.equal(calls, 3);
  assert.equal(run.stages.flaky!.status, 'succeeded');
  assert.equal(run.stages.flaky!.attempts, 3);
  const retries = events.filter((e) => e.event === 'stage_retrying');
  assert.deepEqual(
    retries.map((e) => [e.attempt, 'delayMs' in e && e.delayMs]),
    [
      [1, 1000],
      [2, 2000],
    ],
  );
});

test('fixed backoff with jitter stays within its spread', async () => {
  const clock = new ManualClock(0);
  const spec = specOf([
    inline(
      'always',
      [],
      () => {
        throw new Error('no');
      },
      { retry: retry({ backoff: 'fixed', delayMs: 1000, jitter: 0.2, maxAttempts: 2 }) },
    ),
  ]);
  const { result } = start(spec, { clock, random: () => 0.99 });
  await settle();
  assert.deepEqual(clock.pending, [1196]); // 1000 · (1 + 0.2 · (2 · 0.99 − 1))
  clock.advance(1196);
  const run = await result;
  assert.equal(run.stages.always!.attempts, 2);
  assert.equal(run.status, 'failed');
});

test('retryOn retries only the listed codes; NonRetryableError never retries', async () => {
  const clock = new ManualClock(0);
  let wrongCode = 0;
  let nonRetryable = 0;
  const spec = specOf(
    [
      inline(
        'wrong_code',
        [],
        () => {
          wrongCode++;
          throw new PipelineError('BAD_INPUT', 'bad');
        },
        { retry: retry({ retryOn: ['CONNECTION'] }) },
      ),
      inline(
        'gives_up',
        [],
        () => {
          nonRetryable++;
          throw new NonRetryableError('stop');
        },
        { retry: retry({}) },
      ),
    ],
    { failurePolicy: 'collect_all' },
  );
  const run = await start(spec, { clock }).result;
  assert.equal(wrongCode, 1);
  assert.equal(nonRetryable, 1);
  assert.equal(run.stages.gives_up!.error!.code, 'NON_RETRYABLE');
});

test('a timeout aborts an inline stage through its signal', async () => {
  const clock = new ManualClock(0);
  let sawAbort = false;
  const spec = specOf([
    inline(
      'slow',
      [],
      (_: never, ctx: { signal: AbortSignal }) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(ctx.signal.reason);
          });
        }),
      { timeoutMs: 5000 },
    ),
  ]);
  const { result } = start(spec, { clock });
  await settle();
  clock.advance(5000);
  const run = await result;
  assert.ok(sawAbort);
  assert.equal(run.stages.slow!.status, 'failed');
  assert.equal(run.stages.slow!.error!.code, 'TIMEOUT');
  assert.match(run.stages.slow!.error!.message, /timed out after 5 s/);
});

test('a timeout ends an inline stage that ignores its signal', async () => {
  const clock = new ManualClock(0);
  const spec = specOf([inline('stuck', [], () => new Promise(() => {}), { timeoutMs: 100 })]);
  const { result } = start(spec, { clock });
  await settle();
  clock.advance(100);
  assert.equal((await result).stages.stuck!.error!.code, 'TIMEOUT');
});

test("a fallback's output stands in for a stage that failed all its attempts", async () => {
  const clock = new ManualClock(0);
  const spec = specOf([
    inline('source', [], () => 21),
    inline(
      'primary',
      ['source'],
      () => {
        throw new Error('primary broke');
      },
      { fallback: 'backup', retry: retry({ maxAttempts: 2, delayMs: 10 }) },
    ),
    inline('backup', [], ({ source }: { source: number }) => source * 2),
    inline('consumer', ['primary'], ({ primary }: { primary: number }) => primary + 1),
  ]);
  const { result, events } = start(spec, { clock });
  await settle();
  clock.advance(10);
  const run = await result;
  assert.equal(run.status, 'succeeded');
  assert.equal(run.stages.primary!.status, 'succeeded');
  assert.equal(run.stages.primary!.fallback, 'backup');
  assert.equal(run.stages.primary!.output, 42);
  assert.equal(run.stages.consumer!.output, 43);
  assert.equal(run.stages.backup, undefined, 'a fallback is not scheduled on its own');
  const fallbackEvent = events.find((e) => e.event === 'stage_fallback');
  assert.ok(fallbackEvent && fallbackEvent.event === 'stage_fallback');
  assert.equal(fallbackEvent.attempt, 2);
  assert.equal(fallbackEvent.error.message, 'primary broke');
});

test('never hangs when a stage with dependents fails (both policies)', async () => {
  for (const failurePolicy of ['fail_fast', 'collect_all'] as const) {
    const spec = specOf(
      [
        inline('root', [], () => {
          throw new Error('boom');
        }),
        inline('child', ['root'], () => 1),
        inline('grandchild', ['child'], () => 1),
        inline('independent', [], () => 'done'),
      ],
      { failurePolicy, maxCpus: 1 },
    );
    const run = await start(spec).result;
    assert.equal(run.status, 'failed');
    assert.equal(run.stages.child!.status, 'upstream_failed');
    assert.equal(run.stages.grandchild!.status, 'upstream_failed');
    // root runs first (longest path); under fail_fast nothing starts after it fails.
    assert.equal(
      run.stages.independent!.status,
      failurePolicy === 'fail_fast' ? 'cancelled' : 'succeeded',
    );
  }
});

test('fail_fast ends running stages through their signal', async () => {
  let aborted = false;
  const spec = specOf([
    inline(
      'long',
      [],
      (_: never, ctx: { signal: AbortSignal }) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(ctx.signal.reason);
          }),
        ),
    ),
    inline('bad', [], async () => {
      await settle();
      throw new Error('bad');
    }),
  ]);
  const run = await start(spec).result;
  assert.ok(aborted);
  assert.equal(run.stages.long!.status, 'cancelled');
  assert.equal(run.stages.bad!.status, 'failed');
});

test('cancelling the run ends running stages and cancels the rest', async () => {
  const controller = new AbortController();
  const spec = specOf([
    inline(
      'running',
      [],
      (_: never, ctx: { signal: AbortSignal }) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        ),
    ),
    inline('later', ['running'], () => 1),
  ]);
  const { result, events } = start(spec, { signal: controller.signal });
  await settle();
  controller.abort();
  const run = await result;
  assert.equal(run.status, 'cancelled');
  assert.equal(run.stages.running!.status, 'cancelled');
  assert.equal(run.stages.later!.status, 'cancelled');
  const finished = events.filter((e) => e.event === 'stage_finished').map((e) => e.stage);
  assert.deepEqual(finished.sort(), ['later', 'running']);
});

test('an invalid pipeline is refused before anything runs', async () => {
  let ran = false;
  const spec = specOf([
    inline('a', ['b'], () => {
      ran = true;
    }),
    inline('b', ['a'], () => 1),
    inline('big', [], () => 1, { cpus: 3 }),
  ]);
  await assert.rejects(
    runPipeline(spec, { executors: {}, workspaceRoot }),
    (error: Error & { issues?: unknown[] }) => {
      assert.equal(error.issues?.length, 2);
      assert.match(error.message, /dependency cycle: a → b → a/);
      assert.match(error.message, /requests 3 cpus but the pipeline allows at most 2/);
      return true;
    },
  );
  assert.equal(ran, false);
});

test('the event stream reports each stage once with its final status', async () => {
  const spec = specOf(
    [
      inline('a', [], () => 1),
      inline('b', ['a'], () => {
        throw new Error('x');
      }),
      inline('c', ['b'], () => 1),
    ],
    { failurePolicy: 'collect_all' },
  );
  const { result, events } = start(spec, { runId: 'fixed_run' });
  await result;
  const shape = events.map((e) =>
    e.event === 'stage_finished'
      ? `${e.stage}:${e.status}`
      : e.event === 'stage_started'
        ? `${e.stage}:start`
        : e.event,
  );
  assert.deepEqual(shape, [
    'run_started',
    'a:start',
    'a:succeeded',
    'b:start',
    'b:failed',
    'c:upstream_failed',
    'run_finished',
  ]);
  const last = events.at(-1)!;
  assert.ok(last.event === 'run_finished');
  assert.deepEqual(last, {
    event: 'run_finished',
    runId: 'fixed_run',
    status: 'failed',
    stages: { a: 'succeeded', b: 'failed', c: 'upstream_failed' },
    ts: last.ts,
  });
});
