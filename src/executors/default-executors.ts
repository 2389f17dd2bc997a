import { availableParallelism } from 'node:os';
import {
  defaultMaxNestedDepth,
  type InlineFunction,
  type PipelineSpec,
  type TaskSpec,
} from '../graph/pipeline.ts';
import { CommandExecutor, type CommandExecutorOptions } from './command.ts';
import type { Executor } from './executor.ts';
import { InlineExecutor } from './inline.ts';
import { ModuleExecutor } from './module-executor.ts';
import { PythonExecutor } from './python.ts';

export interface LocalExecutorOptions {
  /** How commands start and what environment they start from. @default CommandExecutor's */
  command?: CommandExecutorOptions;
  /** Masks secrets in what in-process stages log. @default none */
  redact?: (text: string) => string;
}

/**
 * The executors of a local run: inline functions in this process, modules inline or in pooled
 * worker threads or processes, commands as processes, Python modules as bridge processes
 * started like commands (so that their output is masked the same way).
 */
export function createExecutors(
  spec: PipelineSpec,
  options: LocalExecutorOptions = {},
): Record<TaskSpec['kind'], Executor> {
  const functions = new Map<string, InlineFunction>();
  for (const stage of spec.stages) if (stage.run) functions.set(stage.name, stage.run);
  const maxNestedDepth = spec.maxNestedDepth ?? defaultMaxNestedDepth;
  const inline = new InlineExecutor(functions, {
    maxNestedDepth,
    ...(options.redact && { redact: options.redact }),
  });
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
  const command = new CommandExecutor(options.command);
  const python = new PythonExecutor({ commands: command, maxNestedDepth });
  return { inline, module, command, python };
}
