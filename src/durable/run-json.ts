import type { ValidPipeline } from '../graph/validate.ts';
import type { RunRecord } from '../store/run-store.ts';

/** `run.json`: the run's metadata (SPEC C4). */
export function runJson(run: RunRecord): string {
  const ended = run.endedAt;
  return `${JSON.stringify(
    {
      run_id: run.runId,
      pipeline: run.pipeline,
      source: run.source ?? null,
      status: run.status,
      started_at: new Date(run.startedAt).toISOString(),
      ended_at: ended === undefined ? null : new Date(ended).toISOString(),
      duration_seconds: ended === undefined ? null : (ended - run.startedAt) / 1000,
      host: run.host,
      pid: run.pid,
      stages: run.stages.length,
      options: run.options ?? {},
    },
    null,
    2,
  )}\n`;
}

/**
 * `manifest.json`: every stage, what it depends on, its status and where its output is.
 * Written out directly rather than through objects and JSON.stringify: a resume of 100,000
 * stages writes it before its first stage starts. The text is what JSON.stringify(…, null, 2)
 * would make of the same objects.
 */
export function manifestJson(
  run: RunRecord,
  pipeline: ValidPipeline,
  statuses: ReadonlyMap<string, string>,
): string {
  const q = JSON.stringify;
  let text = `{\n  "run_id": ${q(run.runId)},\n  "pipeline": ${q(run.pipeline)},\n  "status": ${q(run.status)},\n  "stages": [`;
  const stages = pipeline.stages;
  for (let i = 0; i < stages.length; i++) {
    const stage = stages[i]!;
    const name = q(stage.name);
    const status = statuses.get(stage.name) ?? 'pending';
    const done = status === 'succeeded' || status === 'cached';
    const deps = stage.dependsOn;
    let dependsOn = '[]';
    if (deps.length > 0) {
      dependsOn = '[';
      for (let d = 0; d < deps.length; d++)
        dependsOn += `${d === 0 ? '' : ','}\n        ${q(deps[d])}`;
      dependsOn += '\n      ]';
    }
    text += `${i === 0 ? '' : ','}\n    {\n      "name": ${name},\n      "status": ${q(status)},\n      "depends_on": ${dependsOn},\n      "output": ${done ? q(`${stage.name}/output.json`) : 'null'}\n    }`;
  }
  text += stages.length === 0 ? ']\n}\n' : '\n  ]\n}\n';
  return text;
}
