/**
 * The executor port (DESIGN invariant 2): every executor — inline, command, and later thread,
 * process, Python and remote — takes the same serialisable StageTask and returns the same
 * StageResult. Nothing here may hold a function or a class instance.
 */
import type { SerializedError } from '../errors.ts';
import type { TaskSpec } from '../graph/pipeline.ts';
import type { ResourceSummary } from '../monitor/resource-sample.ts';
import type { CacheKeyParts } from '../store/run-store.ts';

export interface StagePaths {
  /** The workspace: where `.gpipe/` lives, shared by every run. */
  workspaceRoot: string;
  /** This run's directory, `…/runs/{runId}`. */
  runDir: string;
  /** This stage's directory in the run: its log, result file and artifacts. */
  stageDir: string;
}

/** What a running stage holds of the pool. */
export interface ResourceGrant {
  cpus: number;
  /** Memory reserved for it (MB); 0 when it reserved none. */
  memoryMb: number;
  /**
   * GPU device ids leased to it (nvidia-smi indices), empty when it requested none. Absent
   * when the run leases no GPUs: then a command's CUDA_VISIBLE_DEVICES is left as it was.
   */
  gpuIds?: readonly number[];
}

export interface StageTask {
  runId: string;
  pipelineName: string;
  stage: string;
  /** 1 for the first try. */
  attempt: number;
  spec: TaskSpec;
  /** Upstream outputs by input key (the TypeScript API's names). */
  inputs: Record<string, unknown>;
  /** Upstream outputs by upstream stage name. */
  dependencyResults: Record<string, unknown>;
  cpus: number;
  /** What the stage holds while it runs: CPUs, memory, GPU ids. */
  resources?: ResourceGrant;
  timeoutMs?: number;
  /** The stage's process tree is killed past this RSS (MB): a MEMORY_LIMIT failure. */
  memoryLimitMb?: number;
  /** The stage's params (JSON values), as its spec declares them. */
  params?: Readonly<Record<string, unknown>>;
  paths: StagePaths;
  /** Set for an instance of a mapped stage (dynamic fan-out): the item it runs with. */
  item?: TaskItem;
}

/** The item of a fan-out instance (`resize[3]`): its mapped stage, place and value. */
export interface TaskItem {
  /** The mapped stage (`resize`): its function, code and cache identity are the instance's. */
  of: string;
  /** `[3]` for `resize[3]`, `[3, 1]` for `words[3][1]`. */
  index: readonly number[];
  value: unknown;
}

export interface StageResult {
  status: 'succeeded' | 'failed' | 'cancelled';
  output?: unknown;
  /**
   * `output` as JSON text, made once by the stage cache of a durable run (which fails a stage
   * whose output JSON cannot hold): the recorder stores and hashes it as it is.
   */
  outputJson?: string;
  error?: SerializedError;
  exitCode?: number;
  /** The process that ran the attempt, when it had one of its own (a command). */
  pid?: number;
  /** Epoch milliseconds. */
  startedAt: number;
  endedAt: number;
  /** Set by the stage cache: the key this attempt ran (or was found) under. */
  cache?: StageCacheInfo;
  /** What the attempt used (CPU, memory, IO, GPUs), when the resource monitor watched it. */
  resources?: ResourceSummary;
  /** An in-process stage wrote metrics (context.metric): the only way one can. */
  wroteMetrics?: true;
}

/** What the stage cache knows of an attempt. */
export interface StageCacheInfo {
  key: string;
  /** As kept: secrets masked. */
  readonly parts: CacheKeyParts;
  /** `parts` as canonical JSON, made once with the key: what the run store keeps. */
  partsJson: string;
  /** Set on a hit: the run and attempt whose output was reused. */
  hit?: { runId: string; attempt: number };
}

export interface Executor {
  /**
   * Runs one attempt. Must resolve (never reject) and must return promptly once `signal`
   * aborts, with a failed result carrying the abort reason's code (TIMEOUT, CANCELLED).
   */
  execute(task: StageTask, signal: AbortSignal): Promise<StageResult>;
  /** Ends everything still running at once (a second Ctrl-C). */
  killAll?(): void;
  close?(): Promise<void>;
}
