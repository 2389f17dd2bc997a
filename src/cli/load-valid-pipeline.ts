import { availableParallelism } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { overrideFileList, type ResolvedConfig } from '../config/config-layers.ts';
import { loadPipeline } from '../config/load-pipeline.ts';
import { ConfigError } from '../errors.ts';
import { type ValidPipeline, validatePipeline } from '../graph/validate.ts';
import { type Credentials, readCredentialsFile } from '../secrets/credentials-file.ts';
import { looksSecret } from '../secrets/secret-names.ts';
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

/** The config flags of `run` and `validate`. */
export interface ConfigFlags {
  /** `--override FILE`, repeatable, in order. */
  override?: string[];
  /** `--set KEY.PATH=VALUE`, repeatable, in order. */
  set?: string[];
}

export interface ConfiguredPipeline {
  pipeline: ValidPipeline;
  /** The resolved config of a YAML or TOML file; none for a TypeScript pipeline. */
  resolved?: ResolvedConfig;
  /** The project's credentials file, when it has one. */
  credentials?: Credentials;
}

/**
 * Shorter values of secret-named variables in the environment are flags (`USE_TOKEN=true`),
 * not secrets: masking them would garble the output.
 */
const minAmbientSecretLength = 8;

/**
 * Loads a pipeline file with its overrides (PIPELINE_CONFIG_OVERRIDE_S3_PATH, `--override`,
 * `--set`) and the project's credentials file, and checks it as a run would, without running
 * anything: every problem comes back at once, as one ConfigError. Every secret found — in the
 * credentials file, the environment or the config — is added to `io.redactor`, so that nothing
 * printed from here on shows it.
 */
export async function loadConfiguredPipeline(
  file: string,
  io: CliIo,
  flags: ConfigFlags = {},
  projectRoot: string = findWorkspaceRoot(io.cwd),
): Promise<ConfiguredPipeline> {
  const credentials = readCredentialsFile(projectRoot);
  const redactor = io.redactor;
  if (redactor) {
    for (const value of Object.values(credentials?.values ?? {})) redactor.add(value);
    for (const [name, value] of Object.entries(io.env)) {
      if (value !== undefined && looksSecret(name)) redactor.add(value, minAmbientSecretLength);
    }
  }
  let resolved: ResolvedConfig | undefined;
  const spec = await loadPipeline(pipelinePath(file, io), {
    layers: {
      overrideFiles: overrideFileList(flags.override ?? [], io.env, io.cwd),
      sets: flags.set ?? [],
      env: io.env,
      ...(credentials && { credentials: credentials.values }),
    },
    onResolved: (config) => {
      resolved = config;
      for (const secret of config.secrets) redactor?.add(secret);
    },
  });
  const checked = validatePipeline(spec, availableParallelism());
  if (!('pipeline' in checked)) {
    throw new ConfigError(checked.issues.map((issue) => ({ ...issue, file: spec.source ?? file })));
  }
  return {
    pipeline: checked.pipeline,
    ...(resolved && { resolved }),
    ...(credentials && { credentials }),
  };
}

/** `loadConfiguredPipeline` without flags, for the commands that take none. */
export async function loadValidPipeline(file: string, io: CliIo): Promise<ValidPipeline> {
  return (await loadConfiguredPipeline(file, io)).pipeline;
}
