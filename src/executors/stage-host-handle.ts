import { PipelineError, type SerializedError, serializeError } from '../errors.ts';
import type { RunStageMessage } from '../workers/stage-protocol.ts';
import type { StageResult } from './executor.ts';

/** The orchestrator's handle on one thread or process worker. */
export interface StageHostHandle {
  /** Workers with different keys (heap limits) are not interchangeable. */
  readonly key: string;
  /** The worker's process, for a process worker (the resource monitor watches it). */
  readonly pid?: number;
  /** False once the worker has died or been destroyed. */
  readonly usable: boolean;
  /** Runs one stage; resolves with a failed result if the worker dies meanwhile. */
  run(message: RunStageMessage): Promise<StageResult>;
  /** Ends the worker and everything it started; `now` skips the grace period. */
  destroy(now?: boolean): void;
  /** An idle worker must not keep the orchestrator alive. */
  setBusy(busy: boolean): void;
}

export type StartStageHost = (key: string, heapLimitMb: number | undefined) => StageHostHandle;

/** A worker lost mid-stage (exit, crash, out of memory): its stack would only show ours. */
export class WorkerLostError extends PipelineError {}

export function serializeWorkerFailure(error: Error): SerializedError {
  const serialized = serializeError(error);
  if (error instanceof WorkerLostError) delete serialized.stack;
  return serialized;
}

/** The answer of a worker that died before it was given the stage. */
export function goneBeforeStart(): StageResult {
  const error = new WorkerLostError('WORKER_EXITED', 'the worker ended before the stage started');
  const now = Date.now();
  return { status: 'failed', error: serializeWorkerFailure(error), startedAt: now, endedAt: now };
}
