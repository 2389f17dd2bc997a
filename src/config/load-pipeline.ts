/**
 * The one entry the CLI calls: a pipeline file of any supported kind → a checked PipelineSpec.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { ConfigError, InputError, issueInFile } from '../errors.ts';
import { importModule } from '../executors/import-module.ts';
import type { PipelineSpec } from '../graph/pipeline.ts';
import { validatePipeline } from '../graph/validate.ts';
import { hostCapacityFor } from '../monitor/host-capacity.ts';
import { exportQueryOf, missingExports } from './export-check.ts';
import { loadTomlPipeline, type TomlLoadOptions } from './toml-pipeline.ts';
import { parseYamlPipeline, type YamlLoadOptions } from './yaml-pipeline.ts';
import { describeValue } from './zod-issues.ts';

export type LoadPipelineOptions = YamlLoadOptions & TomlLoadOptions;

type Loader = (file: string, options: LoadPipelineOptions) => Promise<PipelineSpec>;

const loaders: Readonly<Record<string, Loader>> = {
  '.yaml': loadYamlFile,
  '.yml': loadYamlFile,
  '.toml': async (file, options) => (await loadTomlPipeline(file, options)).spec,
  '.ts': loadPipelineModule,
  '.mts': loadPipelineModule,
  '.js': loadPipelineModule,
  '.mjs': loadPipelineModule,
};

/** The file name endings `loadPipeline` accepts. */
export const pipelineFileExtensions: readonly string[] = Object.keys(loaders);

/**
 * Loads a pipeline from a YAML or TOML file, or from a module whose default export (else its export
 * named `pipeline`) is made by `pipeline()`, and checks it: every problem at once, as a
 * ConfigError. A missing file or an unknown kind of file is an InputError.
 * @example const spec = await loadPipeline('pipeline.yaml');
 */
export async function loadPipeline(
  file: string,
  options: LoadPipelineOptions = {},
): Promise<PipelineSpec> {
  const absolute = await checkPipelineFile(file);
  const loader = loaders[extname(absolute).toLowerCase()];
  if (!loader) {
    throw new InputError(
      `cannot load ${file}: a pipeline file must end in ${pipelineFileExtensions.join(', ')}`,
    );
  }
  return loader(absolute, options);
}

/** The absolute path of a pipeline file that exists; else an InputError saying why not. */
export async function checkPipelineFile(file: string): Promise<string> {
  const absolute = resolve(file);
  const found = await stat(absolute).catch((error: NodeJS.ErrnoException) => error);
  if (found instanceof Error) {
    throw new InputError(
      found.code === 'ENOENT' || found.code === 'ENOTDIR'
        ? `no such file: ${file}`
        : `cannot read ${file}: ${found.code ?? found.message}`,
    );
  }
  if (!found.isFile()) throw new InputError(`not a file: ${file}`);
  return absolute;
}

async function loadYamlFile(file: string, options: LoadPipelineOptions): Promise<PipelineSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return parseYamlPipeline(text, file, options);
}

async function loadPipelineModule(
  file: string,
  options: LoadPipelineOptions,
): Promise<PipelineSpec> {
  if ((options.layers?.overrideFiles?.length ?? 0) > 0 || (options.layers?.sets?.length ?? 0) > 0) {
    throw new InputError(
      `${file}: overrides and --set apply to YAML and TOML pipelines; a TypeScript pipeline takes its values in code`,
    );
  }
  let exports: Record<string, unknown>;
  try {
    exports = await importModule(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([
      {
        message: `cannot load the pipeline module: ${(error as Error).message}`,
        file,
        ...(code === 'ERR_UNKNOWN_FILE_EXTENSION' && {
          hint: 'TypeScript pipelines need tsx: node --import tsx',
        }),
      },
    ]);
  }
  const exported = exports.default ?? exports.pipeline;
  const spec = [exports.default, exports.pipeline]
    .map((candidate) => (isRecord(candidate) ? candidate.spec : undefined))
    .find(isPipelineSpec);
  if (!spec) {
    const what =
      exported === undefined
        ? 'no default export and no export named pipeline'
        : describeExport(exported);
    throw new ConfigError([
      {
        message: `expected a default export (or an export named 'pipeline') made by pipeline(), got ${what}`,
        file,
        hint: "export default pipeline('name', [stages])",
      },
    ]);
  }
  const loaded: PipelineSpec = { ...spec, source: file };
  const checked = validatePipeline(loaded, await hostCapacityFor(loaded, options));
  if (checked.issues.length > 0) {
    throw new ConfigError(checked.issues.map((issue) => issueInFile(issue, file)));
  }
  if (options.checkExports) await checkStageExports(loaded, file);
  return loaded;
}

/** A pipeline module's stages that name an export their module file lacks. */
async function checkStageExports(spec: PipelineSpec, file: string): Promise<void> {
  const checked = spec.stages.flatMap((stage) => {
    const query = exportQueryOf(stage.task);
    return query ? [{ stage: stage.name, query }] : [];
  });
  const missing = await missingExports(checked.map(({ query }) => query));
  const issues = checked.flatMap(({ stage }, i) => {
    const problem = missing[i];
    return problem ? [{ ...problem, stage, file }] : [];
  });
  if (issues.length > 0) throw new ConfigError(issues);
}

function isPipelineSpec(value: unknown): value is PipelineSpec {
  return isRecord(value) && typeof value.name === 'string' && Array.isArray(value.stages);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describeExport(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  return isRecord(value) ? 'an object without a pipeline spec' : describeValue(value);
}
