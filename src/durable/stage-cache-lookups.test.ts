import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createExecutors } from '../executors/default-executors.ts';
import type { PipelineSpec, StageSpec } from '../graph/pipeline.ts';
import { type ValidPipeline, validatePipeline } from '../graph/validate.ts';
import { runDurable } from './durable-run.ts';

// A run that runs more than a thousand stages reads every key of its pipeline at the start;
// one that runs fewer (a small pipeline, a selection, a resume) asks the store key by key.
// Both must find the same entries.

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** `size` stages, each after the one `width` before it; `calls[i]` counts stage i's runs. */
function pipelineOf(size: number, width: number, calls: number[]): ValidPipeline {
  const stages: StageSpec[] = [];
  for (let i = 0; i < size; i++) {
    stages.push({
      name: `s${i}`,
      dependsOn: i >= width ? [`s${i - width}`] : [],
      cpus: 1,
      task: { kind: 'inline' },
      run: () => {
        calls[i] = (calls[i] ?? 0) + 1;
        return { i };
      },
    });
  }
  const spec: PipelineSpec = { name: 'p', stages, mode: 'parallel', failurePolicy: 'fail_fast' };
  const checked = validatePipeline(spec, 2);
  assert.ok('pipeline' in checked);
  return checked.pipeline;
}

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gp-cache-lookups-'));
  dirs.push(dir);
  return dir;
}

for (const size of [1200, 3]) {
  test(`a second run of ${size} stages takes every output from the cache`, async () => {
    const calls: number[] = [];
    const pipeline = pipelineOf(size, 100, calls);
    const dir = workspace();
    const executors = createExecutors(pipeline.spec);
    const first = await runDurable({ pipeline, workspaceRoot: dir, executors });
    assert.equal(first.status, 'succeeded');
    const again = await runDurable({ pipeline, workspaceRoot: dir, executors });
    assert.equal(again.status, 'succeeded');
    const statuses = new Set(Object.values(again.stages).map((stage) => stage.status));
    assert.deepEqual([...statuses], ['cached']);
    assert.deepEqual(again.stages[`s${size - 1}`]!.output, { i: size - 1 });
    assert.equal(calls.length, size);
    assert.ok(
      calls.every((count) => count === 1),
      'each stage ran once',
    );
  });
}

test('a selection of a few stages among many finds their entries key by key', async () => {
  const calls: number[] = [];
  const pipeline = pipelineOf(1200, 100, calls);
  const dir = workspace();
  const executors = createExecutors(pipeline.spec);
  await runDurable({ pipeline, workspaceRoot: dir, executors });
  const selected = await runDurable({
    pipeline,
    workspaceRoot: dir,
    executors,
    selection: { stage: 's1150' },
  });
  assert.equal(selected.status, 'succeeded');
  assert.equal(selected.stages.s1150!.status, 'cached');
  assert.equal(selected.stages.s1050!.status, 'cached', 'its upstream is reused');
  assert.equal(selected.stages.s1!.status, 'skipped');
  assert.equal(calls[1150], 1, 'it did not run again');
});
