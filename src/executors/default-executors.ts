import type { InlineFunction, PipelineSpec, TaskSpec } from '../graph/pipeline.ts';
import { ResourceMonitor } from '../monitor/resource-monitor.ts';
import { CommandExecutor, type CommandExecutorOptions } from './command.ts';
import type { Executor } from './executor.ts';
import { InlineExecutor } from './inline.ts';
import { monitorInProcess } from './monitored-executor.ts';
import { PythonExecutor } from './python.ts';

export interface LocalExecutorOptions {
  /** How commands start and what environment they start from. @default CommandExecutor's */
  command?: CommandExecutorOptions;
  /** Masks secrets in what in-process stages log. @default none */
  redact?: (text: string) => string;
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
 * The executors of a local run: inline functions and modules in this process, commands as
 * processes, Python modules as bridge processes started like commands (so that their output is
 * masked the same way).
 */
export function createExecutors(
  spec: PipelineSpec,
  options: LocalExecutorOptions = {},
): Record<TaskSpec['kind'], Executor> {
  const functions = new Map<string, InlineFunction>();
  for (const stage of spec.stages) if (stage.run) functions.set(stage.name, stage.run);
  const monitor = options.monitor ?? createMonitor(spec);
  const inline = monitorInProcess(
    new InlineExecutor(functions, options.redact ? { redact: options.redact } : {}),
    monitor,
  );
  const command = new CommandExecutor({ monitor, ...options.command });
  const python = new PythonExecutor({
    commands: command,
    ...(spec.maxNestedDepth !== undefined && { maxNestedDepth: spec.maxNestedDepth }),
  });
  return { inline, module: inline, command, python };
}
