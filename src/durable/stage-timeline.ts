/**
 * What the end of a run reports per stage: status, wall time, attempts, whether the cache
 * served it, and what it used; and the critical path, the longest chain of the run by the
 * stages' actual durations. Built from the run's events.
 */
import { type StageStatus, stageStatuses } from '../graph/pipeline.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { ResourceSummary } from '../monitor/resource-sample.ts';
import type { RunEvent } from '../scheduler/events.ts';

export interface StageTiming {
  stage: string;
  status: StageStatus;
  /** From its first start to its end in this run; absent when nothing ran now. */
  durationMs?: number;
  /** Its output came from the cache: nothing ran. */
  cached: boolean;
  /** Its output came from an earlier run (a resume, `--stage`): nothing ran. */
  reused?: boolean;
  /** What its latest attempt used, when the monitor watched it. */
  resources?: ResourceSummary;
}

export interface RunReport {
  /** In declaration order. */
  stages: StageTiming[];
  criticalPath: { stages: string[]; ms: number };
}

interface Seen {
  startedAt?: number;
  endedAt?: number;
  status?: StageStatus;
  reused?: boolean;
  resources?: ResourceSummary;
}

/** Stage statuses as small numbers, so that the timeline holds no object per stage. */
const statusCodes: readonly (StageStatus | undefined)[] = [undefined, ...stageStatuses];
const codeOf = new Map(statusCodes.map((status, code) => [status, code]));

/**
 * A run's stage events, kept in columns by graph index: a 100,000-stage run holds a handful
 * of arrays for the whole run rather than 100,000 objects the garbage collector keeps moving.
 */
export class StageTimeline {
  readonly #indexOf: ReadonlyMap<string, number>;
  readonly #startedAt: Float64Array;
  readonly #endedAt: Float64Array;
  readonly #status: Uint8Array;
  readonly #reused: Uint8Array;
  readonly #resources: (ResourceSummary | undefined)[] = [];

  constructor(pipeline: ValidPipeline) {
    const size = pipeline.graph.size;
    this.#indexOf = pipeline.graph.indexOf;
    this.#startedAt = new Float64Array(size).fill(Number.NaN);
    this.#endedAt = new Float64Array(size).fill(Number.NaN);
    this.#status = new Uint8Array(size);
    this.#reused = new Uint8Array(size);
  }

  observe(event: RunEvent): void {
    if (event.event !== 'stage_started' && event.event !== 'stage_finished') return;
    // Names outside the graph (a fallback, a fan-out item) are not in the report.
    const i = this.#indexOf.get(event.stage);
    if (i === undefined) return;
    if (event.event === 'stage_started') {
      if (Number.isNaN(this.#startedAt[i]!)) this.#startedAt[i] = event.ts;
      return;
    }
    this.#endedAt[i] = event.ts;
    this.#status[i] = codeOf.get(event.status) ?? 0;
    if (event.reused) this.#reused[i] = 1;
    const resources = event.result?.resources;
    if (resources) this.#resources[i] = resources;
  }

  report(pipeline: ValidPipeline): RunReport {
    const { graph } = pipeline;
    const durations = new Float64Array(graph.size);
    const stages: StageTiming[] = [];
    for (let i = 0; i < graph.size; i++) {
      const name = graph.names[i]!;
      const seen = this.#seenAt(i);
      const timing: StageTiming = {
        stage: name,
        status: seen.status ?? 'pending',
        cached: seen.status === 'cached',
      };
      if (seen.reused && seen.status !== 'skipped') timing.reused = true;
      if (seen.startedAt !== undefined && seen.endedAt !== undefined) {
        timing.durationMs = seen.endedAt - seen.startedAt;
        durations[i] = timing.durationMs;
      } else {
        durations[i] = Number.NaN;
      }
      if (seen.resources) timing.resources = seen.resources;
      stages.push(timing);
    }
    return { stages, criticalPath: criticalPathOf(pipeline, durations) };
  }

  #seenAt(i: number): Seen {
    const seen: Seen = {};
    if (!Number.isNaN(this.#startedAt[i]!)) seen.startedAt = this.#startedAt[i]!;
    if (!Number.isNaN(this.#endedAt[i]!)) seen.endedAt = this.#endedAt[i]!;
    const status = statusCodes[this.#status[i]!];
    if (status !== undefined) seen.status = status;
    if (this.#reused[i] === 1) seen.reused = true;
    const resources = this.#resources[i];
    if (resources) seen.resources = resources;
    return seen;
  }
}

/**
 * The heaviest chain of stages that ran, weighted by `durations` (graph index order; NaN for a
 * stage that did not run now: cached, reused, skipped, never reached).
 */
export function criticalPathOf(
  pipeline: ValidPipeline,
  durations: Float64Array,
): { stages: string[]; ms: number } {
  const { graph } = pipeline;
  const ran = (i: number) => !Number.isNaN(durations[i]!);
  // length[i]: the heaviest chain of stages that ran from i down, i included.
  const length = new Float64Array(graph.size).fill(Number.NaN);
  const order = graph.topologicalOrder();
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!;
    if (!ran(i)) continue;
    let below = 0;
    for (const d of graph.downstreamOf(i)) if (ran(d)) below = Math.max(below, length[d]!);
    length[i] = durations[i]! + below;
  }
  let at = -1;
  for (let i = 0; i < graph.size; i++) {
    if (!ran(i) || graph.upstreamOf(i).some(ran)) continue;
    if (at < 0 || length[i]! > length[at]!) at = i;
  }
  if (at < 0) return { stages: [], ms: 0 };
  const ms = length[at]!;
  const stages: string[] = [];
  while (at >= 0) {
    stages.push(graph.names[at]!);
    let next = -1;
    for (const d of graph.downstreamOf(at)) {
      if (ran(d) && (next < 0 || length[d]! > length[next]!)) next = d;
    }
    at = next;
  }
  return { stages, ms };
}
