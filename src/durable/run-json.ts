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

/** `manifest.json`: every stage, what it depends on, its status and where its output is. */
export function manifestJson(
  run: RunRecord,
  pipeline: ValidPipeline,
  statuses: ReadonlyMap<string, string>,
): string {
  const stages = pipeline.stages.map((stage) => {
    const status = statuses.get(stage.name) ?? 'pending';
    const done = status === 'succeeded' || status === 'cached';
    return {
      name: stage.name,
      status,
      depends_on: stage.dependsOn,
      output: done ? `${stage.name}/output.json` : null,
    };
  });
  return `${JSON.stringify(
    { run_id: run.runId, pipeline: run.pipeline, status: run.status, stages },
    null,
    2,
  )}\n`;
}
