/**
 * What `run` and `init` do with a TOML pipeline before the engine sees it: load it with the
 * seed's flags, choose a node's operators, bring operator code to its tags (init), and check
 * that code is there when init is skipped.
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import type { TomlPipeline } from '../../config/toml-pipeline.ts';
import { InputError, PipelineError } from '../../errors.ts';
import { didYouMean } from '../../graph/did-you-mean.ts';
import { checkEnvironments, initEnvironments } from '../../init/environments/init-environments.ts';
import { initOperators } from '../../init/init-operators.ts';
import type { CliIo } from '../cli-io.ts';
import {
  type ConfigFlags,
  type ConfiguredPipeline,
  loadConfiguredPipeline,
} from '../load-valid-pipeline.ts';
import { type PipelineFileOptions, tomlLoadOptions } from '../pipeline-file-options.ts';

export interface TomlRunRequest extends PipelineFileOptions, ConfigFlags {
  /** Run this node's operators alone. */
  node?: string;
  /** Use the operator code as it is: no git. */
  skipInit?: boolean;
  /** Load and plan only (a dry run): no git, no checks of the code. */
  planOnly?: boolean;
}

export interface PreparedTomlRun {
  configured: ConfiguredPipeline;
  toml: TomlPipeline;
  /** The stages of the chosen node, when one was chosen. */
  stages?: readonly string[];
}

/** Loads a TOML pipeline for a run; init first unless skipped. `say` prints one line. */
export async function prepareTomlRun(
  file: string,
  request: TomlRunRequest,
  io: CliIo,
  projectRoot: string,
  say: (line: string) => void,
): Promise<PreparedTomlRun> {
  const configured = await loadConfiguredPipeline(file, io, {
    ...tomlLoadOptions(request, io, projectRoot),
    ...(request.override && { override: request.override }),
    ...(request.set && { set: request.set }),
  });
  const { pipeline } = configured;
  const toml = configured.toml!; // a .toml file loads as one
  const stages = request.node === undefined ? undefined : nodeStages(toml, request.node);
  if (!request.planOnly) {
    const chosen = stages ?? pipeline.stages.map((stage) => stage.name);
    if (!request.skipInit) await initOperators(toml.operators, projectRoot, say);
    checkCode(toml, chosen, file);
    const running = pipeline.stages.filter((stage) => chosen.includes(stage.name));
    if (request.skipInit)
      await checkEnvironments(running, 'operator', projectRoot, `gpipe init ${file}`);
    else await initEnvironments(running, 'operator', projectRoot, say);
  }
  return { configured, toml, ...(stages && { stages }) };
}

function nodeStages(toml: TomlPipeline, node: string): readonly string[] {
  const stages = toml.nodes.get(node);
  if (stages === undefined) {
    const hint = didYouMean(node, toml.nodes.keys());
    throw new InputError(
      `--node ${node}: no node of that name in '${toml.spec.name}'${hint ? ` (${hint})` : ''}`,
    );
  }
  if (stages.length === 0) throw new InputError(`--node ${node}: the node runs no operator`);
  return stages;
}

/** Every operator about to run has its code directory: else say how to get it (exit 5). */
function checkCode(toml: TomlPipeline, stages: readonly string[], file: string): void {
  const wanted = new Set(stages);
  for (const operator of toml.operators) {
    if (!wanted.has(operator.operatorId) || existsSync(operator.codeDir)) continue;
    throw new PipelineError(
      'ENV_NO_OPERATOR_CODE',
      `operator '${operator.operatorId}' has no code in ${relative(toml.projectRoot, operator.codeDir) || '.'}: run 'gpipe init ${file}' first (or run without --skip-init)`,
    );
  }
}
