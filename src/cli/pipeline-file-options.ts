/**
 * The flags that say which pipeline file to load and, for TOML, where its pieces are: the
 * seed's `-c/--conf`, `--config-root`, `-p/--project-root` and `-o/--operators-dir`; and the
 * flags a resumed run goes on with.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { overrideEnvVariable } from '../config/config-layers.ts';
import { InputError } from '../errors.ts';
import type { RunRecord } from '../store/run-store.ts';
import type { CliIo } from './cli-io.ts';
import { type ConfigFlags, isTomlFile, type PipelineLoadRequest } from './load-valid-pipeline.ts';

export interface PipelineFileOptions {
  /** The pipeline file, as the seed's `-c/--conf` gives it. */
  conf?: string;
  /** TOML: the directory holding nodes/ and operators/. @default the pipeline file's directory */
  configRoot?: string;
  /** TOML: the project root (also the workspace). */
  projectRoot?: string;
  /** TOML: where operator code is checked out, relative to the project root. @default operators */
  operatorsDir?: string;
}

/** The pipeline file, given as the FILE argument or with `-c/--conf` (one of the two). */
export function pipelineFileOf(file: string | undefined, options: PipelineFileOptions): string {
  if (file !== undefined && options.conf !== undefined && file !== options.conf) {
    throw new InputError(`two pipeline files: ${file} and --conf ${options.conf}; give one`);
  }
  const chosen = file ?? options.conf;
  if (chosen === undefined)
    throw new InputError('no pipeline file: give it as FILE or with -c/--conf');
  return chosen;
}

/** How to load a TOML pipeline given these flags, in `projectRoot`. */
export function tomlLoadOptions(
  options: PipelineFileOptions,
  io: CliIo,
  projectRoot: string,
): PipelineLoadRequest & { projectRoot: string } {
  return {
    projectRoot,
    ...(options.configRoot !== undefined && { configRoot: resolve(io.cwd, options.configRoot) }),
    ...(options.operatorsDir !== undefined && { operatorsDir: options.operatorsDir }),
  };
}

/** TOML-only flags given with another kind of file are a mistake worth saying. */
export function refuseTomlFlags(file: string, flags: Readonly<Record<string, unknown>>): void {
  if (isTomlFile(file)) return;
  const given = Object.entries(flags).find(([, value]) => value !== undefined && value !== false);
  if (given) throw new InputError(`${given[0]} applies to TOML pipelines only, not to ${file}`);
}

/**
 * The seed writes `-op NAME` for `--operator NAME`; a parser of short flags would read it as
 * `-o p`. Rewritten before parsing, up to a `--`.
 */
export function seedArgv(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((arg, i) => (arg === '-op' && (end < 0 || i < end) ? '--operator' : arg));
}

/** What a resumed run loads and runs with. */
export interface ResumeFlags extends ConfigFlags {
  override: string[];
  set: string[];
  /** What stands for PIPELINE_CONFIG_OVERRIDE_S3_PATH: the run's, then another one set now. */
  envOverride: string[];
  /** false when the run was started or is resumed with `--no-cache`. */
  cache: boolean;
}

/**
 * The flags to go on with `run` under: those it was started with (its recorded `options`), then
 * those given now. Its override files (PIPELINE_CONFIG_OVERRIDE_S3_PATH's among them, applied
 * even where the variable is not set now) are read again and must still be there; `--set`
 * values are not kept (one may be a secret), so each key it was started with must be given
 * again; a run started with `--no-cache` goes on without the cache (`--force-restart` only
 * started it afresh). The run keeps the flags it was started with: others given now (or
 * another file named by the variable) apply to this resume alone, after the run's, as a note
 * says. `wayOut` ends each refusal: another way out than giving what is asked.
 */
export function resumeFlags(
  run: RunRecord,
  given: ConfigFlags & { cache?: boolean },
  io: CliIo,
  wayOut = '',
): ResumeFlags {
  const started = run.options ?? {};
  const startedEnv = typeof started.envOverride === 'string' ? started.envOverride : undefined;
  const startedFiles = stringsOf(started.override);
  const recorded = [
    ...(startedEnv === undefined ? [] : [{ flag: `${overrideEnvVariable}=`, file: startedEnv }]),
    ...startedFiles.map((file) => ({ flag: '--override ', file })),
  ];
  // Object storage cannot be looked at here: the loader reads (or refuses) it.
  const gone = recorded.find(
    ({ file }) => !isStorageUri(file) && !existsSync(overridePath(file, io.cwd)),
  );
  if (gone !== undefined) {
    throw new InputError(
      `run ${run.runId} was started with ${gone.flag}${gone.file}, which is no longer there (${overridePath(gone.file, io.cwd)}): put it back to resume the run${wayOut}`,
    );
  }
  const startedKeys = new Set(stringsOf(started.set));
  const givenKeys = new Set((given.set ?? []).map(setKey));
  const missing = [...startedKeys].filter((key) => !givenKeys.has(key));
  if (missing.length > 0) {
    throw new InputError(
      `run ${run.runId} was started with ${missing.map((key) => `--set ${key}`).join(' ')}: resume it with the same --set (values are not stored)${wayOut}`,
    );
  }
  const envNow = envOverrideOf(io.env);
  const extraEnv =
    envNow !== undefined &&
    (startedEnv === undefined || overrideKey(envNow, io.cwd) !== overrideKey(startedEnv, io.cwd))
      ? envNow
      : undefined;
  const startedPaths = startedFiles.map((file) => overridePath(file, io.cwd));
  const extraFiles = (given.override ?? []).filter(
    (file) => !startedPaths.includes(overridePath(file, io.cwd)),
  );
  const extras = [
    ...(extraEnv === undefined ? [] : [`${overrideEnvVariable}=${extraEnv}`]),
    ...extraFiles.map((file) => `--override ${file}`),
    ...[...givenKeys].filter((key) => !startedKeys.has(key)).map((key) => `--set ${key}`),
  ];
  if (extras.length > 0) {
    io.stderr.write(
      `note: run ${run.runId} keeps the flags it was started with: give ${extras.join(' ')} again on a later resume\n`,
    );
  }
  return {
    override: [...startedPaths, ...extraFiles],
    set: given.set ?? [],
    envOverride: [startedEnv, extraEnv].filter((file) => file !== undefined),
    cache: given.cache !== false && started.cache !== false,
  };
}

/** The load request of `flags`: the files standing for the variable go in its place. */
export function resumeLoadFlags(flags: ResumeFlags): PipelineLoadRequest {
  return { override: flags.override, set: flags.set, envOverride: flags.envOverride };
}

/** Whether loading with `flags` reads the same override files as loading with `given` now. */
export function sameOverrides(flags: ResumeFlags, given: ConfigFlags, io: CliIo): boolean {
  const envNow = envOverrideOf(io.env);
  const now = [...(envNow === undefined ? [] : [envNow]), ...(given.override ?? [])];
  const resumed = [...flags.envOverride, ...flags.override];
  return (
    resumed.length === now.length &&
    resumed.every((file, i) => overrideKey(file, io.cwd) === overrideKey(now[i]!, io.cwd))
  );
}

/** PIPELINE_CONFIG_OVERRIDE_S3_PATH as the loader takes it: unset when empty. */
export function envOverrideOf(
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  return env[overrideEnvVariable]?.trim() || undefined;
}

/** The file an `--override` names, as the loader reads it (a run records it as given). */
function overridePath(file: string, cwd: string): string {
  const path = file.startsWith('file://') ? file.slice('file://'.length) : file;
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/** What tells two override files apart: a storage URI as written, else its path. */
function overrideKey(file: string, cwd: string): string {
  return isStorageUri(file) ? file : overridePath(file, cwd);
}

function isStorageUri(file: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(file) && !file.startsWith('file://');
}

/** `--set KEY=VALUE` without its value, as a run records it. */
export function setKey(argument: string): string {
  return argument.split('=')[0]!;
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}
