import { extname, isAbsolute, relative, resolve } from 'node:path';
import { overrideFileList, type ResolvedConfig } from '../config/config-layers.ts';
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

/** Whether a pipeline file is in the TOML format (a pipeline.toml with node and operator refs). */
export function isTomlFile(file: string): boolean {
  return extname(file).toLowerCase() === '.toml';
}

/** The config flags of `run`, `resume` and `validate`. */
export interface ConfigFlags {
  /** `--override FILE`, repeatable, in order. */
  override?: string[];
  /** `--set KEY.PATH=VALUE`, repeatable, in order. */
  set?: string[];
}

/** What to load besides the file: its overrides and, for TOML, where its pieces are. */
export interface PipelineLoadRequest extends ConfigFlags {
  /** Where the credentials file is; TOML: where a relative work_dir starts. @default found from the CLI's directory */
  projectRoot?: string;
  /** TOML: the directory holding nodes/ and operators/. */
  configRoot?: string;
  /** TOML: where operator code is checked out, relative to the project root. */
  operatorsDir?: string;
  /** Read module stages' files for the exports they name (`gpipe validate`). */
  checkExports?: boolean;
  /**
   * The override files that stand for PIPELINE_CONFIG_OVERRIDE_S3_PATH (a resumed run's).
   * @default the variable's value, when set
   */
  envOverride?: readonly string[];
}

export interface ConfiguredPipeline {
  pipeline: ValidPipeline;
  /** The resolved config of a YAML or TOML file; none for a TypeScript pipeline. */
  resolved?: ResolvedConfig;
  /** The project's credentials file, when it has one. */
  credentials?: Credentials;
  /** What only a TOML pipeline knows: nodes, operator code. */
  toml?: TomlPipeline;
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
  request: PipelineLoadRequest = {},
): Promise<ConfiguredPipeline> {
  const projectRoot = request.projectRoot ?? findWorkspaceRoot(io.cwd);
  const credentials = readCredentialsFile(projectRoot);
  const redactor = io.redactor;
  if (redactor) {
    for (const value of Object.values(credentials?.values ?? {})) redactor.add(value);
    for (const [name, value] of Object.entries(io.env)) {
      if (value !== undefined && looksSecret(name)) redactor.add(value, minAmbientSecretLength);
    }
  }
  let resolved: ResolvedConfig | undefined;
  const options: LoadPipelineOptions = {
    projectRoot,
    ...(request.configRoot !== undefined && { configRoot: resolve(io.cwd, request.configRoot) }),
    ...(request.operatorsDir !== undefined && { operatorsDir: request.operatorsDir }),
    ...(request.checkExports && { checkExports: true }),
    layers: {
      overrideFiles:
        request.envOverride === undefined
          ? overrideFileList(request.override ?? [], io.env, io.cwd)
          : // The variable as it is now is not read: what stands for it comes first.
            overrideFileList([...request.envOverride, ...(request.override ?? [])], {}, io.cwd),
      sets: request.set ?? [],
      env: io.env,
      ...(credentials && { credentials: credentials.values }),
    },
    onResolved: (config) => {
      resolved = config;
      for (const secret of config.secrets) redactor?.add(secret);
    },
  };
  let toml: TomlPipeline | undefined;
  let spec: PipelineSpec;
  if (isTomlFile(file)) {
    toml = await loadTomlPipeline(await checkPipelineFile(pipelinePath(file, io)), options);
    spec = toml.spec;
  } else {
    spec = await loadPipeline(pipelinePath(file, io), options);
  }
  const checked = validatePipeline(spec, await hostCapacityFor(spec));
  if (!('pipeline' in checked)) {
    throw new ConfigError(checked.issues.map((issue) => ({ ...issue, file: spec.source ?? file })));
  }
  return {
    pipeline: checked.pipeline,
    ...(resolved && { resolved }),
    ...(credentials && { credentials }),
    ...(toml && { toml }),
  };
}

/** `loadConfiguredPipeline`, for the commands that need only the pipeline. */
export async function loadValidPipeline(
  file: string,
  io: CliIo,
  request: PipelineLoadRequest = {},
): Promise<ValidPipeline> {
  return (await loadConfiguredPipeline(file, io, request)).pipeline;
}
