import { PipelineError, serializeError } from '../errors.ts';
import type { InlineFunction } from '../graph/pipeline.ts';
import { whenAborted } from './abort-listeners.ts';
import { ModuleCaller } from './call-module.ts';
import type { Executor, StageResult, StageTask } from './executor.ts';
import { stageOutputLines, withStageOutput } from './inline-output.ts';
import {
  createStageContext,
  logErrorStack,
  type StageContext,
  wroteMetrics,
} from './stage-context.ts';

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

  readonly #redact: ((text: string) => string) | undefined;
  readonly #captureOutput: boolean;

  /**
   * `redact` masks secrets in what stages write with `context.log`; `maxNestedDepth` bounds
   * `context.executeTasks` / `context.map`; `captureOutput` sends what stages print to their
   * stage.log (inline-output.ts). @default no masking, depth 3, no capture
   */
  constructor(
    functions: ReadonlyMap<string, InlineFunction> = new Map(),
    options: {
      redact?: (text: string) => string;
      maxNestedDepth?: number;
      captureOutput?: boolean;
    } = {},
  ) {
    this.#functions = functions;
    this.#redact = options.redact;
    this.#maxNestedDepth = options.maxNestedDepth;
    this.#captureOutput = options.captureOutput ?? false;
  }

  execute(task: StageTask, signal: AbortSignal): Promise<StageResult> {
    const startedAt = Date.now();
    let value: unknown;
    const context = createStageContext(task, signal, {
      ...(this.#maxNestedDepth !== undefined && { maxNestedDepth: this.#maxNestedDepth }),
      ...(this.#redact && { redact: this.#redact }),
    });
    // What the function prints goes to its stage.log, not to gpipe's stdout (inline-output.ts).
    const lines = this.#captureOutput
      ? stageOutputLines(task.paths.stageDir, this.#redact)
      : undefined;
    try {
      signal.throwIfAborted();
      value = lines
        ? withStageOutput(lines, this.#callBound, task, context)
        : this.#call(task, context);
    } catch (error) {
      lines?.end();
      return Promise.resolve(withMetrics(this.#failed(error, task, signal, startedAt), context));
    }
    if (!isThenable(value)) {
      lines?.end();
      return Promise.resolve(
        withMetrics(
          { status: 'succeeded', output: value, startedAt, endedAt: Date.now() },
          context,
        ),
      );
    }
    return this.#abortable(value, signal).then(
      (output): StageResult => {
        lines?.end();
        return withMetrics(
          { status: 'succeeded', output, startedAt, endedAt: Date.now() },
          context,
        );
      },
      (error: unknown) => {
        lines?.end();
        return withMetrics(this.#failed(error, task, signal, startedAt), context);
      },
    );
  }

  readonly #callBound = (task: StageTask, context: StageContext): unknown =>
    this.#call(task, context);

  /** The stage's own error leaves its stack in stage.log; a timeout or cancellation does not. */
  #failed(error: unknown, task: StageTask, signal: AbortSignal, startedAt: number): StageResult {
    const result = failed(error, startedAt);
    if (error !== signal.reason) logErrorStack(task.paths.stageDir, result.error, this.#redact);
    return result;
  }

  #call(task: StageTask, context: StageContext): unknown {
    const spec = task.spec;
    if (spec.kind === 'inline') {
      // A fan-out instance (`resize[3]`) runs its mapped stage's function.
      const fn = this.#functions.get(task.item?.of ?? task.stage) as
        | ((first: unknown, second: unknown, third?: unknown) => unknown)
        | undefined;
      if (!fn)
        throw new PipelineError('STAGE_NOT_FOUND', `no function for inline stage '${task.stage}'`);
      // `stage.map` functions take their item first: (item, context, inputs).
      return task.item ? fn(task.item.value, context, task.inputs) : fn(task.inputs, context);
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
    return new Promise((resolve, reject) => {
      const unsubscribe = whenAborted(signal, () => reject(signal.reason));
      work.then(
        (value) => {
          unsubscribe();
          resolve(value);
        },
        (error: unknown) => {
          unsubscribe();
          reject(error);
        },
      );
    });
  }
}

function withMetrics(result: StageResult, context: StageContext): StageResult {
  if (wroteMetrics(context)) result.wroteMetrics = true;
  return result;
}

function failed(error: unknown, startedAt: number): StageResult {
  return { status: 'failed', error: serializeError(error), startedAt, endedAt: Date.now() };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
