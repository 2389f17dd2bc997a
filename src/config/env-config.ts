/**
 * `env_config` (SPEC D2): the seed's uv, pixi and conda environments, plus venv and npm, each
 * told apart by the file it names. The one schema of a TOML operator's `env_config` and a YAML
 * module's `environment`.
 */
import { isAbsolute, join, resolve } from 'node:path';
import * as z from 'zod';
import { closest } from '../graph/did-you-mean.ts';
import type { EnvironmentKind, EnvironmentSpec } from '../graph/pipeline.ts';
import { safeIdSchema } from './safe-id.ts';

/** An env_name names a directory under envs/: one safe path segment. */
const envName = safeIdSchema('environment name').describe(
  'The directory under <project_root>/envs; stages naming it share the environment.',
);
const argumentList = z.array(z.string());
const path = (what: string) => z.string().min(1, 'must not be empty').describe(what);

/** The environment kinds, each with the key that names its file. */
export const envConfigVariants = [
  z.strictObject({
    env_name: envName,
    pyproject_path: path('uv: `uv venv` + `uv pip install -r` of this pyproject.toml.'),
    uv_extra_args: argumentList.optional(),
  }),
  z.strictObject({
    env_name: envName,
    pixi_toml_path: path('pixi: `pixi install` of a copy of this manifest in the env dir.'),
    pixi_channels: argumentList.optional(),
    pixi_extra_args: argumentList.optional(),
  }),
  z.strictObject({
    env_name: envName,
    s3_compress_path: path('conda: a conda-pack archive (.tar, .tar.gz, .tar.zst), unpacked.'),
    need_conda_update: z
      .boolean()
      .optional()
      .describe('Accepted: an archive whose content changed is unpacked anew anyway.'),
    zstd_extra_args: argumentList.optional(),
  }),
  z.strictObject({
    env_name: envName,
    requirements_path: path('venv: `python3 -m venv` + `pip install -r` of this file.'),
  }),
  z.strictObject({
    env_name: envName,
    package_json_path: path('npm: `npm ci` (with a lock file beside it) or `npm install`.'),
  }),
] as const;

const kindKeys = [
  ['pyproject_path', 'uv'],
  ['pixi_toml_path', 'pixi'],
  ['s3_compress_path', 'conda'],
  ['requirements_path', 'venv'],
  ['package_json_path', 'npm'],
] as const satisfies readonly (readonly [string, EnvironmentKind])[];
const envKindKeys: readonly string[] = kindKeys.map(([key]) => key);

export const envConfigSchema = z
  .union(envConfigVariants, {
    error:
      'must set one of pyproject_path (uv), pixi_toml_path (pixi), s3_compress_path (conda), requirements_path (venv) or package_json_path (npm)',
  })
  .describe('The environment it runs in, made by init in <project_root>/envs/<env_name>.');

export type EnvConfig = z.infer<typeof envConfigSchema>;

/** Which environment kind an `env_config` table means, by the file it names (or misspells). */
export function envConfigBranch(value: unknown): number | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const index = envKindKeys.findIndex((key) => key in value);
  if (index >= 0) return index;
  for (const key of Object.keys(value)) {
    const meant = closest(key, envKindKeys);
    if (meant !== undefined) return envKindKeys.indexOf(meant);
  }
  return undefined;
}

/** A URI (`s3://…`, `tos://…`) rather than a path. */
export function isUri(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

/**
 * The environment an `env_config` asks for: its file relative to `baseDir` (an operator's
 * code directory, a YAML file's directory), made in `<projectRoot>/envs/<env_name>`.
 */
export function environmentSpecOf(
  config: EnvConfig,
  baseDir: string,
  projectRoot: string,
): EnvironmentSpec {
  const [key, kind] = kindKeys.find(([key]) => key in config)!;
  const written = (config as Record<string, string>)[key]!;
  const source = isUri(written) || isAbsolute(written) ? written : resolve(baseDir, written);
  const spec: EnvironmentSpec = {
    name: config.env_name,
    kind,
    dir: join(projectRoot, 'envs', config.env_name),
    source,
  };
  const extraArgs =
    'uv_extra_args' in config
      ? config.uv_extra_args
      : 'pixi_extra_args' in config
        ? config.pixi_extra_args
        : 'zstd_extra_args' in config
          ? config.zstd_extra_args
          : undefined;
  if (extraArgs && extraArgs.length > 0) spec.extraArgs = extraArgs;
  if ('pixi_channels' in config && config.pixi_channels && config.pixi_channels.length > 0)
    spec.channels = config.pixi_channels;
  return spec;
}
