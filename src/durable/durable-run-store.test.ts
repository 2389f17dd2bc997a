import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeError } from '../cli/describe-error.ts';
import { PipelineError } from '../errors.ts';
import { createExecutors } from '../executors/default-executors.ts';
import type { PipelineSpec } from '../graph/pipeline.ts';
import { validatePipeline } from '../graph/validate.ts';
import type { RunStore } from '../store/run-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { runDurable } from './durable-run.ts';

/** `store`, whose every write rejects with `refusal`. */
function refusingWrites(store: RunStore, refusal: Error): RunStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'append' || key === 'appendResources') return () => Promise.reject(refusal);
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const describeOptions = { program: 'gpipe', cwd: '/', debug: false };

test('a run whose store refuses its first write starts no stage and exits 5', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-refused-'));
  const store = await openSqliteStore(':memory:');
  let ran = 0;
  try {
    const spec = {
      name: 'p',
      stages: [
        {
          name: 'load',
          dependsOn: [],
          cpus: 1,
          task: { kind: 'inline' },
          run: () => {
            ran++;
            return 1;
          },
        },
      ],
      mode: 'parallel',
      failurePolicy: 'fail_fast',
    } as PipelineSpec;
    const checked = validatePipeline(spec, 2);
    assert.ok('pipeline' in checked);
    const refusal = new PipelineError(
      'ENV_STORE_REFUSED',
      '/w/.gpipe/state.db-shm: permission denied (attempt to write a readonly database)',
    );
    const failure = await runDurable({
      pipeline: checked.pipeline,
      workspaceRoot: dir,
      executors: createExecutors(spec),
      store: refusingWrites(store, refusal),
    }).then(
      () => assert.fail('the run went on'),
      (error: PipelineError) => error,
    );
    assert.equal(ran, 0, 'no stage ran');
    assert.equal(failure.code, 'STORE_FAILED');
    assert.equal(failure.cause, refusal);
    assert.equal(existsSync(join(dir, '.gpipe')), false, 'no run directory, no latest link');
    assert.deepEqual(describeError(failure, describeOptions), {
      exitCode: 5,
      lines: [
        'gpipe: the run store cannot be written, so the run did not start: /w/.gpipe/state.db-shm: permission denied (attempt to write a readonly database)',
      ],
    });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store failure exits 5 when the machine refused, 1 otherwise', () => {
  const failed = (code: string) =>
    describeError(
      new PipelineError('STORE_FAILED', 'the run store failed: …', {
        cause: new PipelineError(code, '…'),
      }),
      describeOptions,
    ).exitCode;
  for (const code of ['ENV_STORE_REFUSED', 'SQLITE_READONLY', 'SQLITE_FULL', 'SQLITE_IOERR_FSYNC'])
    assert.equal(failed(code), 5, code);
  for (const code of ['SQLITE_BUSY', 'STORE_UNKNOWN_RUN', 'STORE_INVALID_WRITE'])
    assert.equal(failed(code), 1, code);
  const writerDied = new PipelineError('STORE_WRITER', "the run store's writer thread failed", {
    cause: Object.assign(new Error('too many open files'), { code: 'EMFILE' }),
  });
  assert.equal(describeError(writerDied, describeOptions).exitCode, 5);
  assert.equal(
    describeError(new PipelineError('STORE_WRITER', 'exited (code 1)'), describeOptions).exitCode,
    1,
  );
});
