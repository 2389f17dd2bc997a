import type { SerializedError } from '../errors.ts';
import type { StageResult } from '../executors/executor.ts';
import type { StageSpec } from '../graph/pipeline.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { RunEvent } from './events.ts';
import { retryDelayMs, shouldRetry } from './retry.ts';
import type { Scheduler } from './scheduler.ts';

/** What a failed attempt's events say of it, whichever event it leads to. */
export interface AttemptFailure {
  stage: string;
  attempt: number;
  ts: number;
  error: SerializedError;
  exitCode?: number;
  executor: string;
  result: StageResult;
}

/** What recovering from a failure needs of its run. */
export interface RecoveryHost {
  pipeline: ValidPipeline;
  scheduler: Scheduler;
  clock: Clock;
  emit: ((event: RunEvent) => void) | undefined;
  random: () => number;
  /** Starts an attempt of stage `i` running `spec` (its fallback) now. */
  startAttempt(i: number, spec: StageSpec): void;
  /** Starts whatever may start now. */
  pump(): void;
}

/**
 * A run's recovery from failed attempts: a retry after its backoff delay, while the policy
 * allows; then the stage's fallback, once, in its place. Owns the retry timers, so that
 * stopping the run clears them all.
 */
export class RetryAndFallback {
  readonly #host: RecoveryHost;
  readonly #retryTimers = new Map<number, TimerHandle>();
  /** Stages now running their fallback, with the number of attempts the stage itself made. */
  readonly #onFallback = new Map<number, { spec: StageSpec; primaryAttempts: number }>();

  constructor(host: RecoveryHost) {
    this.#host = host;
  }

  /** The fallback stage `i` runs now, if it does. */
  fallbackOf(i: number): StageSpec | undefined {
    // Most runs have none: skip the lookup on the hot path.
    return this.#onFallback.size > 0 ? this.#onFallback.get(i)?.spec : undefined;
  }

  /** Whether stage `i` went on to its fallback. */
  ranFallback(i: number): boolean {
    return this.#onFallback.has(i);
  }

  /**
   * Attempt `failure.attempt` of stage `i`, running `spec`, failed: it is retried later or its
   * fallback starts now (true), or neither applies and the stage fails for good (false).
   */
  recover(i: number, spec: StageSpec, failure: AttemptFailure): boolean {
    const { scheduler, pipeline, emit, clock } = this.#host;
    if (scheduler.stopping) return false;
    // Retries count from the first attempt of whichever stage is running (itself or its fallback).
    const tries = failure.attempt - (this.#onFallback.get(i)?.primaryAttempts ?? 0);
    if (shouldRetry(spec.retry, tries, failure.error, failure.exitCode)) {
      const delayMs = retryDelayMs(spec.retry!, tries, this.#host.random);
      scheduler.waitForRetry(i);
      emit?.({ ...failure, event: 'stage_retrying', delayMs });
      this.#retryTimers.set(
        i,
        clock.setTimer(() => {
          this.#retryTimers.delete(i);
          if (!scheduler.isWaiting(i)) return;
          scheduler.retry(i);
          this.#host.pump();
        }, delayMs),
      );
      return true;
    }
    const stage = pipeline.stages[scheduler.templateOf(i)]!;
    const fallback =
      stage.fallback === undefined ? undefined : pipeline.fallbacks.get(stage.fallback);
    if (!fallback || spec !== stage) return false;
    emit?.({ ...failure, event: 'stage_fallback', fallback: fallback.name });
    this.#onFallback.set(i, { spec: fallback, primaryAttempts: failure.attempt });
    this.#host.startAttempt(i, fallback);
    return true;
  }

  /** The run stops: no retry is started any more. */
  cancelRetries(): void {
    for (const timer of this.#retryTimers.values()) this.#host.clock.clearTimer(timer);
    this.#retryTimers.clear();
  }
}
