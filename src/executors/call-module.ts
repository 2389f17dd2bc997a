import { PipelineError } from '../errors.ts';
import type { ModuleTask } from '../graph/pipeline.ts';
import { importModule } from './import-module.ts';
import type { StageContext } from './stage-context.ts';

type ContextFunction = (context: StageContext) => unknown;
type StageFunction = (inputs: unknown, context: StageContext) => unknown;

/**
 * Loads module files once each and calls their exports as a module task says: the same code
 * runs a module stage on the orchestrator's event loop, in a worker thread and in a child process.
 */
export class ModuleCaller {
  readonly #modules = new Map<string, Promise<Record<string, unknown>>>();

  async call(spec: ModuleTask, inputs: unknown, context: StageContext): Promise<unknown> {
    const exports = await this.#load(spec.file);
    const exported = exports[spec.exportName];
    const what = spec.style === 'class' ? 'class' : 'function';
    if (typeof exported !== 'function') {
      throw new PipelineError(
        'EXPORT_NOT_FOUND',
        `${spec.file} has no ${what} export '${spec.exportName}'`,
      );
    }
    if (spec.style === 'function') return (exported as ContextFunction)(context);
    if (spec.style === 'stage') return (exported as StageFunction)(inputs, context);
    const instance = new (exported as new () => { run?: ContextFunction })();
    if (typeof instance.run !== 'function') {
      throw new PipelineError(
        'EXPORT_NOT_FOUND',
        `class '${spec.exportName}' in ${spec.file} has no run(context) method`,
      );
    }
    return instance.run(context);
  }

  #load(file: string): Promise<Record<string, unknown>> {
    let loaded = this.#modules.get(file);
    if (!loaded) {
      loaded = importModule(file);
      this.#modules.set(file, loaded);
    }
    return loaded;
  }
}
