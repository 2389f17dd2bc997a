import { availableParallelism } from 'node:os';
import { extname, isAbsolute, relative, resolve } from 'node:path';
import {
  checkPipelineFile,
  type LoadPipelineOptions,
  loadPipeline,
} from '../config/load-pipeline.ts';
import { loadTomlPipeline, type TomlPipeline } from '../config/toml-pipeline.ts';
import { ConfigError } from '../errors.ts';
import type { PipelineSpec } from '../graph/pipeline.ts';
import { type ValidPipeline, validatePipeline } from '../graph/validate.ts';
import { hostCapacityFor } from '../monitor/host-capacity.ts';
import type { CliIo } from './cli-io.ts';
import { findWorkspaceRoot } from './workspace.ts';

/**
 * The path to hand to `loadPipeline` for a FILE argument: as the user wrote it where that
 * means the same file to the process (so that messages show it as written), else resolved
 * against the CLI's working directory.
 */
export function pipelinePath(file: string, io: CliIo): string {
  if (isAbsolute(file)) return file;
  return relative(process.cwd(), resolve(io.cwd, file)) || '.';
}

/** Whether a pipeline file is in the TOML format (a pipeline.toml with node and operator refs). */
export function isTomlFile(file: string): boolean {
  return extname(file).toLowerCase() === '.toml';
}

/**
 * Loads a pipeline file and checks it as a run would, without running anything: every problem
 * of the file and of the graph comes back at once, as one ConfigError. A TOML pipeline's
 * project root defaults to the one found from the CLI's working directory.
 */
export async function loadValidPipeline(
  file: string,
  io: CliIo,
  options: LoadPipelineOptions = {},
): Promise<ValidPipeline> {
  const spec = await loadPipeline(pipelinePath(file, io), {
    ...options,
    projectRoot: options.projectRoot ?? findWorkspaceRoot(io.cwd),
  });
  return await checked(spec, file);
}

/** Like loadValidPipeline for a TOML file, with what only TOML knows: nodes, operator code. */
export async function loadValidTomlPipeline(
  file: string,
  io: CliIo,
  options: LoadPipelineOptions & { projectRoot: string },
): Promise<{ pipeline: ValidPipeline; toml: TomlPipeline }> {
  const toml = await loadTomlPipeline(await checkPipelineFile(pipelinePath(file, io)), {
    ...options,
    hostCpus: options.hostCpus ?? availableParallelism(),
  });
  return { pipeline: await checked(toml.spec, file), toml };
}

async function checked(spec: PipelineSpec, file: string): Promise<ValidPipeline> {
  const result = validatePipeline(spec, await hostCapacityFor(spec));
  if (!('pipeline' in result)) {
    throw new ConfigError(result.issues.map((issue) => ({ ...issue, file: spec.source ?? file })));
  }
  return result.pipeline;
}
