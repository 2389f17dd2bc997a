import { PipelineError, serializeError } from '../errors.ts';
import type { InlineFunction } from '../graph/pipeline.ts';
import { ModuleCaller } from './call-module.ts';
import type { Executor, StageResult, StageTask } from './executor.ts';
import { createStageContext, type StageContext } from './stage-context.ts';

type Reject = (reason: unknown) => void;

/**
 * Runs stages on the orchestrator's event loop: inline functions of the TypeScript API, and
 * JavaScript / TypeScript module exports (`script: file.ts:fn`, `path: file.ts:Class`).
 *
 * A function that ignores its AbortSignal cannot be stopped from here; on timeout or
 * cancellation the attempt ends at once and the function's late result is dropped.
 */
export class InlineExecutor implements Executor {
  readonly #functions: ReadonlyMap<string, InlineFunction>;
  readonly #modules = new ModuleCaller();
  readonly #maxNestedDepth: number | undefined;
  /**
   * Attempts waiting on each signal. Many stages share the run's signal: one listener per
   * signal and a set entry per attempt cost far less than a listener per attempt.
   */
  readonly #waiting = new WeakMap<AbortSignal, Set<Reject>>();

  constructor(functions: ReadonlyMap<string, InlineFunction> = new Map(), maxNestedDepth?: number) {
    this.#functions = functions;
    this.#maxNestedDepth = maxNestedDepth;
  }

  execute(task: StageTask, signal: AbortSignal): Promise<StageResult> {
    const startedAt = Date.now();
    let value: unknown;
    try {
      signal.throwIfAborted();
      value = this.#call(task, createStageContext(task, signal, this.#maxNestedDepth));
    } catch (error) {
      return Promise.resolve(failed(error, startedAt));
    }
    if (!isThenable(value)) {
      return Promise.resolve({
        status: 'succeeded',
        output: value,
        startedAt,
        endedAt: Date.now(),
      });
    }
    return this.#abortable(value, signal).then(
      (output): StageResult => ({ status: 'succeeded', output, startedAt, endedAt: Date.now() }),
      (error: unknown) => failed(error, startedAt),
    );
  }

  #call(task: StageTask, context: StageContext): unknown {
    const spec = task.spec;
    if (spec.kind === 'inline') {
      const fn = this.#functions.get(task.stage) as
        | ((inputs: unknown, context: StageContext) => unknown)
        | undefined;
      if (!fn)
        throw new PipelineError('STAGE_NOT_FOUND', `no function for inline stage '${task.stage}'`);
      return fn(task.inputs, context);
    }
    if (spec.kind !== 'module') {
      throw new PipelineError(
        'EXECUTOR_MISMATCH',
        `the inline executor cannot run a ${spec.kind} stage`,
      );
    }
    return this.#modules.call(spec, task.inputs, context);
  }

  /** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
  #abortable(work: PromiseLike<unknown>, signal: AbortSignal): Promise<unknown> {
    let waiting = this.#waiting.get(signal);
    if (!waiting) {
      const set = new Set<Reject>();
      waiting = set;
      this.#waiting.set(signal, set);
      signal.addEventListener(
        'abort',
        () => {
          for (const reject of set) reject(signal.reason);
          set.clear();
        },
        { once: true },
      );
    }
    const set = waiting;
    return new Promise((resolve, reject) => {
      set.add(reject);
      work.then(
        (value) => {
          set.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          set.delete(reject);
          reject(error);
        },
      );
    });
  }
}

function failed(error: unknown, startedAt: number): StageResult {
  return { status: 'failed', error: serializeError(error), startedAt, endedAt: Date.now() };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
