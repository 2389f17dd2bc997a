import type { InlineFunction, PipelineSpec, TaskSpec } from '../graph/pipeline.ts';
import { CommandExecutor, type CommandExecutorOptions } from './command.ts';
import type { Executor } from './executor.ts';
import { InlineExecutor } from './inline.ts';
import { PythonExecutor } from './python.ts';

export interface LocalExecutorOptions {
  /** How commands start and what environment they start from. @default CommandExecutor's */
  command?: CommandExecutorOptions;
  /** Masks secrets in what in-process stages log. @default none */
  redact?: (text: string) => string;
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
  const inline = new InlineExecutor(functions, options.redact ? { redact: options.redact } : {});
  const command = new CommandExecutor(options.command);
  const python = new PythonExecutor({
    commands: command,
    ...(spec.maxNestedDepth !== undefined && { maxNestedDepth: spec.maxNestedDepth }),
  });
  return { inline, module: inline, command, python };
}
