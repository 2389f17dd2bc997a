import type { ValidPipeline } from '../graph/validate.ts';
import type { Clock } from './clock.ts';
import type { RunEvent } from './events.ts';
import type { PriorStage, RunOptions } from './run-types.ts';

export type FinishedBefore = Map<number, 'succeeded' | 'cached' | 'skipped'>;

/**
 * Stages finished before the run (a resume, reused outputs, stages left out of a selection):
 * their outputs and attempt counts go into `outputs` and `attempts`; returns how each finished,
 * by index, for the scheduler. Names the pipeline no longer has are left out.
 */
export function applyPrior(
  pipeline: ValidPipeline,
  previous: ReadonlyMap<string, PriorStage> | undefined,
  outputs: unknown[],
  attempts: number[],
): FinishedBefore | undefined {
  if (!previous || previous.size === 0) return undefined;
  const finished: FinishedBefore = new Map();
  const index = pipeline.graph.indexOf;
  for (const [name, prior] of previous) {
    const i = index.get(name);
    if (i === undefined) continue;
    attempts[i] = prior.attempts;
    if (prior.status === undefined) continue;
    finished.set(i, prior.status);
    outputs[i] = prior.output;
  }
  return finished;
}

/** What `run_started` says of earlier runs: how many stages are reused, and whether it resumes. */
export function announcePrior(
  options: Pick<RunOptions, 'previous' | 'resumed'>,
): { resumed?: boolean; reused: number } | undefined {
  if (!options.previous) return undefined;
  let reused = 0;
  for (const prior of options.previous.values()) if (prior.status) reused++;
  return options.resumed ? { resumed: true, reused } : { reused };
}

/** Stages finished before the run: one `reused` event each, so that views count them. */
export function reportPrior(
  pipeline: ValidPipeline,
  previous: ReadonlyMap<string, PriorStage> | undefined,
  emit: ((event: RunEvent) => void) | undefined,
  clock: Clock,
): void {
  if (!emit || !previous) return;
  const ts = clock.now();
  for (const [stage, prior] of previous) {
    if (prior.status === undefined || !pipeline.graph.indexOf.has(stage)) continue;
    emit({
      event: 'stage_finished',
      stage,
      attempt: prior.attempts,
      status: prior.status,
      ts,
      reused: true,
    });
  }
}
