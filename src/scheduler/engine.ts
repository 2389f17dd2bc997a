import { join, resolve } from 'node:path';
import {
  ConfigError,
  issueInFile,
  PipelineError,
  type SerializedError,
  StageTimeoutError,
  serializeError,
} from '../errors.ts';
import type { StageResult } from '../executors/executor.ts';
import type { InlineFunction, PipelineSpec, StageSpec, StageStatus } from '../graph/pipeline.ts';
import { type ValidPipeline, validatePipeline } from '../graph/validate.ts';
import { hostCapacityFor } from '../monitor/host-capacity.ts';
import { type Clock, systemClock, type TimerHandle } from './clock.ts';
import type { RunEvent } from './events.ts';
import { FanOutRun } from './fan-out-run.ts';
import { pipelineScheduler } from './pipeline-scheduler.ts';
import { announcePrior, applyPrior, reportPrior } from './prior-stages.ts';
import { type AttemptFailure, RetryAndFallback } from './retry-fallback.ts';
import { newRunId } from './run-id.ts';
import { runOutcome } from './run-outcome.ts';
import type { RunOptions, RunResult } from './run-types.ts';
import type { Scheduler } from './scheduler.ts';
import { buildStageTask, type TaskSetting } from './stage-task.ts';
import { TurnBudget } from './turn-budget.ts';

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

export { newRunId } from './run-id.ts';

class Run {
  readonly #pipeline: ValidPipeline;
  readonly #options: RunOptions;
  readonly #clock: Clock;
  readonly #scheduler: Scheduler;
  readonly #runId: string;
  readonly #workspaceRoot: string;
  readonly #runDir: string;
  readonly #emit: ((event: RunEvent) => void) | undefined;
  /** By node: stages of the graph, then fan-out instances as the scheduler makes them. */
  readonly #outputs: unknown[];
  readonly #attempts: number[];
  readonly #fanOut: FanOutRun;
  readonly #setting: TaskSetting;
  /** For each running stage, what runs: the stage itself, or its fallback. */
  readonly #attemptSpec: (StageSpec | undefined)[];
  /** Only stages with a timeout have their own; the others share #stopController's signal. */
  readonly #controllers: (AbortController | undefined)[];
  readonly #timers: (TimerHandle | undefined)[];
  readonly #errors = new Map<number, { error: SerializedError; exitCode?: number }>();
  readonly #recovery: RetryAndFallback;
  /** Aborted when the run stops: every running stage without a timeout listens to it. */
  readonly #stopController = new AbortController();
  /** Some stage requests GPUs: every stage then gets its lease, empty or not. */
  readonly #leasesGpus: boolean;
  /** Starts stop when a turn of the event loop has lasted long enough (turn-budget.ts). */
  readonly #turn = new TurnBudget(() => this.#pump());
  #cancelled = false;
  #finish: (result: RunResult) => void = () => {};

  constructor(pipeline: ValidPipeline, options: RunOptions) {
    this.#pipeline = pipeline;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    const n = pipeline.stages.length;
    this.#outputs = new Array(n);
    this.#attempts = new Array<number>(n).fill(0);
    const finished = applyPrior(pipeline, options.previous, this.#outputs, this.#attempts);
    const outputs = this.#outputs;
    const onMapped = options.onEvent
      ? (template: number, over: number, items: number) =>
          this.#fanOut.mapped(template, over, items)
      : undefined;
    const { scheduler, leasesGpus } = pipelineScheduler(pipeline, finished, outputs, onMapped);
    this.#scheduler = scheduler;
    this.#leasesGpus = leasesGpus;
    this.#runId = options.runId ?? newRunId();
    this.#workspaceRoot = resolve(options.workspaceRoot ?? '.');
    this.#runDir = options.runDir ?? join(this.#workspaceRoot, '.gpipe', 'runs', this.#runId);
    this.#emit = options.onEvent;
    this.#attemptSpec = new Array(pipeline.stages.length);
    this.#controllers = new Array(pipeline.stages.length);
    this.#timers = new Array(pipeline.stages.length);
    this.#fanOut = new FanOutRun({
      pipeline,
      scheduler: this.#scheduler,
      outputs,
      attempts: this.#attempts,
      clock: this.#clock,
      emit: this.#emit,
      previous: options.previous,
      runDir: this.#runDir,
    });
    this.#setting = {
      runId: this.#runId,
      pipeline,
      workspaceRoot: this.#workspaceRoot,
      runDir: this.#runDir,
      outputs,
    };
    this.#recovery = new RetryAndFallback({
      pipeline,
      scheduler: this.#scheduler,
      clock: this.#clock,
      emit: this.#emit,
      random: options.random ?? Math.random,
      startAttempt: (i, spec) => this.#startAttempt(i, spec),
      pump: () => this.#pump(),
    });
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
      ...announcePrior(this.#options),
    });
    reportPrior(this.#pipeline, this.#options.previous, this.#emit, this.#clock);
    this.#reportTerminal(this.#scheduler.begin());
    const signal = this.#options.signal;
    if (signal?.aborted) this.#cancel();
    else signal?.addEventListener('abort', () => this.#cancel(), { once: true });
    this.#pump();
    return done;
  }

  #pump(): void {
    if (!this.#turn.allows()) return;
    const scheduler = this.#scheduler;
    const n = this.#pipeline.stages.length;
    for (let i = scheduler.next(); i >= 0; i = scheduler.next()) {
      if (i >= n) {
        const reused = this.#fanOut.reuse(i);
        if (reused) {
          this.#reportTerminal(reused);
          continue;
        }
      }
      const fallback = this.#recovery.fallbackOf(i);
      this.#startAttempt(i, fallback ?? this.#pipeline.stages[scheduler.templateOf(i)]!);
    }
    if (scheduler.done) this.#end();
  }

  #startAttempt(i: number, spec: StageSpec): void {
    const attempt = ++this.#attempts[i]!;
    const template = this.#scheduler.templateOf(i);
    if (template !== i) this.#fanOut.started(template);
    const stage = this.#pipeline.stages[template]!;
    const name = template === i ? stage.name : this.#fanOut.items.nameOf(i);
    const executor = this.#options.executors[spec.task.kind];
    let controller: AbortController | undefined;
    let timer: TimerHandle | undefined;
    if (spec.timeoutMs !== undefined) {
      const own = new AbortController();
      controller = own;
      timer = this.#clock.setTimer(
        () => own.abort(new StageTimeoutError(name, spec.timeoutMs!)),
        spec.timeoutMs,
      );
    }
    this.#attemptSpec[i] = spec;
    this.#controllers[i] = controller;
    this.#timers[i] = timer;
    this.#emit?.({
      event: 'stage_started',
      stage: name,
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
    executor.execute(this.#task(i, spec, attempt, name), signal).then(
      (result) => this.#settle(i, attempt, result),
      (error: unknown) => this.#settle(i, attempt, failedResult(error)),
    );
  }

  #task(i: number, spec: StageSpec, attempt: number, name: string) {
    const template = this.#scheduler.templateOf(i);
    const task = buildStageTask(
      this.#setting,
      template,
      spec,
      attempt,
      template === i ? undefined : { name, item: this.#fanOut.items.itemOf(i) },
    );
    if (this.#leasesGpus && task.resources) task.resources.gpuIds = this.#scheduler.gpuIdsOf(i);
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
      const changed = scheduler.succeed(i, status);
      if (this.#emit) this.#emitFinished(i, attempt, status, spec, result);
      this.#reportTerminal(changed);
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
    const stage = this.#pipeline.stages[this.#scheduler.templateOf(i)]!;
    this.#emit?.({
      event: 'stage_finished',
      stage: this.#fanOut.items.nameOf(i),
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
    const scheduler = this.#scheduler;
    const template = scheduler.templateOf(i);
    const name = this.#fanOut.items.nameOf(i);
    const error = result.error ?? serializeError(new PipelineError('ERROR', 'stage failed'));
    const failure: AttemptFailure = {
      stage: name,
      attempt,
      ts: this.#clock.now(),
      error,
      ...exitCodeOf(result),
      executor: spec.task.kind,
      result,
    };
    if (this.#recovery.recover(i, spec, failure)) return;
    this.#errors.set(i, { error, ...exitCodeOf(result) });
    if (template !== i) {
      this.#fanOut.itemFailed(template, name);
    }
    const changed = scheduler.fail(i);
    this.#emit?.({ ...failure, event: 'stage_finished', status: 'failed' });
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
    this.#recovery.cancelRetries();
    const reason = new PipelineError('CANCELLED', `cancelled: ${why}`);
    this.#stopController.abort(reason);
    for (const controller of this.#controllers) controller?.abort(reason);
  }

  #reportTerminal(stages: readonly number[]): void {
    this.#fanOut.announceMapped();
    const scheduler = this.#scheduler;
    for (const d of stages) {
      if (scheduler.isMapped(d)) {
        const error = this.#fanOut.ended(d);
        if (error) this.#errors.set(d, { error });
        continue;
      }
      if (!this.#emit) continue;
      this.#emit({
        event: 'stage_finished',
        stage: this.#fanOut.items.nameOf(d),
        attempt: this.#attempts[d] ?? 0,
        status: scheduler.status(d),
        ts: this.#clock.now(),
      });
    }
  }

  #end(): void {
    const { status, stages } = runOutcome({
      pipeline: this.#pipeline,
      scheduler: this.#scheduler,
      items: this.#fanOut.items,
      attempts: this.#attempts,
      outputs: this.#outputs,
      errors: this.#errors,
      recovery: this.#recovery,
      cancelled: this.#cancelled,
    });
    this.#emit?.({
      event: 'run_finished',
      runId: this.#runId,
      status,
      // Every stage's status, by name: made when read (`--json` prints it), not for every
      // listener — 100,000 stages are a tenth of a second of it.
      get stages() {
        const statuses: Record<string, StageStatus> = {};
        for (const name in stages) statuses[name] = stages[name]!.status;
        Object.defineProperty(this, 'stages', {
          value: statuses,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        return statuses;
      },
      ts: this.#clock.now(),
    });
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
