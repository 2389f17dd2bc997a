import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chain, inlinePipelineOf } from '../../bench/dags.ts';
import { runRecord } from '../../test/store-records.ts';
import { createExecutors } from '../executors/default-executors.ts';
import { validatePipeline } from '../graph/validate.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { runDurable } from './durable-run.ts';
import { RunRecorder } from './recorder.ts';
import { RunFiles } from './run-files.ts';

test('an attempt that failed without a result of its own starts when its stage_started said', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-recorder-'));
  const store = await openSqliteStore(join(dir, 'state.db'));
  const files = new RunFiles();
  try {
    const checked = validatePipeline(
      {
        name: 'p',
        stages: [{ name: 'load', dependsOn: [], cpus: 1, task: { kind: 'inline' }, run: () => 1 }],
        mode: 'parallel',
        failurePolicy: 'fail_fast',
      },
      2,
    );
    assert.ok('pipeline' in checked);
    const run = runRecord('r1', { runDir: join(dir, 'r1'), stages: ['load'] });
    const recorder = new RunRecorder({
      store,
      files,
      pipeline: checked.pipeline,
      run,
      host: 'host-a',
      outputHashes: new Map(),
      reused: new Map(),
      onStoreError: (error) => assert.fail(error),
    });
    const error = { code: 'TIMEOUT', message: 'timed out' };
    recorder.record({ event: 'run_started', runId: 'r1', ts: 900 } as never);
    recorder.record({ event: 'stage_started', stage: 'load', attempt: 1, ts: 1_000 });
    recorder.record({
      event: 'stage_retrying',
      stage: 'load',
      attempt: 1,
      ts: 1_500,
      error,
      delayMs: 0,
    } as never);
    recorder.record({ event: 'stage_started', stage: 'load[0]', attempt: 1, ts: 1_600 });
    recorder.record({
      event: 'stage_retrying',
      stage: 'load[0]',
      attempt: 1,
      ts: 1_700,
      error,
      delayMs: 0,
    } as never);
    await recorder.drain();
    const attempts = await store.latestAttempts('r1');
    assert.deepEqual(
      attempts.map((a) => [a.stage, a.status, a.startedAt, a.endedAt, a.errorCode]),
      [
        ['load', 'failed', 1_000, 1_500, 'TIMEOUT'],
        ['load[0]', 'failed', 1_600, 1_700, 'TIMEOUT'],
      ],
    );
  } finally {
    await files.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a burst of in-process stages has its commits announced while it runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-recorder-'));
  try {
    // The first stage waits on a timer, so that the writer thread is up; then 4,000 stages
    // settle in microtasks. Each commit is announced only when the main thread gets a turn.
    const n = 4_000;
    let finishedAnnounced = 0;
    let announcedAtLastStart = -1;
    const spec = inlinePipelineOf(
      chain(n),
      (i) =>
        i === 0
          ? () => sleep(200).then(() => 0)
          : () => {
              if (i === n - 1) announcedAtLastStart = finishedAnnounced;
              return i;
            },
      2,
    );
    const checked = validatePipeline(spec, 2);
    assert.ok('pipeline' in checked);
    const result = await runDurable({
      pipeline: checked.pipeline,
      workspaceRoot: dir,
      executors: createExecutors(spec),
      cache: false,
      onEvent: (event) => {
        if (event.event === 'stage_finished' && event.stage !== 's0') finishedAnnounced++;
      },
    });
    assert.equal(result.status, 'succeeded');
    assert.equal(finishedAnnounced, n - 1);
    assert.ok(
      announcedAtLastStart > 0,
      `${announcedAtLastStart} finishes of the burst were announced when its last stage started`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
