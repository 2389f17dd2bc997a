/**
 * The flags that say which pipeline file to load and, for TOML, where its pieces are: the
 * seed's `-c/--conf`, `--config-root`, `-p/--project-root` and `-o/--operators-dir`.
 */
import { resolve } from 'node:path';
import { InputError } from '../errors.ts';
import type { CliIo } from './cli-io.ts';
import { isTomlFile, type PipelineLoadRequest } from './load-valid-pipeline.ts';

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
