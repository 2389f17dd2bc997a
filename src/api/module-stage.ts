/**
 * Module stages of the TypeScript API: a stage that names a module export instead of holding a
 * function, so that it can run in a worker thread or a child process (a closure cannot move).
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PipelineError } from '../errors.ts';
import { type ModuleTask, type WorkerType, workerTypes } from '../graph/pipeline.ts';

export interface ModuleTarget {
  /**
   * The module file: a file URL or an absolute path.
   * @example new URL('./work.ts', import.meta.url)
   */
  module: URL | string;
  /** The export to call, as `fn(inputs, context)`, like a stage function. */
  export: string;
  /**
   * `inline` (the orchestrator's event loop), `thread` (a pooled worker thread: CPU-bound code
   * in parallel) or `process` (a pooled child process: a crash cannot end the run).
   * @default 'inline'
   */
  worker?: WorkerType;
  /** V8 heap limit of a thread or process worker, in MB (`--max-old-space-size`). */
  heapLimitMb?: number;
}

const identifier = /^[A-Za-z_$][\w$]*$/;

export function moduleTask(name: string, target: ModuleTarget): ModuleTask {
  const fail = (message: string) =>
    new PipelineError('INVALID_STAGE', `stage '${name}': ${message}`);
  const file = modulePath(target.module);
  if (file === undefined)
    throw fail(
      'module must be a file URL (new URL("./file.ts", import.meta.url)) or an absolute path',
    );
  if (!existsSync(file)) throw fail(`module file not found: ${file}`);
  if (typeof target.export !== 'string' || !identifier.test(target.export))
    throw fail(
      `export must name a function exported by ${file}, got ${JSON.stringify(target.export)}`,
    );
  const worker = target.worker ?? 'inline';
  if (!workerTypes.includes(worker))
    throw fail(`worker must be one of ${workerTypes.join(', ')}, got ${JSON.stringify(worker)}`);
  const task: ModuleTask = { kind: 'module', file, exportName: target.export, style: 'stage' };
  if (worker !== 'inline') task.worker = worker;
  if (target.heapLimitMb !== undefined) {
    if (worker === 'inline')
      throw fail("heapLimitMb applies only to worker: 'thread' or 'process'");
    if (!Number.isInteger(target.heapLimitMb) || target.heapLimitMb < 16)
      throw fail(`heapLimitMb must be an integer number of MB ≥ 16, got ${target.heapLimitMb}`);
    task.heapLimitMb = target.heapLimitMb;
  }
  return task;
}

/** A stage function given with a worker that needs a module: say what to do instead. */
export function functionWorkerError(name: string, worker: unknown): PipelineError {
  return new PipelineError(
    'INVALID_STAGE',
    `stage '${name}': worker: ${JSON.stringify(worker)} needs a module export, not a function (a function defined in place cannot move to another thread or process); give { module: new URL('./file.ts', import.meta.url), export: 'name', worker: ${JSON.stringify(worker)} } and no function`,
  );
}

function modulePath(module: unknown): string | undefined {
  if (module instanceof URL) return module.protocol === 'file:' ? fileURLToPath(module) : undefined;
  if (typeof module !== 'string') return undefined;
  if (module.startsWith('file:')) return fileURLToPath(module);
  return isAbsolute(module) ? module : undefined;
}
