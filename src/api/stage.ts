import { resolve } from 'node:path';
import { parseDuration } from '../config/duration.ts';
import { interpreterPath, locatePythonModule } from '../config/python-module-locator.ts';
import { memoryQuantityText, parseMemoryMb } from '../config/quantity.ts';
import { PipelineError } from '../errors.ts';
import type { StageContext } from '../executors/stage-context.ts';
import {
  findNonJson,
  formatJsonPath,
  frozenJsonCopy,
  isPlainObject,
  jsonDataText,
} from '../graph/json-value.ts';
import {
  type ConcurrencyGroup,
  defaultRetryPolicy,
  type RetryPolicy,
  type StageSpec,
} from '../graph/pipeline.ts';
import { functionWorkerError, type ModuleTarget, moduleTask } from './module-stage.ts';

declare const outputType: unique symbol;

/** A stage of the TypeScript API; `Out` is the type of its output, checked where it is used. */
export interface Stage<Out = unknown> {
  readonly name: string;
  readonly spec: StageSpec;
  /** The upstream stages, so that a pipeline can include them without listing them. */
  readonly upstream: readonly Stage[];
  /** Stages that exist only to stand in for this one. */
  readonly companions: readonly StageSpec[];
  /** Carries the output type; never set at run time. */
  readonly [outputType]?: Out;
}

/** Upstream stages by the input names the stage's function receives them under. */
export type StageInputs = Record<string, Stage<unknown>>;

/** The inputs of a stage without dependencies. */
export type NoInputs = Record<never, never>;

/** The outputs of `D`, by the same keys: what a stage with dependencies `D` receives. */
export type InputsOf<D extends StageInputs> = {
  [K in keyof D]: D[K] extends Stage<infer O> ? O : never;
};

export interface RetryOptions {
  /** Attempts in all, the first included. @default 1 */
  maxAttempts: number;
  /** @default 'exponential' */
  backoff?: 'fixed' | 'exponential';
  /** Seconds or a duration (`"2s"`) before the second attempt. @default 1 */
  delay?: number | string;
  /** @default '5m' */
  maxDelay?: number | string;
  /** @default 0.1 */
  jitter?: number;
  /** Retry only errors with these codes or names, or commands with these exit codes. */
  retryOn?: readonly (string | number)[];
}

export interface StageOptions<D extends StageInputs> {
  /** Upstream stages by input name. @example `{ deps: { rows: load } }` */
  deps?: D;
  /** Stages that must finish first but whose outputs this one does not take. */
  after?: readonly Stage[];
  /** CPU slots held while running. @default 1 */
  cpus?: number;
  /**
   * Memory reserved while running: MB, or a size like `"4GB"` (units of 1024). The stage starts
   * only when it fits the pool. @default memoryLimit, else 0
   */
  memory?: number | string;
  /**
   * GPUs leased while running, as device ids: `context.gpuIds`, and `CUDA_VISIBLE_DEVICES` for a
   * command. @default 0
   */
  gpus?: number;
  /**
   * A command whose process tree's RSS goes past this (MB or `"2GB"`) is killed and fails with
   * MEMORY_LIMIT. Command stages only: an inline function shares the orchestrator's memory.
   */
  memoryLimit?: number | string;
  /**
   * At most `limit` stages of `group` run at the same time; the others wait without holding up
   * the rest. Every stage of a group gives the same limit.
   * @example `{ concurrency: { group: 'gpu-jobs', limit: 2 } }`
   */
  concurrency?: ConcurrencyGroup;
  /** Seconds or a duration (`"90s"`, `"5m"`). */
  timeout?: number | string;
  retry?: RetryOptions;
  /** Part of the stage's identity: bump it when its meaning changes. */
  version?: string;
  /**
   * JSON values the stage is run with, part of its identity (and cache key): the function
   * reads them as `context.params`, a command as JSON in `$GP_PARAMS`.
   * @example `{ params: { epochs: 3, lr: 0.01 } }`
   */
  params?: Readonly<Record<string, unknown>>;
  /**
   * false: the stage always runs; its output is neither reused from nor stored in the cache.
   * @default true
   */
  cache?: boolean;
  /**
   * Dynamic fan-out: run this stage once per item of that stage's output list — an instance
   * per item, `name[0]`, `name[1]`, … (over a mapped stage: `name[i]` as soon as its item `i`
   * succeeded). Its output is the items' outputs in order. A command gets its item as JSON in
   * `$GP_ITEM`, a module or Python stage as `context.item`. For a typed function use
   * `stage.map`.
   */
  over?: Stage<readonly unknown[]>;
  /** With `over` a mapped stage whose items are lists: one instance per element of each, `name[i][j]`. */
  nested?: boolean;
}

export type StageFunction<D extends StageInputs, Out> = (
  inputs: InputsOf<D>,
  context: StageContext,
) => Out | Promise<Out>;

export interface FunctionStageOptions<D extends StageInputs, Out> extends StageOptions<D> {
  /** Runs in this stage's place, with its inputs, when all its attempts fail. */
  fallback?: StageFunction<D, Out>;
  /**
   * A function runs on the orchestrator's event loop. For a thread or a process, name a module
   * export instead: `stage(name, { module, export, worker: 'thread' })`.
   */
  worker?: 'inline';
}

/**
 * A stage that runs a module's export, `fn(inputs, context)`: inline, in a worker thread or in a
 * child process. Its output type is not checked against the export: give it as `Out`.
 */
export interface ModuleStageOptions<D extends StageInputs> extends StageOptions<D>, ModuleTarget {}

/**
 * An inline stage: an async function run on the orchestrator's event loop.
 * @example
 * const load = stage('load', async () => [1, 2, 3]);
 * const total = stage('total', { deps: { rows: load } }, ({ rows }) => rows.reduce((a, b) => a + b, 0));
 */
export function stage<Out>(name: string, run: StageFunction<NoInputs, Out>): Stage<Awaited<Out>>;
/**
 * A module stage: the export runs inline, in a pooled worker thread or in a child process.
 * @example
 * const heavy = stage<number[]>('heavy', {
 *   module: new URL('./work.ts', import.meta.url),
 *   export: 'crunch', // export function crunch(inputs, context) { … }
 *   worker: 'thread',
 * });
 */
export function stage<Out = unknown, D extends StageInputs = NoInputs>(
  name: string,
  options: ModuleStageOptions<D>,
): Stage<Awaited<Out>>;
export function stage<D extends StageInputs, Out>(
  name: string,
  options: FunctionStageOptions<D, Out>,
  run: StageFunction<D, Out>,
): Stage<Awaited<Out>>;
export function stage<D extends StageInputs, Out>(
  name: string,
  optionsOrRun: FunctionStageOptions<D, Out> | ModuleStageOptions<D> | StageFunction<NoInputs, Out>,
  maybeRun?: StageFunction<D, Out>,
): Stage<Awaited<Out>> {
  const options: FunctionStageOptions<D, Out> | ModuleStageOptions<D> =
    typeof optionsOrRun === 'function' ? {} : optionsOrRun;
  const run = (typeof optionsOrRun === 'function' ? optionsOrRun : maybeRun) as
    | StageFunction<D, Out>
    | undefined;
  const names = 'module' in options || 'export' in options;
  if (names && run !== undefined) {
    throw new PipelineError(
      'INVALID_STAGE',
      `stage '${name}': give either a function or module + export, not both`,
    );
  }
  if (names) {
    const spec = baseSpec(name, options);
    spec.task = moduleTask(name, options as ModuleStageOptions<D>);
    return { name, spec, upstream: upstreamOf(options), companions: [] };
  }
  if (typeof run !== 'function')
    throw new PipelineError(
      'INVALID_STAGE',
      `stage '${name}' needs a function, or module + export`,
    );
  if (options.worker !== undefined && options.worker !== 'inline')
    throw functionWorkerError(name, options.worker);
  const spec = baseSpec(name, options);
  spec.run = run;
  const companions: StageSpec[] = [];
  if ('fallback' in options && options.fallback) {
    const fallback: StageSpec = {
      ...baseSpec(`${name}:fallback`, options),
      task: { kind: 'inline' },
    };
    delete fallback.retry;
    fallback.run = options.fallback;
    spec.fallback = fallback.name;
    companions.push(fallback);
  }
  return { name, spec, upstream: upstreamOf(options), companions };
}

export interface CommandOptions<D extends StageInputs> extends StageOptions<D> {
  /** The program and its arguments, or one string run by `/bin/sh -c` when `shell` is true. */
  argv: readonly string[] | string;
  /** Run `argv` through a shell. Only then may it be a string. @default false */
  shell?: boolean;
  cwd?: string;
  /** Added to the orchestrator's environment. */
  env?: Readonly<Record<string, string>>;
}

/**
 * A command stage. Its output is the JSON it writes to `$GP_RESULT_FILE`, else null.
 * @example command('plot', { deps: { stats }, argv: ['python3', 'plot.py'] })
 */
export function command<Out = unknown, D extends StageInputs = NoInputs>(
  name: string,
  options: CommandOptions<D>,
): Stage<Out> {
  const shell = options.shell ?? false;
  // Same rule as YAML: an argv list runs as given, one string needs an explicit shell.
  if (typeof options.argv === 'string' && !shell) {
    throw new PipelineError(
      'INVALID_STAGE',
      `command stage '${name}': a command string needs shell: true (or give an argv array)`,
    );
  }
  if (typeof options.argv !== 'string' && shell) {
    throw new PipelineError(
      'INVALID_STAGE',
      `command stage '${name}': with shell: true give one command string, not an argv array`,
    );
  }
  const spec = baseSpec(name, options);
  spec.task = {
    kind: 'command',
    argv: typeof options.argv === 'string' ? [options.argv] : [...options.argv],
    shell,
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    ...(options.env !== undefined && { env: options.env }),
  };
  return { name, spec, upstream: upstreamOf(options), companions: [] };
}

export interface PythonOptions<D extends StageInputs> extends StageOptions<D> {
  /** A class with `run(context)`: `"pkg.module:ClassName"` or `"path/file.py:ClassName"`. */
  path?: string;
  /** A function taking the context: `"path/file.py:function_name"` or `"pkg.module:function"`. */
  script?: string;
  /** Where relative files and dotted modules are found, and where the process runs. @default process.cwd() */
  dir?: string;
  /** The interpreter: a path (a venv, or its `bin/python`) or a name on PATH. @default $GP_PYTHON, else python3 */
  python?: string;
}

/**
 * A Python stage, run by the bundled bridge in its own process: the function or the class's
 * `run(context)` gets the seed's ModuleContext (`get_result`, `execute_tasks`, `params`, …) and
 * returns JSON, which is this stage's output.
 * @example python('score', { deps: { rows }, script: 'score.py:score', dir: import.meta.dirname })
 */
export function python<Out = unknown, D extends StageInputs = NoInputs>(
  name: string,
  options: PythonOptions<D>,
): Stage<Out> {
  const given = (['path', 'script'] as const).filter((key) => options[key] !== undefined);
  if (given.length !== 1) {
    throw new PipelineError(
      'INVALID_STAGE',
      `python stage '${name}': give exactly one of path ("pkg.module:ClassName") or script ("file.py:function")`,
    );
  }
  const key = given[0]!;
  const text = options[key]!;
  const colon = text.lastIndexOf(':');
  const dir = resolve(options.dir ?? process.cwd());
  const interpreter =
    options.python === undefined ? undefined : interpreterPath(options.python, dir);
  const location =
    colon < 0
      ? {
          problem: {
            message: `'${text}' names no ${key === 'path' ? 'class' : 'function'} after a colon`,
          },
        }
      : locatePythonModule(
          text.slice(0, colon),
          text.slice(colon + 1),
          key === 'path' ? 'class' : 'function',
          dir,
          interpreter,
        );
  if ('problem' in location) {
    const hint = location.problem.hint ? ` (hint: ${location.problem.hint})` : '';
    throw new PipelineError(
      'INVALID_STAGE',
      `python stage '${name}': ${location.problem.message}${hint}`,
    );
  }
  const spec = baseSpec(name, options);
  spec.task = location.task;
  if (interpreter !== undefined) spec.task.python = interpreter;
  return { name, spec, upstream: upstreamOf(options), companions: [] };
}

export function baseSpec<D extends StageInputs>(name: string, options: StageOptions<D>): StageSpec {
  const deps = options.deps ?? ({} as D);
  const inputs: Record<string, string> = {};
  for (const [key, upstream] of Object.entries(deps)) inputs[key] = upstream.name;
  const dependsOn = [
    ...new Set([...Object.values(inputs), ...(options.after ?? []).map((s) => s.name)]),
  ];
  const spec: StageSpec = {
    name,
    dependsOn,
    inputs,
    cpus: options.cpus ?? 1,
    task: { kind: 'inline' },
  };
  if (options.memory !== undefined) spec.memoryMb = memoryOption(name, 'memory', options.memory);
  if (options.gpus !== undefined) spec.gpus = options.gpus;
  if (options.memoryLimit !== undefined)
    spec.memoryLimitMb = memoryOption(name, 'memoryLimit', options.memoryLimit);
  if (options.timeout !== undefined)
    spec.timeoutMs = durationOption(name, 'timeout', options.timeout);
  if (options.concurrency) spec.concurrency = { ...options.concurrency };
  if (options.retry) spec.retry = retryPolicy(name, options.retry);
  if (options.version !== undefined) spec.version = options.version;
  if (options.params !== undefined) spec.params = paramsOption(name, options.params);
  if (options.cache !== undefined) spec.cache = options.cache;
  if (options.over !== undefined) {
    spec.fanOut = { over: options.over.name, ...(options.nested && { nested: true }) };
    if (!dependsOn.includes(options.over.name)) spec.dependsOn = [...dependsOn, options.over.name];
  } else if (options.nested) {
    throw new PipelineError('INVALID_STAGE', `stage '${name}': nested applies only with over`);
  }
  return spec;
}

/** A frozen copy, so that changing the object afterwards changes neither run nor cache key. */
function paramsOption(name: string, params: unknown): Readonly<Record<string, unknown>> {
  if (!isPlainObject(params)) {
    throw new PipelineError(
      'INVALID_STAGE',
      `stage '${name}': params must be a plain object of JSON values`,
    );
  }
  const problem = findNonJson(params);
  if (problem) {
    throw new PipelineError(
      'INVALID_STAGE',
      `stage '${name}': ${formatJsonPath('params', problem.path)} must be ${jsonDataText}, got ${problem.found}`,
    );
  }
  return frozenJsonCopy(params);
}

export function upstreamOf<D extends StageInputs>(options: StageOptions<D>): Stage[] {
  return [
    ...Object.values(options.deps ?? {}),
    ...(options.after ?? []),
    ...(options.over ? [options.over] : []),
  ];
}

function retryPolicy(name: string, retry: RetryOptions): RetryPolicy {
  const policy: RetryPolicy = { ...defaultRetryPolicy, maxAttempts: retry.maxAttempts };
  if (retry.backoff) policy.backoff = retry.backoff;
  if (retry.delay !== undefined) policy.delayMs = durationOption(name, 'retry.delay', retry.delay);
  if (retry.maxDelay !== undefined)
    policy.maxDelayMs = durationOption(name, 'retry.maxDelay', retry.maxDelay);
  if (retry.jitter !== undefined) policy.jitter = retry.jitter;
  if (retry.retryOn) policy.retryOn = retry.retryOn;
  return policy;
}

function memoryOption(name: string, key: string, value: number | string): number {
  const mb = parseMemoryMb(value);
  if (mb === undefined) {
    throw new PipelineError(
      'INVALID_STAGE',
      `stage '${name}': ${key} must be ${memoryQuantityText}, got ${JSON.stringify(value)}`,
    );
  }
  return mb;
}

function durationOption(name: string, key: string, value: number | string): number {
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new PipelineError(
      'INVALID_STAGE',
      `stage '${name}': ${key} must be seconds or a duration like "90s", got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}
