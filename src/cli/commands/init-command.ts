import { ExitCode, InputError } from '../../errors.ts';
import { initOperators } from '../../init/init-operators.ts';
import type { CliIo } from '../cli-io.ts';
import { isTomlFile, loadConfiguredPipeline } from '../load-valid-pipeline.ts';
import {
  type PipelineFileOptions,
  pipelineFileOf,
  tomlLoadOptions,
} from '../pipeline-file-options.ts';
import { workspaceOf } from './run-command.ts';

export interface InitCommandOptions extends PipelineFileOptions {
  workspace?: string;
}

/**
 * `init FILE` (SPEC D1): checks the TOML pipeline, then brings every operator's code to its
 * git tag in `<project_root>/operators/<operator_id>`; at the tag already, nothing is done.
 */
export async function initCommand(
  fileArgument: string | undefined,
  options: InitCommandOptions,
  io: CliIo,
): Promise<number> {
  const file = pipelineFileOf(fileArgument, options);
  if (!isTomlFile(file)) {
    throw new InputError(`init applies to TOML pipelines (operator code in git), not to ${file}`);
  }
  const projectRoot = workspaceOf(options, io);
  const configured = await loadConfiguredPipeline(
    file,
    io,
    tomlLoadOptions(options, io, projectRoot),
  );
  const toml = configured.toml!; // a .toml file loads as one
  const outcomes = await initOperators(toml.operators, projectRoot, (line) =>
    io.stdout.write(`${line}\n`),
  );
  const changed = outcomes.filter((outcome) => outcome.action !== 'up-to-date').length;
  io.stdout.write(
    `initialised pipeline '${toml.spec.name}': ${outcomes.length} operator(s), ${changed} changed\n`,
  );
  return ExitCode.ok;
}
