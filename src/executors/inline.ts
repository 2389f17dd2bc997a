import { PipelineError, serializeError } from '../errors.ts';
import type { InlineFunction } from '../graph/pipeline.ts';
import type { Executor, StageResult, StageTask } from './executor.ts';
import { importModule } from './import-module.ts';
import { createStageContext, type StageContext } from './stage-context.ts';

type ModuleFunction = (context: StageContext) => unknown;
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
  readonly #modules = new Map<string, Promise<Record<string, unknown>>>();
  /**
   * Attempts waiting on each signal. Many stages share the run's signal: one listener per
   * signal and a set entry per attempt cost far less than a listener per attempt.
   */
  readonly #waiting = new WeakMap<AbortSignal, Set<Reject>>();

  readonly #redact: ((text: string) => string) | undefined;

  /** `redact` masks secrets in what stages write with `context.log`. @default none */
  constructor(
    functions: ReadonlyMap<string, InlineFunction> = new Map(),
    options: { redact?: (text: string) => string } = {},
  ) {
    this.#functions = functions;
    this.#redact = options.redact;
  }

  execute(task: StageTask, signal: AbortSignal): Promise<StageResult> {
    const startedAt = Date.now();
    let value: unknown;
    try {
      signal.throwIfAborted();
      value = this.#call(task, createStageContext(task, signal, this.#redact));
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
    return this.#load(spec.file).then((exports) => {
      const exported = exports[spec.exportName];
      const what = spec.style === 'class' ? 'class' : 'function';
      if (typeof exported !== 'function') {
        throw new PipelineError(
          'EXPORT_NOT_FOUND',
          `${spec.file} has no ${what} export '${spec.exportName}'`,
        );
      }
      if (spec.style === 'function') return (exported as ModuleFunction)(context);
      const instance = new (exported as new () => { run?: ModuleFunction })();
      if (typeof instance.run !== 'function') {
        throw new PipelineError(
          'EXPORT_NOT_FOUND',
          `class '${spec.exportName}' in ${spec.file} has no run(context) method`,
        );
      }
      return instance.run(context);
    });
  }

  #load(file: string): Promise<Record<string, unknown>> {
    let loaded = this.#modules.get(file);
    if (!loaded) {
      loaded = importModule(file);
      this.#modules.set(file, loaded);
    }
    return loaded;
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
