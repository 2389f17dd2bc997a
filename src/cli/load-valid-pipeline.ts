import { isAbsolute, relative, resolve } from 'node:path';
import { loadPipeline } from '../config/load-pipeline.ts';
import { ConfigError } from '../errors.ts';
import { type ValidPipeline, validatePipeline } from '../graph/validate.ts';
import { hostCapacityFor } from '../monitor/host-capacity.ts';
import type { CliIo } from './cli-io.ts';

/**
 * The path to hand to `loadPipeline` for a FILE argument: as the user wrote it where that
 * means the same file to the process (so that messages show it as written), else resolved
 * against the CLI's working directory.
 */
export function pipelinePath(file: string, io: CliIo): string {
  if (isAbsolute(file)) return file;
  return relative(process.cwd(), resolve(io.cwd, file)) || '.';
}

/**
 * Loads a pipeline file and checks it as a run would, without running anything: every problem
 * of the file and of the graph comes back at once, as one ConfigError.
 */
export async function loadValidPipeline(file: string, io: CliIo): Promise<ValidPipeline> {
  const spec = await loadPipeline(pipelinePath(file, io));
  const checked = validatePipeline(spec, await hostCapacityFor(spec));
  if (!('pipeline' in checked)) {
    throw new ConfigError(checked.issues.map((issue) => ({ ...issue, file: spec.source ?? file })));
  }
  return checked.pipeline;
}
