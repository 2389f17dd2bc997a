import { availableParallelism } from 'node:os';
import {
  defaultMaxNestedDepth,
  type InlineFunction,
  type PipelineSpec,
  type TaskSpec,
} from '../graph/pipeline.ts';
import { ResourceMonitor } from '../monitor/resource-monitor.ts';
import type { Redactor } from '../secrets/redactor.ts';
import { CommandExecutor, type CommandExecutorOptions } from './command.ts';
import type { Executor } from './executor.ts';
import { InlineExecutor } from './inline.ts';
import { ModuleExecutor } from './module-executor.ts';
import { monitorInProcess } from './monitored-executor.ts';
import { PythonExecutor } from './python.ts';

export interface LocalExecutorOptions {
  /** How commands start and what environment they start from. @default CommandExecutor's */
  command?: CommandExecutorOptions;
  /**
   * Masks its secrets in what module and inline stages log, print and throw: in this process,
   * and in thread and process workers, which are sent its values with each stage. @default none
   */
  redactor?: Redactor;
  /**
   * What inline stages print goes to their `stage.log`, not to this process's stdout and
   * stderr. For the owner of the process's streams (the CLI): it patches them, and tracking
   * which stage a write comes from costs about 1 µs per stage on Node 20. @default false
   */
  captureOutput?: boolean;
  /**
   * Samples every stage's resources; subscribe to it for the samples.
   * @default one sampling every `spec.monitorIntervalMs`
   */
  monitor?: ResourceMonitor;
}

/** The pipeline's resource monitor: every `monitorIntervalMs` (1 s by default; 0: off). */
export function createMonitor(spec: PipelineSpec): ResourceMonitor {
  return new ResourceMonitor({ intervalMs: spec.monitorIntervalMs ?? 1000 });
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
  const monitor = options.monitor ?? createMonitor(spec);
  const redactor = options.redactor;
  const inlineExecutor = new InlineExecutor(functions, {
    maxNestedDepth,
    ...(redactor && !redactor.isEmpty && { redact: (text: string) => redactor.redact(text) }),
    ...(options.captureOutput && { captureOutput: true }),
  });
  const inline = monitorInProcess(inlineExecutor, monitor);
  // Thread workers share this process's figures; process workers are watched over their own.
  const modules = new ModuleExecutor({
    inline: inlineExecutor,
    poolSize: Math.ceil(spec.maxCpus ?? availableParallelism()),
    maxNestedDepth,
    monitor,
    ...(redactor && { redactor }),
  });
  const workers = { thread: 0, process: 0 };
  for (const stage of spec.stages) {
    const task = stage.task;
    if (task.kind === 'module' && task.worker && task.worker !== 'inline' && !task.heapLimitMb)
      workers[task.worker]++;
  }
  modules.warm('thread', workers.thread);
  modules.warm('process', workers.process);
  const command = new CommandExecutor({ monitor, ...options.command });
  const python = new PythonExecutor({ commands: command, maxNestedDepth });
  return { inline, module: modules, command, python };
}
