import type { InlineFunction, PipelineSpec, TaskSpec } from '../graph/pipeline.ts';
import { CommandExecutor } from './command.ts';
import type { Executor } from './executor.ts';
import { InlineExecutor } from './inline.ts';
import { PythonExecutor } from './python.ts';

/**
 * The executors of a local run: inline functions and modules in this process, commands as
 * processes, Python modules as bridge processes started like commands.
 */
export function createExecutors(spec: PipelineSpec): Record<TaskSpec['kind'], Executor> {
  const functions = new Map<string, InlineFunction>();
  for (const stage of spec.stages) if (stage.run) functions.set(stage.name, stage.run);
  const inline = new InlineExecutor(functions);
  const command = new CommandExecutor();
  const python = new PythonExecutor({
    commands: command,
    ...(spec.maxNestedDepth !== undefined && { maxNestedDepth: spec.maxNestedDepth }),
  });
  return { inline, module: inline, command, python };
}
