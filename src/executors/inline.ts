import { pathToFileURL } from 'node:url';
import { PipelineError, serializeError } from '../errors.ts';
import type { InlineFunction } from '../graph/pipeline.ts';
import type { Executor, StageResult, StageTask } from './executor.ts';
import { createStageContext, type StageContext } from './stage-context.ts';

type ModuleFunction = (context: StageContext) => unknown;

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

  constructor(functions: ReadonlyMap<string, InlineFunction> = new Map()) {
    this.#functions = functions;
  }

  async execute(task: StageTask, signal: AbortSignal): Promise<StageResult> {
    const startedAt = Date.now();
    try {
      signal.throwIfAborted();
      const context = createStageContext(task, signal);
      const output = await abortable(this.#call(task, context), signal);
      return { status: 'succeeded', output, startedAt, endedAt: Date.now() };
    } catch (error) {
      return { status: 'failed', error: serializeError(error), startedAt, endedAt: Date.now() };
    }
  }

  async #call(task: StageTask, context: StageContext): Promise<unknown> {
    const spec = task.spec;
    if (spec.kind === 'inline') {
      const fn = this.#functions.get(task.stage) as
        | ((inputs: unknown, context: StageContext) => unknown)
        | undefined;
      if (!fn) throw new PipelineError('STAGE_NOT_FOUND', `no function for inline stage '${task.stage}'`);
      return fn(task.inputs, context);
    }
    if (spec.kind !== 'module') {
      throw new PipelineError('EXECUTOR_MISMATCH', `the inline executor cannot run a ${spec.kind} stage`);
    }
    const exported = (await this.#load(spec.file))[spec.exportName];
    if (typeof exported !== 'function') {
      throw new PipelineError(
        'EXPORT_NOT_FOUND',
        `${spec.file} has no ${spec.style === 'class' ? 'class' : 'function'} export '${spec.exportName}'`,
      );
    }
    if (spec.style === 'function') return (exported as ModuleFunction)(context);
    const instance = new (exported as new () => { run?: ModuleFunction })();
    if (typeof instance.run !== 'function') {
      throw new PipelineError('EXPORT_NOT_FOUND', `class '${spec.exportName}' in ${spec.file} has no run(context) method`);
    }
    return instance.run(context);
  }

  #load(file: string): Promise<Record<string, unknown>> {
    let loaded = this.#modules.get(file);
    if (!loaded) {
      loaded = import(pathToFileURL(file).href) as Promise<Record<string, unknown>>;
      this.#modules.set(file, loaded);
    }
    return loaded;
  }
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
