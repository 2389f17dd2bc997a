import { availableParallelism } from 'node:os';
import {
  defaultMaxNestedDepth,
  type InlineFunction,
  type PipelineSpec,
  type TaskSpec,
} from '../graph/pipeline.ts';
import { CommandExecutor } from './command.ts';
import type { Executor } from './executor.ts';
import { InlineExecutor } from './inline.ts';
import { ModuleExecutor } from './module-executor.ts';

/**
 * The executors of a local run: inline functions in this process, modules inline or in pooled
 * worker threads or processes, commands as processes.
 */
export function createExecutors(spec: PipelineSpec): Record<TaskSpec['kind'], Executor> {
  const functions = new Map<string, InlineFunction>();
  for (const stage of spec.stages) if (stage.run) functions.set(stage.name, stage.run);
  const maxNestedDepth = spec.maxNestedDepth ?? defaultMaxNestedDepth;
  const inline = new InlineExecutor(functions, maxNestedDepth);
  const module = new ModuleExecutor({
    inline,
    poolSize: Math.ceil(spec.maxCpus ?? availableParallelism()),
    maxNestedDepth,
  });
  const workers = { thread: 0, process: 0 };
  for (const stage of spec.stages) {
    const task = stage.task;
    if (task.kind === 'module' && task.worker && task.worker !== 'inline' && !task.heapLimitMb)
      workers[task.worker]++;
  }
  module.warm('thread', workers.thread);
  module.warm('process', workers.process);
  return { inline, module, command: new CommandExecutor() };
}
