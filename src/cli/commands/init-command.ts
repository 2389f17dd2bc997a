import { ExitCode } from '../../errors.ts';
import { initEnvironments } from '../../init/environments/init-environments.ts';
import { initOperators } from '../../init/init-operators.ts';
import type { CliIo } from '../cli-io.ts';
import { isTomlFile, loadConfiguredPipeline } from '../load-valid-pipeline.ts';
import {
  type PipelineFileOptions,
  pipelineFileOf,
  refuseTomlFlags,
  tomlLoadOptions,
} from '../pipeline-file-options.ts';
import { workspaceOf } from './run-command.ts';

export interface InitCommandOptions extends PipelineFileOptions {
  workspace?: string;
}

/**
 * `init FILE` (SPEC D1, D2): checks the pipeline, then brings every operator's code (TOML) to
 * its git tag in `<project_root>/operators/<operator_id>` and makes every environment its
 * stages run in under `<project_root>/envs/<env_name>`; what is there already is left alone.
 */
export async function initCommand(
  fileArgument: string | undefined,
  options: InitCommandOptions,
  io: CliIo,
): Promise<number> {
  const file = pipelineFileOf(fileArgument, options);
  const projectRoot = workspaceOf(options, io);
  const say = (line: string) => io.stdout.write(`${line}\n`);
  if (!isTomlFile(file)) {
    refuseTomlFlags(file, {
      '--config-root': options.configRoot,
      '--operators-dir': options.operatorsDir,
    });
    const { pipeline } = await loadConfiguredPipeline(file, io, { projectRoot });
    const made = await initEnvironments(pipeline.stages, 'module', projectRoot, say);
    say(`initialised pipeline '${pipeline.spec.name}': ${made.length} environment(s)`);
    return ExitCode.ok;
  }
  const configured = await loadConfiguredPipeline(
    file,
    io,
    tomlLoadOptions(options, io, projectRoot),
  );
  const { pipeline } = configured;
  const toml = configured.toml!; // a .toml file loads as one
  const outcomes = await initOperators(toml.operators, projectRoot, say);
  const made = await initEnvironments(pipeline.stages, 'operator', projectRoot, say);
  const changed = outcomes.filter((outcome) => outcome.action !== 'up-to-date').length;
  say(
    `initialised pipeline '${toml.spec.name}': ${outcomes.length} operator(s), ${changed} changed, ${made.length} environment(s)`,
  );
  return ExitCode.ok;
}
