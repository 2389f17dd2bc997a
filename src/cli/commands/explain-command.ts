import { explainStage } from '../../durable/explain.ts';
import { InputError } from '../../errors.ts';
import type { CliIo } from '../cli-io.ts';
import { paletteFor } from '../colors.ts';
import { type ConfigFlags, isTomlFile, loadValidPipeline } from '../load-valid-pipeline.ts';
import {
  type PipelineFileOptions,
  pipelineFileOf,
  refuseTomlFlags,
  tomlLoadOptions,
} from '../pipeline-file-options.ts';
import { configFlagsOf, workspaceOf } from './run-command.ts';

export interface ExplainCommandOptions extends PipelineFileOptions, ConfigFlags {
  /** Take upstream outputs from this run. @default their latest successes */
  run?: string;
  json?: boolean;
  workspace?: string;
}

/**
 * `gpipe explain FILE STAGE` (or `-c FILE STAGE`): would the stage run or hit the cache, and
 * why. The file loads as `run` loads it, with the same `--override`, `--set` and TOML flags,
 * so that a run made with them is explained against its own config.
 */
export async function explainCommand(
  fileArgument: string | undefined,
  stageArgument: string | undefined,
  options: ExplainCommandOptions,
  io: CliIo,
): Promise<number> {
  // With -c the one argument given is the stage.
  const [fileGiven, stage] =
    stageArgument === undefined && options.conf !== undefined
      ? [undefined, fileArgument]
      : [fileArgument, stageArgument];
  if (stage === undefined) throw new InputError('no stage to explain: gpipe explain FILE STAGE');
  const file = pipelineFileOf(fileGiven, options);
  const workspaceRoot = workspaceOf(options, io);
  refuseTomlFlags(file, {
    '--config-root': options.configRoot,
    '--operators-dir': options.operatorsDir,
  });
  const pipeline = await loadValidPipeline(file, io, {
    ...(isTomlFile(file)
      ? tomlLoadOptions(options, io, workspaceRoot)
      : { projectRoot: workspaceRoot }),
    ...configFlagsOf(options),
  });
  const redactor = io.redactor;
  const explanation = await explainStage({
    pipeline,
    workspaceRoot,
    stage,
    ...(options.run !== undefined && { runId: options.run }),
    ...(redactor && !redactor.isEmpty && { redact: (text: string) => redactor.redact(text) }),
  });
  if (options.json) {
    io.stdout.write(`${JSON.stringify(explanation)}\n`);
    return 0;
  }
  const palette = paletteFor(io.stdout.isTTY === true, io.env);
  const verdict =
    explanation.verdict === 'cached'
      ? palette.green('would hit the cache')
      : palette.cyan('would run');
  const lines = [`${stage} ${verdict}: ${explanation.summary}`];
  for (const change of explanation.changes) lines.push(`  - ${change}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
