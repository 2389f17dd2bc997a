import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ConfigError,
  issueInFile,
  PipelineError,
  type SerializedError,
  StageTimeoutError,
  serializeError,
} from '../errors.ts';
import type { Executor, StageResult, StageTask } from '../executors/executor.ts';
import type {
  InlineFunction,
  PipelineSpec,
  RunStatus,
  StageSpec,
  StageStatus,
  TaskSpec,
} from '../graph/pipeline.ts';
import { type ValidPipeline, validatePipeline } from '../graph/validate.ts';
import { type Clock, systemClock, type TimerHandle } from './clock.ts';
import type { RunEvent } from './events.ts';
import { retryDelayMs, shouldRetry } from './retry.ts';
import { Scheduler } from './scheduler.ts';

export interface RunOptions {
  /** @default a new id like `20261122_101500_ab12cd` */
  runId?: string;
  /** Where `.gpipe/runs/{runId}` goes. @default the current directory */
  workspaceRoot?: string;
  /** One executor per task kind. */
  executors: Partial<Record<TaskSpec['kind'], Executor>>;
  onEvent?: (event: RunEvent) => void;
  /** Aborting it cancels the run: nothing new starts, running stages are ended. */
  signal?: AbortSignal;
  /** @default the system clock */
  clock?: Clock;
  /** Drawn for retry jitter. @default Math.random */
  random?: () => number;
  /** @default the host's available parallelism */
  hostCpus?: number;
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

/** Validates a pipeline and runs it to the end; resolves (never rejects) once every stage is terminal. */
export async function runPipeline(spec: PipelineSpec, options: RunOptions): Promise<RunResult> {
  const validated = validatePipeline(spec, options.hostCpus ?? availableParallelism());
  if (!('pipeline' in validated)) {
    throw new ConfigError(validated.issues.map((issue) => issueInFile(issue, spec.source)));
  }
  return new Run(validated.pipeline, options).start();
}

export function newRunId(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const date = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}`;
  const time = `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${date}_${time}_${randomBytes(3).toString('hex')}`;
}

class Run {
  readonly #pipeline: ValidPipeline;
  readonly #options: RunOptions;
  readonly #clock: Clock;
  readonly #scheduler: Scheduler;
  readonly #runId: string;
  readonly #workspaceRoot: string;
  readonly #runDir: string;
  readonly #emit: ((event: RunEvent) => void) | undefined;
  readonly #outputs: unknown[];
  readonly #attempts: Int32Array;
  /** For each running stage, what runs: the stage itself, or its fallback. */
  readonly #attemptSpec: (StageSpec | undefined)[];
  /** Only stages with a timeout have their own; the others share #stopController's signal. */
  readonly #controllers: (AbortController | undefined)[];
  readonly #timers: (TimerHandle | undefined)[];
  readonly #retryTimers = new Map<number, TimerHandle>();
  readonly #errors = new Map<number, { error: SerializedError; exitCode?: number }>();
  /** Stages now running their fallback, with the number of attempts the stage itself made. */
  readonly #onFallback = new Map<number, { spec: StageSpec; primaryAttempts: number }>();
  /** Aborted when the run stops: every running stage without a timeout listens to it. */
  readonly #stopController = new AbortController();
  #cancelled = false;
  #finish: (result: RunResult) => void = () => {};

  constructor(pipeline: ValidPipeline, options: RunOptions) {
    this.#pipeline = pipeline;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    const cpus = new Float64Array(pipeline.stages.length);
    pipeline.stages.forEach((stage, i) => {
      cpus[i] = pipeline.spec.mode === 'sequential' ? 0 : stage.cpus;
    });
    this.#scheduler = new Scheduler(pipeline.graph, {
      mode: pipeline.spec.mode,
      failurePolicy: pipeline.spec.failurePolicy,
      maxCpus: pipeline.maxCpus,
      cpus,
    });
    this.#runId = options.runId ?? newRunId();
    this.#workspaceRoot = resolve(options.workspaceRoot ?? '.');
    this.#runDir = join(this.#workspaceRoot, '.gpipe', 'runs', this.#runId);
    this.#emit = options.onEvent;
    this.#outputs = new Array(pipeline.stages.length);
    this.#attempts = new Int32Array(pipeline.stages.length);
    this.#attemptSpec = new Array(pipeline.stages.length);
    this.#controllers = new Array(pipeline.stages.length);
    this.#timers = new Array(pipeline.stages.length);
  }

  start(): Promise<RunResult> {
    const done = new Promise<RunResult>((resolve) => {
      this.#finish = resolve;
    });
    this.#emit?.({
      event: 'run_started',
      runId: this.#runId,
      pipeline: this.#pipeline.spec.name,
      stages: this.#pipeline.stages.length,
      runDir: this.#runDir,
      ts: this.#clock.now(),
    });
    const signal = this.#options.signal;
    if (signal?.aborted) this.#cancel();
    else signal?.addEventListener('abort', () => this.#cancel(), { once: true });
    this.#pump();
    return done;
  }

  #pump(): void {
    const scheduler = this.#scheduler;
    for (let i = scheduler.next(); i >= 0; i = scheduler.next()) {
      const fallback = this.#onFallback.size > 0 ? this.#onFallback.get(i)?.spec : undefined;
      this.#startAttempt(i, fallback ?? this.#pipeline.stages[i]!);
    }
    if (scheduler.done) this.#end();
  }

  #startAttempt(i: number, spec: StageSpec): void {
    const attempt = ++this.#attempts[i]!;
    const stage = this.#pipeline.stages[i]!;
    const executor = this.#options.executors[spec.task.kind];
    let controller: AbortController | undefined;
    let timer: TimerHandle | undefined;
    if (spec.timeoutMs !== undefined) {
      const own = new AbortController();
      controller = own;
      timer = this.#clock.setTimer(
        () => own.abort(new StageTimeoutError(stage.name, spec.timeoutMs!)),
        spec.timeoutMs,
      );
    }
    this.#attemptSpec[i] = spec;
    this.#controllers[i] = controller;
    this.#timers[i] = timer;
    this.#emit?.({
      event: 'stage_started',
      stage: stage.name,
      attempt,
      ts: this.#clock.now(),
      ...(spec !== stage && { fallback: spec.name }),
    });
    if (!executor) {
      const error = new PipelineError('NO_EXECUTOR', `no executor for ${spec.task.kind} stages`);
      this.#settle(i, attempt, failedResult(error));
      return;
    }
    const signal = controller?.signal ?? this.#stopController.signal;
    executor.execute(this.#task(i, spec, attempt), signal).then(
      (result) => this.#settle(i, attempt, result),
      (error: unknown) => this.#settle(i, attempt, failedResult(error)),
    );
  }

  #task(i: number, spec: StageSpec, attempt: number): StageTask {
    const stage = this.#pipeline.stages[i]!;
    const graph = this.#pipeline.graph;
    // Null-prototype records start in dictionary mode: no hidden class per distinct key set.
    const dependencyResults: Record<string, unknown> = Object.create(null);
    for (let e = graph.upstreamStart[i]!; e < graph.upstreamStart[i + 1]!; e++) {
      const d = graph.upstream[e]!;
      dependencyResults[graph.names[d]!] = this.#outputs[d];
    }
    let inputs = dependencyResults;
    if (stage.inputs) {
      inputs = {};
      for (const [key, upstream] of Object.entries(stage.inputs))
        inputs[key] = dependencyResults[upstream];
    }
    const task: StageTask = {
      runId: this.#runId,
      pipelineName: this.#pipeline.spec.name,
      // A fallback runs under its own name, so that it finds its own function and files.
      stage: spec.name,
      attempt,
      spec: spec.task,
      inputs,
      dependencyResults,
      cpus: stage.cpus,
      // Stage names are checked to be safe path segments, so plain concatenation is enough.
      paths: {
        workspaceRoot: this.#workspaceRoot,
        runDir: this.#runDir,
        stageDir: `${this.#runDir}/${spec.name}`,
      },
    };
    if (spec.timeoutMs !== undefined) task.timeoutMs = spec.timeoutMs;
    return task;
  }

  #settle(i: number, attempt: number, result: StageResult): void {
    const spec = this.#attemptSpec[i];
    if (!spec || this.#attempts[i] !== attempt) return; // a late answer from an ended attempt
    this.#attemptSpec[i] = undefined;
    const timer = this.#timers[i];
    if (timer) {
      this.#clock.clearTimer(timer);
      this.#timers[i] = undefined;
      this.#controllers[i] = undefined;
    }
    const scheduler = this.#scheduler;
    if (result.status === 'succeeded') {
      this.#outputs[i] = result.output;
      scheduler.succeed(i);
      if (this.#emit) this.#emitFinished(i, attempt, 'succeeded', spec, result);
    } else if (
      result.status === 'cancelled' ||
      (scheduler.stopping && result.error?.code === 'CANCELLED')
    ) {
      const changed = scheduler.cancelRunning(i);
      if (this.#emit) this.#emitFinished(i, attempt, 'cancelled', spec, result);
      this.#reportTerminal(changed);
    } else {
      this.#failed(i, attempt, spec, result);
    }
    this.#pump();
  }

  #emitFinished(
    i: number,
    attempt: number,
    status: StageStatus,
    spec: StageSpec,
    result: StageResult,
  ): void {
    const stage = this.#pipeline.stages[i]!;
    this.#emit?.({
      event: 'stage_finished',
      stage: stage.name,
      attempt,
      ts: this.#clock.now(),
      status,
      ...(spec !== stage && status === 'succeeded' && { fallback: spec.name }),
      ...exitCodeOf(result),
    });
  }

  #failed(i: number, attempt: number, spec: StageSpec, result: StageResult): void {
    const stage = this.#pipeline.stages[i]!;
    const error = result.error ?? serializeError(new PipelineError('ERROR', 'stage failed'));
    const scheduler = this.#scheduler;
    const base = {
      stage: stage.name,
      attempt,
      ts: this.#clock.now(),
      error,
      ...exitCodeOf(result),
    };
    // Retries count from the first attempt of whichever stage is running (itself or its fallback).
    const tries = attempt - (this.#onFallback.get(i)?.primaryAttempts ?? 0);
    if (!scheduler.stopping && shouldRetry(spec.retry, tries, error, result.exitCode)) {
      const delayMs = retryDelayMs(spec.retry!, tries, this.#options.random ?? Math.random);
      scheduler.waitForRetry(i);
      this.#emit?.({ ...base, event: 'stage_retrying', delayMs });
      this.#retryTimers.set(
        i,
        this.#clock.setTimer(() => {
          this.#retryTimers.delete(i);
          if (!scheduler.isWaiting(i)) return;
          scheduler.retry(i);
          this.#pump();
        }, delayMs),
      );
      return;
    }
    const fallback =
      stage.fallback === undefined ? undefined : this.#pipeline.fallbacks.get(stage.fallback);
    if (fallback && spec === stage && !scheduler.stopping) {
      this.#emit?.({ ...base, event: 'stage_fallback', fallback: fallback.name });
      this.#onFallback.set(i, { spec: fallback, primaryAttempts: attempt });
      this.#startAttempt(i, fallback);
      return;
    }
    this.#errors.set(i, { error, ...exitCodeOf(result) });
    const changed = scheduler.fail(i);
    this.#emit?.({ ...base, event: 'stage_finished', status: 'failed' });
    this.#reportTerminal(changed);
    if (this.#pipeline.spec.failurePolicy === 'fail_fast')
      this.#abortAll('a stage failed (fail_fast)');
  }

  #cancel(): void {
    if (this.#cancelled || this.#scheduler.done) return;
    this.#cancelled = true;
    this.#reportTerminal(this.#scheduler.stop());
    this.#abortAll('the run was cancelled');
    this.#pump();
  }

  #abortAll(why: string): void {
    for (const timer of this.#retryTimers.values()) this.#clock.clearTimer(timer);
    this.#retryTimers.clear();
    const reason = new PipelineError('CANCELLED', `cancelled: ${why}`);
    this.#stopController.abort(reason);
    for (const controller of this.#controllers) controller?.abort(reason);
  }

  #reportTerminal(stages: readonly number[]): void {
    if (!this.#emit) return;
    for (const d of stages) {
      this.#emit({
        event: 'stage_finished',
        stage: this.#pipeline.stages[d]!.name,
        attempt: this.#attempts[d]!,
        status: this.#scheduler.status(d),
        ts: this.#clock.now(),
      });
    }
  }

  #end(): void {
    const stages: Record<string, StageOutcome> = {};
    let failed = false;
    this.#pipeline.stages.forEach((stage, i) => {
      const status = this.#scheduler.status(i);
      if (status === 'failed' || status === 'upstream_failed') failed = true;
      const outcome: StageOutcome = { status, attempts: this.#attempts[i]! };
      if (status === 'succeeded') outcome.output = this.#outputs[i];
      const failure = this.#errors.get(i);
      if (failure) Object.assign(outcome, failure);
      if (this.#onFallback.has(i)) outcome.fallback = stage.fallback!;
      stages[stage.name] = outcome;
    });
    const status: RunStatus = this.#cancelled ? 'cancelled' : failed ? 'failed' : 'succeeded';
    if (this.#emit) {
      const statuses: Record<string, StageStatus> = {};
      for (const [name, outcome] of Object.entries(stages)) statuses[name] = outcome.status;
      this.#emit({
        event: 'run_finished',
        runId: this.#runId,
        status,
        stages: statuses,
        ts: this.#clock.now(),
      });
    }
    this.#finish({ runId: this.#runId, status, runDir: this.#runDir, stages });
  }
}

function failedResult(error: unknown): StageResult {
  const now = Date.now();
  return { status: 'failed', error: serializeError(error), startedAt: now, endedAt: now };
}

function exitCodeOf(result: StageResult): { exitCode?: number } {
  return result.exitCode === undefined ? {} : { exitCode: result.exitCode };
}

export type { InlineFunction };
