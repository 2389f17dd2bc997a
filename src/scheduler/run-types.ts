import type { SerializedError } from '../errors.ts';
import type { Executor } from '../executors/executor.ts';
import type { RunStatus, StageStatus, TaskSpec } from '../graph/pipeline.ts';
import type { HostOptions } from '../monitor/host-capacity.ts';
import type { Clock } from './clock.ts';
import type { RunEvent } from './events.ts';

/** `hostCpus`, `hostMemoryMb`, `hostGpuIds` replace what the host's detection finds. */
export interface RunOptions extends HostOptions {
  /** @default a new id like `20261122_101500_ab12cd` */
  runId?: string;
  /** Where `.gpipe/runs/{runId}` goes. @default the current directory */
  workspaceRoot?: string;
  /** This run's directory. @default `{workspaceRoot}/.gpipe/runs/{runId}` */
  runDir?: string;
  /**
   * Stages finished before this run starts, by name: a resume's succeeded stages, outputs
   * reused from earlier runs, stages left out of a selection. Stages listed with `attempts`
   * only run again, numbering their attempts on from there.
   */
  previous?: ReadonlyMap<string, PriorStage>;
  /** The run goes on with an earlier one of the same id (said in `run_started`). */
  resumed?: boolean;
  /** One executor per task kind. */
  executors: Partial<Record<TaskSpec['kind'], Executor>>;
  onEvent?: (event: RunEvent) => void;
  /** Aborting it cancels the run: nothing new starts, running stages are ended. */
  signal?: AbortSignal;
  /** @default the system clock */
  clock?: Clock;
  /** Drawn for retry jitter. @default Math.random */
  random?: () => number;
}

export interface PriorStage {
  /** How it finished; absent when it must run (again). */
  status?: 'succeeded' | 'cached' | 'skipped';
  output?: unknown;
  /** Attempts made so far. */
  attempts: number;
}

export interface StageOutcome {
  status: StageStatus;
  attempts: number;
  output?: unknown;
  error?: SerializedError;
  exitCode?: number;
  /** The fallback stage whose output stands in for this one. */
  fallback?: string;
}

export interface RunResult {
  runId: string;
  status: RunStatus;
  runDir: string;
  /** Every scheduled stage by name. */
  stages: Record<string, StageOutcome>;
}
