/**
 * What "activating" an environment means for a stage's process (SPEC D2): the variables its
 * tool's activate script would set, and the marker init writes last, so that a stage never
 * runs in a half-made environment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PipelineError } from '../errors.ts';
import type { EnvironmentSpec } from '../graph/pipeline.ts';

/** Written last (atomically) into an environment's dir by init: its presence means "done". */
export const environmentMarkerFile = '.gpipe-env.json';

/** The directory holding the environment's bin/: pixi puts it under .pixi/envs/default. */
export function environmentPrefix(spec: EnvironmentSpec): string {
  return spec.kind === 'pixi' ? join(spec.dir, '.pixi', 'envs', 'default') : spec.dir;
}

/** The environment's Python interpreter (npm environments have none of their own). */
export function environmentPython(spec: EnvironmentSpec): string {
  return join(environmentPrefix(spec), 'bin', 'python');
}

/**
 * The variables a stage in `spec` runs with, `path` being the PATH it would have had:
 * VIRTUAL_ENV (venv, uv), CONDA_PREFIX (conda, pixi) or NODE_PATH (npm), and PATH led by the
 * environment's executables.
 */
export function activationVariables(
  spec: EnvironmentSpec,
  path: string | undefined,
): Record<string, string> {
  const prefix = environmentPrefix(spec);
  const withPath = (dir: string) => (path ? `${dir}${delimiter}${path}` : dir);
  switch (spec.kind) {
    case 'venv':
    case 'uv':
      return { VIRTUAL_ENV: prefix, PATH: withPath(join(prefix, 'bin')) };
    case 'conda':
    case 'pixi':
      return {
        CONDA_PREFIX: prefix,
        CONDA_DEFAULT_ENV: spec.name,
        PATH: withPath(join(prefix, 'bin')),
      };
    case 'npm':
      return {
        NODE_PATH: join(spec.dir, 'node_modules'),
        PATH: withPath(join(spec.dir, 'node_modules', '.bin')),
      };
  }
}

/**
 * Undefined when the environment is made; else the error a stage fails with (exit 5): the
 * run never makes environments.
 */
export function missingEnvironment(spec: EnvironmentSpec): PipelineError | undefined {
  if (existsSync(join(spec.dir, environmentMarkerFile))) return undefined;
  return new PipelineError(
    'ENV_NOT_CREATED',
    `environment '${spec.name}' (${spec.kind}) is not made in ${spec.dir}: run gpipe init on its pipeline first`,
  );
}

/** The spec hash init recorded in the environment's marker; undefined when it is not made. */
export function madeEnvironmentHash(spec: EnvironmentSpec): string | undefined {
  try {
    const marker: unknown = JSON.parse(readFileSync(join(spec.dir, environmentMarkerFile), 'utf8'));
    const hash = (marker as { hash?: unknown } | null)?.hash;
    return typeof hash === 'string' ? hash : undefined;
  } catch {
    return undefined;
  }
}
