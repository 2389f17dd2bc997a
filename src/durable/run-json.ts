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

/** The stages of a manifest, as the run-files worker gets them once per run (cheap to clone). */
export interface ManifestStages {
  names: readonly string[];
  /** What each stage depends on, by index: `upstream[upstreamStart[i] .. upstreamStart[i + 1])`. */
  upstreamStart: Int32Array;
  upstream: Int32Array;
}

/** A manifest's run and the status of each stage: `labels[codes[i]]`, or pending for 0xff. */
export interface ManifestState {
  runId: string;
  pipeline: string;
  status: string;
  labels: readonly string[];
  codes: Uint8Array;
}

/** The stage table of a validated pipeline: its graph's, which keeps each `dependsOn` order. */
export function manifestStages(pipeline: ValidPipeline): ManifestStages {
  const { names, upstreamStart, upstream } = pipeline.graph;
  return { names, upstreamStart, upstream };
}

/** Status codes by stage index for `manifestJson`, from statuses by name (absent: pending). */
export function manifestState(
  run: RunRecord,
  names: readonly string[],
  statusOf: (name: string) => string | undefined,
): ManifestState {
  const labels: string[] = [];
  const codes = new Uint8Array(names.length).fill(0xff);
  for (let i = 0; i < names.length; i++) {
    const status = statusOf(names[i]!);
    if (status === undefined) continue;
    let code = labels.indexOf(status);
    if (code < 0) code = labels.push(status) - 1;
    codes[i] = code;
  }
  return { runId: run.runId, pipeline: run.pipeline, status: run.status, labels, codes };
}

/**
 * `manifest.json`: every stage, what it depends on, its status and where its output is.
 * Written out directly rather than through objects and JSON.stringify, in the run-files
 * worker: a run of 100,000 stages writes it before its first stage starts. The text is what
 * JSON.stringify(…, null, 2) would make of the same objects.
 */
export function manifestJson(stages: ManifestStages, state: ManifestState): string {
  const q = JSON.stringify;
  let text = `{\n  "run_id": ${q(state.runId)},\n  "pipeline": ${q(state.pipeline)},\n  "status": ${q(state.status)},\n  "stages": [`;
  const { names, upstreamStart, upstream } = stages;
  const quoted = names.map((name) => q(name));
  const labels = state.labels.map((label) => q(label));
  for (let i = 0; i < names.length; i++) {
    const code = state.codes[i]!;
    const status = code === 0xff ? 'pending' : state.labels[code]!;
    const done = status === 'succeeded' || status === 'cached';
    let dependsOn = '[]';
    const from = upstreamStart[i]!;
    const to = upstreamStart[i + 1]!;
    if (to > from) {
      dependsOn = '[';
      for (let e = from; e < to; e++)
        dependsOn += `${e === from ? '' : ','}\n        ${quoted[upstream[e]!]}`;
      dependsOn += '\n      ]';
    }
    const shown = code === 0xff ? '"pending"' : labels[code];
    text += `${i === 0 ? '' : ','}\n    {\n      "name": ${quoted[i]},\n      "status": ${shown},\n      "depends_on": ${dependsOn},\n      "output": ${done ? q(`${names[i]}/output.json`) : 'null'}\n    }`;
  }
  text += names.length === 0 ? ']\n}\n' : '\n  ]\n}\n';
  return text;
}
