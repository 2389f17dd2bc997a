/**
 * The resolved pipeline model every front end (TypeScript API, YAML, TOML) produces and the
 * engine consumes. Plain data except for inline functions, which stay in this process.
 */

export const stageStatuses = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'upstream_failed',
  'cancelled',
  'cached',
] as const;
export type StageStatus = (typeof stageStatuses)[number];

/** Every status but `pending` and `running`: the stage will not change again in this run. */
export function isTerminalStatus(status: StageStatus): boolean {
  return status !== 'pending' && status !== 'running';
}

export const runStatuses = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof runStatuses)[number];

export const executionModes = ['parallel', 'sequential', 'waves'] as const;
export type ExecutionMode = (typeof executionModes)[number];

export const failurePolicies = ['fail_fast', 'collect_all'] as const;
export type FailurePolicy = (typeof failurePolicies)[number];

export const backoffKinds = ['fixed', 'exponential'] as const;
export type BackoffKind = (typeof backoffKinds)[number];

export interface RetryPolicy {
  /** Attempts in all, the first included. @default 1 */
  maxAttempts: number;
  /** @default 'exponential' */
  backoff: BackoffKind;
  /** Delay before the second attempt. @default 1000 */
  delayMs: number;
  /** Ceiling of an exponential delay. @default 300000 */
  maxDelayMs: number;
  /** Fraction of the delay drawn at random either side of it. @default 0.1 */
  jitter: number;
  /** Retry only errors with these codes or names, or commands with these exit codes. */
  retryOn?: readonly (string | number)[];
}

/**
 * Where a JavaScript / TypeScript module stage runs: `inline` on the orchestrator's event loop,
 * `thread` in a pooled worker thread (CPU-bound code in parallel), `process` in a pooled child
 * Node process (a crash, `process.exit` or out-of-memory cannot take the orchestrator down).
 */
export const workerTypes = ['inline', 'thread', 'process'] as const;
export type WorkerType = (typeof workerTypes)[number];

/**
 * How a module export is called: `function` → `fn(context)`, `class` → `new C().run(context)`
 * (the YAML `script:` / `path:`), `stage` → `fn(inputs, context)` (the TypeScript API).
 */
export const moduleCallStyles = ['function', 'class', 'stage'] as const;
export type ModuleCallStyle = (typeof moduleCallStyles)[number];

/** An export of a JavaScript or TypeScript module, and where it runs. */
export interface ModuleTask {
  kind: 'module';
  /** Absolute path of the module file. */
  file: string;
  exportName: string;
  style: ModuleCallStyle;
  /** @default 'inline' */
  worker?: WorkerType;
  /** V8 heap limit of a thread or process worker, in MB (`--max-old-space-size`). */
  heapLimitMb?: number;
}

/** What a stage runs: serialisable, so that any executor (thread, process, remote) can run it. */
export type TaskSpec =
  /** A function held in the orchestrator's process (the TypeScript API). */
  | { kind: 'inline' }
  | ModuleTask
  /** A command: argv, or one shell string when `shell` is true. */
  | {
      kind: 'command';
      argv: readonly string[];
      shell: boolean;
      cwd?: string;
      env?: Readonly<Record<string, string>>;
      /** `WORKSPACE_ROOT` of the command, made before it starts. @default the workspace */
      workspaceRoot?: string;
      /** The environment it runs in, activated: made by init, never by the run. */
      environment?: EnvironmentSpec;
    }
  /** A Python class with `run(context)` or a function, run by the bundled bridge (python/). */
  | PythonTaskSpec;

export interface PythonTaskSpec {
  kind: 'python';
  /** `class`: an instance's `run(context)` is called; `function`: the function is. */
  style: 'function' | 'class';
  exportName: string;
  /** The module file: loaded directly when `module` is absent, and hashed for the cache key. */
  file: string;
  /** The dotted module name to import (`pkg.module`), when it was named so. */
  module?: string;
  /** Put before the interpreter's own import path (the pipeline file's directory). */
  searchPath: readonly string[];
  /** The interpreter: a path or a name on PATH. @default $GP_PYTHON, else python3 */
  python?: string;
  /** Where the process runs. @default the workspace root */
  cwd?: string;
  /** The environment it runs in: its python is the interpreter, unless `python` says another. */
  environment?: EnvironmentSpec;
}

/** How an environment is made (SPEC D2): the tool, and the file it is made from. */
export type EnvironmentKind = 'venv' | 'uv' | 'pixi' | 'conda' | 'npm';

/** An isolated environment a stage runs in; init makes it in `dir` from `source`. */
export interface EnvironmentSpec {
  /** Its env_name: stages naming the same environment share it. */
  name: string;
  kind: EnvironmentKind;
  /** `<project_root>/envs/<name>`. */
  dir: string;
  /**
   * What it is made from, absolute: a requirements file (venv), pyproject.toml (uv), pixi.toml
   * (pixi), package.json (npm), or a packed environment's archive (conda; also a URI).
   */
  source: string;
  /** Arguments added to the tool's install command (uv_extra_args, pixi_extra_args, zstd_extra_args). */
  extraArgs?: readonly string[];
  /** pixi channels added to the manifest before installing. */
  channels?: readonly string[];
}

/** Runs an inline stage: its inputs by key, and the context. */
export type InlineFunction = (inputs: never, context: never) => unknown;

export interface StageSpec {
  name: string;
  dependsOn: readonly string[];
  /** Input key → upstream stage name. @default each dependency under its own name */
  inputs?: Readonly<Record<string, string>>;
  /** CPU slots held while running; fractional allowed. @default 1 */
  cpus: number;
  /**
   * Memory (MB) reserved while running: stages start only while the reservations of the running
   * ones fit the pool. @default memoryLimitMb, else 0
   */
  memoryMb?: number;
  /** GPUs leased while running, as concrete device ids (`CUDA_VISIBLE_DEVICES`). @default 0 */
  gpus?: number;
  /** The stage's process tree is killed past this much RSS (MB): a MEMORY_LIMIT failure. */
  memoryLimitMb?: number;
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** A stage run in this one's place, with its inputs, when all its attempts fail. */
  fallback?: string;
  version?: string;
  /** JSON values that are part of the stage's identity (and of its cache key). */
  params?: Readonly<Record<string, unknown>>;
  /** `false`: never reuse or store this stage's output through the cache. @default true */
  cache?: boolean;
  /**
   * At most `limit` stages of `group` run at the same time (TOML: a node's operators, bounded
   * by its runner_count); the others wait without holding up stages outside the group. Every
   * stage of a group gives the same limit. @default no group
   */
  concurrency?: ConcurrencyGroup;
  /**
   * Dynamic fan-out (SPEC A8): the stage runs once per item of `over`'s output — one instance
   * per element of an ordinary stage's list, or one per instance of a mapped stage (`x[i]` the
   * moment `over[i]` succeeds) — and its output is the instances' outputs in order.
   */
  fanOut?: FanOut;
  task: TaskSpec;
  /** The function of an inline stage. */
  run?: InlineFunction;
}

export interface ConcurrencyGroup {
  group: string;
  /** An integer ≥ 1. */
  limit: number;
}

export interface FanOut {
  /** The upstream stage whose items this stage is mapped over (one of its dependencies). */
  over: string;
  /**
   * Each item of `over` (a mapped stage) is itself a list: one instance per element of it,
   * `x[i][j]`. @default false
   */
  nested?: boolean;
}

export interface PipelineSpec {
  name: string;
  stages: readonly StageSpec[];
  /** @default 'parallel' */
  mode: ExecutionMode;
  /** @default 'fail_fast' */
  failurePolicy: FailurePolicy;
  /** CPU budget. @default the host's core count */
  maxCpus?: number;
  /** Memory budget (MB) shared by running stages' `memoryMb`. @default the host's RAM */
  maxMemoryMb?: number;
  /** GPUs to lease out, the lowest device ids first; 0 turns GPU leasing off. @default all detected */
  maxGpus?: number;
  /** How deep `context.executeTasks` / `context.map` may nest. @default 3 */
  maxNestedDepth?: number;
  /** Time between two resource samples of a running stage; 0 turns monitoring off. @default 1000 */
  monitorIntervalMs?: number;
  checkpoint?: { enabled: boolean; directory?: string };
  /** Where this pipeline's run directories go (TOML: `<work_dir>/runs`). @default `<state dir>/runs` */
  runsDirectory?: string;
  /** The file it was loaded from, when there is one. */
  source?: string;
}

/** The depth of nested execution when a pipeline does not say. */
export const defaultMaxNestedDepth = 3;

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 1,
  backoff: 'exponential',
  delayMs: 1000,
  maxDelayMs: 300_000,
  jitter: 0.1,
};
