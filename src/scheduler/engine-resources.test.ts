import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { InlineExecutor } from '../executors/inline.ts';
import type { StageContext } from '../executors/stage-context.ts';
import type { PipelineSpec, StageSpec } from '../graph/pipeline.ts';
import { runPipeline } from './engine.ts';

const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-engine-resources-'));
after(() => rmSync(workspaceRoot, { recursive: true, force: true }));

interface Seen {
  gpuIds: readonly number[];
  cuda: string | undefined;
  memoryMb: number;
  running: string[];
}

/** Inline stages that record what their context says and which stages run beside them. */
function recordingPipeline(
  requests: Record<string, Partial<StageSpec>>,
  extra: Partial<PipelineSpec> = {},
) {
  const seen = new Map<string, Seen>();
  const running = new Set<string>();
  const stages: StageSpec[] = Object.entries(requests).map(([name, request]) => ({
    name,
    dependsOn: [],
    cpus: 0,
    task: { kind: 'inline' },
    ...request,
    run: (async (_: unknown, context: StageContext) => {
      running.add(name);
      seen.set(name, {
        gpuIds: context.gpuIds,
        cuda: context.cudaVisibleDevices,
        memoryMb: context.resources.memoryMb,
        running: [...running].sort(),
      });
      // Two turns of the event loop: every stage that may start beside this one has started.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      running.delete(name);
    }) as StageSpec['run'],
  }));
  const spec: PipelineSpec = {
    name: 'resources',
    stages,
    mode: 'parallel',
    failurePolicy: 'fail_fast',
    ...extra,
  };
  const functions = new Map(stages.map((s) => [s.name, s.run!]));
  return { spec, seen, executors: { inline: new InlineExecutor(functions) } };
}

test('stages get their GPU lease in the context; a stage asking for none sees none', async () => {
  const { spec, seen, executors } = recordingPipeline({
    one: { gpus: 1 },
    two: { gpus: 1 },
    both: { gpus: 2, dependsOn: [] },
    none: {},
  });
  const result = await runPipeline(spec, {
    executors,
    workspaceRoot,
    hostCpus: 4,
    hostGpuIds: [3, 5],
  });
  assert.equal(result.status, 'succeeded');
  assert.deepEqual(seen.get('one')?.gpuIds, [3]);
  assert.deepEqual(seen.get('two')?.gpuIds, [5]);
  assert.equal(seen.get('two')?.cuda, '5');
  assert.deepEqual(seen.get('both')?.gpuIds, [3, 5]);
  assert.equal(seen.get('both')?.cuda, '3,5');
  assert.ok(seen.get('two')?.running.includes('one'), 'one and two ran together');
  assert.ok(
    !seen.get('both')?.running.includes('one') && !seen.get('both')?.running.includes('two'),
  );
  assert.deepEqual(seen.get('none')?.gpuIds, []);
  assert.equal(seen.get('none')?.cuda, '');
});

test('without GPU requests the run leases none and leaves CUDA_VISIBLE_DEVICES alone', async () => {
  const { spec, seen, executors } = recordingPipeline({ a: { memoryMb: 100 } });
  const result = await runPipeline(spec, { executors, workspaceRoot, hostGpuIds: [0] });
  assert.equal(result.status, 'succeeded');
  assert.equal(seen.get('a')?.cuda, undefined);
  assert.deepEqual(seen.get('a')?.gpuIds, []);
  assert.equal(seen.get('a')?.memoryMb, 100);
});

test('memory reservations: stages of 60% each never run together', async () => {
  const { spec, seen, executors } = recordingPipeline(
    { a: { memoryMb: 600 }, b: { memoryMb: 600 }, c: { memoryMb: 600 }, small: { memoryMb: 400 } },
    { maxMemoryMb: 1000 },
  );
  const result = await runPipeline(spec, { executors, workspaceRoot, hostCpus: 8 });
  assert.equal(result.status, 'succeeded');
  for (const name of ['a', 'b', 'c']) {
    const beside = seen.get(name)!.running.filter((other) => other !== name && other !== 'small');
    assert.deepEqual(beside, [], `${name} ran beside ${beside.join(', ')}`);
  }
});

test('a request above the pool is refused before anything runs', async () => {
  const { spec, seen, executors } = recordingPipeline({ greedy: { gpus: 2 } }, { maxGpus: 1 });
  await assert.rejects(runPipeline(spec, { executors, workspaceRoot, hostGpuIds: [0, 1] }), {
    code: 'CONFIG_INVALID',
    message:
      "module 'greedy': requests 2 GPUs but the pipeline allows at most 1 (max_gpus) (hint: lower its gpus)",
  });
  assert.equal(seen.size, 0);
});
