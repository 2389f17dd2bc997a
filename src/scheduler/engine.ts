import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import {
  ConfigError,
  issueInFile,
  PipelineError,
  type SerializedError,
  StageTimeoutError,
  serializeError,
} from '../errors.ts';
import type { StageResult, StageTask } from '../executors/executor.ts';
import type {
  InlineFunction,
  PipelineSpec,
  RunStatus,
  StageSpec,
  StageStatus,
} from '../graph/pipeline.ts';
import { memoryRequestMb } from '../graph/resources.ts';
import { type ValidPipeline, validatePipeline } from '../graph/validate.ts';
import { hostCapacityFor } from '../monitor/host-capacity.ts';
import { type Clock, systemClock, type TimerHandle } from './clock.ts';
import type { RunEvent } from './events.ts';
import { resourceRequests } from './resource-requests.ts';
import { retryDelayMs, shouldRetry } from './retry.ts';
import type { PriorStage, RunOptions, RunResult, StageOutcome } from './run-types.ts';
import { Scheduler } from './scheduler.ts';

/**
 * Validates a pipeline (unless given one already validated) and runs it to the end; resolves
 * (never rejects) once every stage is terminal.
 */
export async function runPipeline(
  pipeline: PipelineSpec | ValidPipeline,
  options: RunOptions,
): Promise<RunResult> {
  if ('graph' in pipeline) return new Run(pipeline, options).start();
  const validated = validatePipeline(pipeline, await hostCapacityFor(pipeline, options));
  if (!('pipeline' in validated)) {
    throw new ConfigError(validated.issues.map((issue) => issueInFile(issue, pipeline.source)));
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
  /** Some stage requests GPUs: every stage then gets its lease, empty or not. */
  readonly #leasesGpus: boolean;
  #cancelled = false;
  #finish: (result: RunResult) => void = () => {};

  constructor(pipeline: ValidPipeline, options: RunOptions) {
    this.#pipeline = pipeline;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    const n = pipeline.stages.length;
    const { cpus, memoryMb, gpus } = resourceRequests(pipeline);
    this.#leasesGpus = gpus !== undefined;
    this.#outputs = new Array(n);
    this.#attempts = new Int32Array(n);
    const finished = this.#applyPrevious(options.previous);
    this.#scheduler = new Scheduler(pipeline.graph, {
      mode: pipeline.spec.mode,
      failurePolicy: pipeline.spec.failurePolicy,
      maxCpus: pipeline.maxCpus,
      cpus,
      ...(memoryMb && { maxMemoryMb: pipeline.pool.memoryMb, memoryMb }),
      ...(gpus && { gpuIds: pipeline.pool.gpuIds, gpus }),
      finished,
    });
    this.#runId = options.runId ?? newRunId();
    this.#workspaceRoot = resolve(options.workspaceRoot ?? '.');
    this.#runDir = options.runDir ?? join(this.#workspaceRoot, '.gpipe', 'runs', this.#runId);
    this.#emit = options.onEvent;
    this.#attemptSpec = new Array(pipeline.stages.length);
    this.#controllers = new Array(pipeline.stages.length);
    this.#timers = new Array(pipeline.stages.length);
  }

  /** Outputs and attempt counts of stages finished before the run; returns them by index. */
  #applyPrevious(
    previous: ReadonlyMap<string, PriorStage> | undefined,
  ): Map<number, 'succeeded' | 'cached' | 'skipped'> | undefined {
    if (!previous || previous.size === 0) return undefined;
    const finished = new Map<number, 'succeeded' | 'cached' | 'skipped'>();
    const index = this.#pipeline.graph.indexOf;
    for (const [name, prior] of previous) {
      const i = index.get(name);
      if (i === undefined) continue;
      this.#attempts[i] = prior.attempts;
      if (prior.status === undefined) continue;
      finished.set(i, prior.status);
      this.#outputs[i] = prior.output;
    }
    return finished;
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
      ...(this.#options.previous && this.#announcePrevious()),
    });
    this.#reportPrevious();
    const signal = this.#options.signal;
    if (signal?.aborted) this.#cancel();
    else signal?.addEventListener('abort', () => this.#cancel(), { once: true });
    this.#pump();
    return done;
  }

  #announcePrevious(): { resumed?: boolean; reused: number } {
    let reused = 0;
    for (const prior of this.#options.previous!.values()) if (prior.status) reused++;
    return this.#options.resumed ? { resumed: true, reused } : { reused };
  }

  /** Stages finished before the run: one `reused` event each, so that views count them. */
  #reportPrevious(): void {
    const previous = this.#options.previous;
    if (!this.#emit || !previous) return;
    const ts = this.#clock.now();
    for (const [stage, prior] of previous) {
      if (prior.status === undefined || !this.#pipeline.graph.indexOf.has(stage)) continue;
      this.#emit({
        event: 'stage_finished',
        stage,
        attempt: prior.attempts,
        status: prior.status,
        ts,
        reused: true,
      });
    }
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
    const paths: StageTask['paths'] = {
      workspaceRoot: this.#workspaceRoot,
      runDir: this.#runDir,
      // Stage names are checked to be safe path segments, so plain concatenation is enough.
      stageDir: `${this.#runDir}/${spec.name}`,
    };
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
      paths,
    };
    task.resources = { cpus: stage.cpus, memoryMb: memoryRequestMb(stage) };
    if (this.#leasesGpus) task.resources.gpuIds = this.#scheduler.gpuIdsOf(i);
    if (spec.timeoutMs !== undefined) task.timeoutMs = spec.timeoutMs;
    if (spec.memoryLimitMb !== undefined) task.memoryLimitMb = spec.memoryLimitMb;
    if (spec.params !== undefined) task.params = spec.params;
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
      const status = result.cache?.hit ? 'cached' : 'succeeded';
      scheduler.succeed(i, status);
      if (this.#emit) this.#emitFinished(i, attempt, status, spec, result);
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
      executor: spec.task.kind,
      result,
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
      executor: spec.task.kind,
      result,
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
      if (status === 'succeeded' || status === 'cached') outcome.output = this.#outputs[i];
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

export type { PriorStage, RunOptions, RunResult, StageOutcome } from './run-types.ts';
export type { InlineFunction };
