import type { SerializedError } from '../errors.ts';
import type { RunStatus } from '../graph/pipeline.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { FanOutItems } from './fan-out-items.ts';
import type { RetryAndFallback } from './retry-fallback.ts';
import type { StageOutcome } from './run-types.ts';
import type { Scheduler } from './scheduler.ts';

/** What an ended run knows of each node, by node: stages of the graph, then instances. */
export interface RunRecord {
  pipeline: ValidPipeline;
  scheduler: Scheduler;
  items: FanOutItems;
  attempts: readonly number[];
  outputs: readonly unknown[];
  errors: ReadonlyMap<number, { error: SerializedError; exitCode?: number }>;
  recovery: RetryAndFallback;
  cancelled: boolean;
}

/**
 * The outcome of every node of an ended run, by name, and the run's status: cancelled when it
 * was, else failed when a stage failed or could not run for a failure, else succeeded.
 */
export function runOutcome(record: RunRecord): {
  status: RunStatus;
  stages: Record<string, StageOutcome>;
} {
  const { scheduler, attempts, outputs, errors, recovery } = record;
  const stages: Record<string, StageOutcome> = {};
  let failed = false;
  for (let i = 0; i < scheduler.size; i++) {
    const status = scheduler.status(i);
    if (status === 'failed' || status === 'upstream_failed') failed = true;
    const outcome: StageOutcome = { status, attempts: attempts[i] ?? 0 };
    if (status === 'succeeded' || status === 'cached') outcome.output = outputs[i];
    const failure = errors.get(i);
    if (failure) Object.assign(outcome, failure);
    if (recovery.ranFallback(i)) outcome.fallback = record.pipeline.stages[i]!.fallback!;
    const name = record.items.nameOf(i);
    stages[name] = outcome;
  }
  const status: RunStatus = record.cancelled ? 'cancelled' : failed ? 'failed' : 'succeeded';
  return { status, stages };
}
