import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validatePipeline } from '../graph/validate.ts';
import type { RunRecord } from '../store/run-store.ts';
import { manifestJson, manifestStages, manifestState } from './run-json.ts';

/** The manifest as objects through JSON.stringify: the text manifestJson writes by hand. */
function reference(run: RunRecord, stages: StageLike[], statuses: Map<string, string>): string {
  const entries = stages.map((stage) => {
    const status = statuses.get(stage.name) ?? 'pending';
    const done = status === 'succeeded' || status === 'cached';
    return {
      name: stage.name,
      status,
      depends_on: stage.dependsOn,
      output: done ? `${stage.name}/output.json` : null,
    };
  });
  const manifest = {
    run_id: run.runId,
    pipeline: run.pipeline,
    status: run.status,
    stages: entries,
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

interface StageLike {
  name: string;
  dependsOn: string[];
}

const run = { runId: 'r"1\\', pipeline: 'p\n', status: 'running' } as RunRecord;

test('manifest.json is the JSON of its objects, byte for byte, whatever the names', () => {
  const statuses = new Map([
    ['load', 'succeeded'],
    ['ünï "code"', 'cached'],
    ['train', 'failed'],
  ]);
  const shapes: StageLike[][] = [
    [],
    [{ name: 'load', dependsOn: [] }],
    [
      { name: 'load', dependsOn: [] },
      { name: 'ünï "code"', dependsOn: ['load'] },
      { name: 'train', dependsOn: ['load', 'ünï "code"'] },
      { name: 'report', dependsOn: ['train'] },
    ],
  ];
  for (const stages of shapes) {
    const checked = validatePipeline(
      {
        name: 'p',
        stages: stages.map((s) => ({ ...s, cpus: 1, task: { kind: 'inline' }, run: () => 0 })),
        mode: 'parallel',
        failurePolicy: 'fail_fast',
      },
      2,
    );
    assert.ok('pipeline' in checked);
    const state = manifestState(run, checked.pipeline.graph.names, (name) => statuses.get(name));
    assert.equal(
      manifestJson(manifestStages(checked.pipeline), state),
      reference(run, stages, statuses),
    );
  }
});
