/**
 * What the end of a run reports per stage: status, wall time, attempts, whether the cache
 * served it, and what it used; and the critical path, the longest chain of the run by the
 * stages' actual durations. Built from the run's events.
 */
import type { StageStatus } from '../graph/pipeline.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { ResourceSummary } from '../monitor/resource-sample.ts';
import type { RunEvent } from '../scheduler/events.ts';

export interface StageTiming {
  stage: string;
  status: StageStatus;
  /** From its first start to its end in this run; absent when nothing ran now. */
  durationMs?: number;
  /** Its output came from the cache (or an earlier run): nothing ran. */
  cached: boolean;
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

export class StageTimeline {
  readonly #seen = new Map<string, Seen>();

  observe(event: RunEvent): void {
    if (event.event === 'stage_started') {
      const seen = this.#of(event.stage);
      seen.startedAt ??= event.ts;
    } else if (event.event === 'stage_finished') {
      const seen = this.#of(event.stage);
      seen.endedAt = event.ts;
      seen.status = event.status;
      if (event.reused) seen.reused = true;
      const resources = event.result?.resources;
      if (resources) seen.resources = resources;
    }
  }

  report(pipeline: ValidPipeline): RunReport {
    const { graph } = pipeline;
    const durations = new Float64Array(graph.size);
    const stages: StageTiming[] = [];
    for (let i = 0; i < graph.size; i++) {
      const name = graph.names[i]!;
      const seen = this.#seen.get(name);
      const timing: StageTiming = {
        stage: name,
        status: seen?.status ?? 'pending',
        cached: seen?.status === 'cached' || seen?.reused === true,
      };
      if (seen?.startedAt !== undefined && seen.endedAt !== undefined) {
        timing.durationMs = seen.endedAt - seen.startedAt;
        durations[i] = timing.durationMs;
      }
      if (seen?.resources) timing.resources = seen.resources;
      stages.push(timing);
    }
    return { stages, criticalPath: criticalPathOf(pipeline, durations) };
  }

  #of(stage: string): Seen {
    let seen = this.#seen.get(stage);
    if (!seen) {
      seen = {};
      this.#seen.set(stage, seen);
    }
    return seen;
  }
}

/** The heaviest chain from a root to a sink, weighted by `durations` (graph index order). */
export function criticalPathOf(
  pipeline: ValidPipeline,
  durations: Float64Array,
): { stages: string[]; ms: number } {
  const { graph } = pipeline;
  if (graph.size === 0) return { stages: [], ms: 0 };
  // length[i]: the heaviest path from i to a sink, i included.
  const length = graph.criticalPath((i) => durations[i]!);
  let at = -1;
  for (let i = 0; i < graph.size; i++) {
    if (graph.upstreamOf(i).length === 0 && (at < 0 || length[i]! > length[at]!)) at = i;
  }
  const stages: string[] = [];
  while (at >= 0) {
    stages.push(graph.names[at]!);
    let next = -1;
    for (const d of graph.downstreamOf(at)) if (next < 0 || length[d]! > length[next]!) next = d;
    at = next;
  }
  const first = graph.indexOf.get(stages[0]!)!;
  return { stages, ms: length[first]! };
}
