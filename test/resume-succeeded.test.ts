/**
 * `gpipe resume` of a run that succeeded: nothing to resume, and nothing changes (its history
 * is not rewritten); the engine refuses it too. And a dry run counts its stages in good English.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findRunToResume } from '../src/durable/run-lookup.ts';
import type { ValidPipeline } from '../src/graph/validate.ts';
import type { RunRecord, RunStore } from '../src/store/run-store.ts';
import {
  assertUnchanged,
  durableWorkspaces,
  expectExit,
  InvocationWatch,
  runFinished,
  snapshot,
} from './fixtures/durable/durable-harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const spaces = durableWorkspaces();

test('resume of a run that succeeded says so, exits 0 and changes nothing', async () => {
  const cwd = spaces.make(['flow.yaml']);
  const invoked = new InvocationWatch(cwd);
  const { runId } = runFinished((await expectExit(0, ['run', 'flow.yaml', '--json'], cwd)).stdout);
  invoked.since();
  const status = (await expectExit(0, ['status', runId, '--json'], cwd)).stdout;
  const before = snapshot(cwd);
  // One at a time: see `snapshot` on SQLite's -wal and -shm files.
  for (const args of [
    ['resume', runId],
    ['resume', runId, '--file', 'flow.yaml'],
    ['resume', runId, '--dry-run'],
  ]) {
    const resumed = await expectExit(0, args, cwd);
    assert.equal(resumed.stdout, `run ${runId} already succeeded: nothing to resume\n`);
    assert.equal(resumed.stderr, '');
  }
  assertUnchanged(cwd, before, 'resuming a run that succeeded');
  assert.equal((await expectExit(0, ['status', runId, '--json'], cwd)).stdout, status);
  assert.deepEqual(invoked.since(), [], 'nothing ran');
});

test('the engine refuses to resume a run that succeeded', async () => {
  const run = { runId: 'r1', pipeline: 'flow', status: 'succeeded' } as RunRecord;
  const store = { getRun: async (id: string) => (id === 'r1' ? run : undefined) } as RunStore;
  const pipeline = { spec: { name: 'flow' } } as ValidPipeline;
  await assert.rejects(findRunToResume(store, pipeline, { resume: 'r1' }), {
    code: 'INPUT_INVALID',
    message: 'run r1 already succeeded: nothing to resume',
  });
});

test('a dry run of one stage counts "1 stage"', async () => {
  const cwd = spaces.make([], {
    'one.yaml': yamlPipeline('one', ['- name: only', '  command: [true]']),
  });
  const { stdout } = await expectExit(0, ['run', 'one.yaml', '--dry-run'], cwd);
  assert.equal(
    stdout.trimEnd().split('\n').at(-1),
    '1 stage: 1 to run, 0 reused, 0 from the cache, 0 left out',
  );
});
