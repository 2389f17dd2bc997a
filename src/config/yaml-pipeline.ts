/**
 * The YAML loader (SPEC A2, A4): YAML syntax, then the schema, then module references and the
 * graph, every problem reported at once in one ConfigError with its line and column.
 */
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { GraphIssue } from '../graph/graph.ts';
import { type PipelineSpec, type StageSpec, workerTypes } from '../graph/pipeline.ts';
import type { HostCapacity } from '../graph/resources.ts';
import { validatePipeline } from '../graph/validate.ts';
import { type HostOptions, hostCapacityFor } from '../monitor/host-capacity.ts';
import { yamlLocated } from './config-document.ts';
import {
  applyConfigLayers,
  type ConfigLayerOptions,
  type ResolvedConfig,
} from './config-layers.ts';
import { type ExportQuery, exportQueryOf, missingExports } from './export-check.ts';
import { defaultModuleResolvers, type ModuleResolver } from './module-reference.ts';
import { parseMonitorInterval } from './monitor-interval.ts';
import { findProjectRoot } from './project-root.ts';
import { parseMemoryMb } from './quantity.ts';
import { graphIssueTarget, type ModuleEntry } from './yaml-graph-issues.ts';
import { YamlLocator } from './yaml-locator.ts';
import {
  type BuiltModule,
  isRecord,
  labelUnnamed,
  ModuleLoader,
  moduleName,
  standIn,
} from './yaml-module.ts';
import {
  type PipelineHeaderConfig,
  pipelineFileSchema,
  pipelineHeaderSchema,
} from './yaml-schema.ts';
import { describeZodIssue, moduleIndexOf, type PathIssue, valueAt } from './zod-issues.ts';

/** `hostCpus`, `hostMemoryMb`, `hostGpuIds`: the pool where the file sets no max_*. */
export interface YamlLoadOptions extends HostOptions {
  /** How module references become tasks. @default JavaScript files; Python refused for now */
  resolvers?: readonly ModuleResolver[];
  /**
   * Overrides, `--set`s, `${VAR}` interpolation and base64 values (config-layers.ts), applied
   * before the schema check. @default interpolation from process.env, no overrides
   */
  layers?: ConfigLayerOptions;
  /** Receives the resolved config and its secrets, before the schema check. */
  onResolved?: (resolved: ResolvedConfig) => void;
  /** Read each module file for the function or class it names (`gpipe validate`). */
  checkExports?: boolean;
  /** Holds envs/, where modules' environments are made. @default the nearest `.project_root` upwards from the file */
  projectRoot?: string;
}

/**
 * Parses and checks a YAML pipeline. `file` (absolute) names it in issues and is where relative
 * paths start from; nothing is read but the module files it refers to.
 */
export async function parseYamlPipeline(
  text: string,
  file: string,
  options: YamlLoadOptions = {},
): Promise<PipelineSpec> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const locator = new YamlLocator(doc, lineCounter);

  const issues: ConfigIssue[] = doc.errors.map((error) => ({
    message: syntaxMessage(error, locator),
    file,
    ...locator.offset(error.pos[0]),
  }));
  // A broken document's structure is a guess; past a duplicate key it is still sound.
  if (doc.errors.some((error) => error.code !== 'DUPLICATE_KEY'))
    throw new ConfigError(sorted(issues));

  let parsedRoot: unknown;
  try {
    parsedRoot = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError([
      { message: `cannot read the YAML: ${(error as Error).message}`, file, line: 1, column: 1 },
    ]);
  }
  const resolved = applyConfigLayers(
    yamlLocated(parsedRoot, file, locator),
    options.layers ?? { env: process.env },
  );
  // Before the checks: their messages may quote a secret, which must be masked by then.
  options.onResolved?.(resolved);
  // A value an override supplied is reported in the override's file.
  const root: unknown = resolved.config;
  const at = (issue: PathIssue, stage?: string): ConfigIssue => ({
    message: issue.message,
    ...(stage !== undefined && { stage }),
    ...(issue.key === undefined
      ? resolved.sources.locate(issue.path)
      : resolved.sources.locateKey(issue.path, issue.key)),
    ...(issue.hint !== undefined && { hint: issue.hint }),
  });

  const workerType = valueAt(root, ['pipeline', 'execution', 'worker_type']);
  const loader = new ModuleLoader(
    file,
    locator,
    options.resolvers ?? defaultModuleResolvers,
    resolve(options.projectRoot ?? findProjectRoot(dirname(file))),
    workerTypes.find((type) => type === workerType),
  );
  const parsed = pipelineFileSchema.safeParse(root);
  const schemaIssues = parsed.success
    ? []
    : parsed.error.issues.flatMap((issue) => describeZodIssue(issue, root));
  for (const issue of schemaIssues) {
    const index = moduleIndexOf(issue.path);
    const stage = moduleName(root, index);
    issues.push(
      at(index !== undefined && stage === undefined ? labelUnnamed(index, issue) : issue, stage),
    );
  }

  const header = pipelineHeaderSchema.safeParse(valueAt(root, ['pipeline']));
  const rawModules = valueAt(root, ['pipeline', 'modules']);
  const built = Array.isArray(rawModules)
    ? await Promise.all(rawModules.map((raw, index) => loader.build(raw, index)))
    : [];
  const entries: ModuleEntry[] = [];
  const stages: StageSpec[] = [];
  for (const [index, module] of built.entries()) {
    for (const issue of module.issues) issues.push(at(issue, module.name));
    const raw: unknown = (rawModules as unknown[])[index];
    if (module.name === undefined || !isRecord(raw)) continue;
    entries.push({ name: module.name, index, raw });
    stages.push(module.stage ?? standIn(module.name, raw));
  }

  if (options.checkExports) {
    for (const { issue, name } of await exportIssues(built, rawModules as unknown[]))
      issues.push(at(issue, name));
  }

  const graphSpec = resourceSpec(stages, valueAt(root, ['pipeline', 'resources']));
  const host = await hostCapacityFor(graphSpec, options);
  for (const { issue, target } of graphIssues(graphSpec, entries, host)) {
    const hint = issue.hint === undefined ? {} : { hint: issue.hint };
    issues.push(at({ ...target, message: issue.message, ...hint }, issue.stage));
  }

  if (issues.length > 0 || !header.success) throw new ConfigError(sorted(issues));
  return pipelineSpec(header.data, stages, file);
}

/** A module whose file lacks the function or class it names, at its `script` or `path`. */
async function exportIssues(
  built: readonly BuiltModule[],
  rawModules: readonly unknown[],
): Promise<{ issue: PathIssue; name?: string }[]> {
  const checked: { index: number; name: string | undefined; query: ExportQuery }[] = [];
  for (const [index, module] of built.entries()) {
    const query = module.task && exportQueryOf(module.task);
    if (query) checked.push({ index, name: module.name, query });
  }
  const missing = await missingExports(checked.map(({ query }) => query));
  return checked.flatMap(({ index, name }, i) => {
    const problem = missing[i];
    if (!problem) return [];
    const raw = rawModules[index] as Record<string, unknown>;
    const issue: PathIssue = {
      path: ['pipeline', 'modules', index, raw.path !== undefined ? 'path' : 'script'],
      ...problem,
    };
    return [name === undefined ? { issue: labelUnnamed(index, issue) } : { issue, name }];
  });
}

/**
 * The graph check (src/graph) over every module with a name, those with problems of their own
 * included as stand-ins, so that their dependents are not reported as depending on nothing.
 */
function graphIssues(
  spec: PipelineSpec,
  entries: readonly ModuleEntry[],
  host: HostCapacity,
): { issue: GraphIssue; target: Pick<PathIssue, 'path' | 'key'> }[] {
  const duplicates = new Map<string, number>();
  return validatePipeline(spec, host).issues.map((issue) => ({
    issue,
    target: graphIssueTarget(issue, entries, duplicates),
  }));
}

/**
 * The spec the graph check sees: the stages and the pool's max_* settings. An invalid setting
 * is the schema's to report; the graph check must not guess one, so it sees no bound there.
 */
function resourceSpec(stages: StageSpec[], resources: unknown): PipelineSpec {
  const spec: PipelineSpec = {
    name: 'graph',
    stages,
    mode: 'parallel',
    failurePolicy: 'fail_fast',
  };
  if (!isRecord(resources)) return spec;
  const { max_cpus: maxCpus, max_memory: maxMemory, max_gpus: maxGpus } = resources;
  if (maxCpus !== undefined)
    spec.maxCpus = typeof maxCpus === 'number' && maxCpus > 0 ? maxCpus : Infinity;
  if (maxMemory !== undefined) {
    const mb =
      typeof maxMemory === 'number' || typeof maxMemory === 'string'
        ? parseMemoryMb(maxMemory)
        : undefined;
    spec.maxMemoryMb = mb !== undefined && mb > 0 ? mb : Infinity;
  }
  if (typeof maxGpus === 'number' && Number.isInteger(maxGpus) && maxGpus >= 0)
    spec.maxGpus = maxGpus;
  return spec;
}

function pipelineSpec(
  header: PipelineHeaderConfig,
  stages: StageSpec[],
  file: string,
): PipelineSpec {
  const spec: PipelineSpec = {
    name: header.name,
    stages,
    mode: header.execution?.mode ?? 'parallel',
    failurePolicy: header.execution?.failure_policy ?? 'fail_fast',
    source: file,
  };
  const resources = header.resources;
  if (resources?.max_cpus !== undefined) spec.maxCpus = resources.max_cpus;
  if (resources?.max_memory !== undefined) spec.maxMemoryMb = parseMemoryMb(resources.max_memory)!;
  if (resources?.max_gpus !== undefined) spec.maxGpus = resources.max_gpus;
  if (header.execution?.max_nested_depth !== undefined)
    spec.maxNestedDepth = header.execution.max_nested_depth;
  if (header.execution?.monitor_interval !== undefined)
    spec.monitorIntervalMs = parseMonitorInterval(header.execution.monitor_interval)!;
  if (header.checkpoint) {
    const { enabled, directory } = header.checkpoint;
    spec.checkpoint = {
      enabled: enabled ?? true,
      ...(directory !== undefined && { directory: resolve(dirname(file), directory) }),
    };
  }
  return spec;
}

function syntaxMessage(error: YAMLError, locator: YamlLocator): string {
  if (error.code === 'DUPLICATE_KEY')
    return `duplicate key '${locator.keyTextAt(error.pos[0]) ?? '?'}'`;
  if (error.code === 'MULTIPLE_DOCS')
    return "invalid YAML: a pipeline file holds one document; remove the '---' after it";
  return `invalid YAML: ${error.message}`;
}

/** By file (in the order they first appear: the pipeline's own first), then by position. */
function sorted(issues: ConfigIssue[]): ConfigIssue[] {
  const files = [...new Set(issues.map((issue) => issue.file))];
  return issues
    .map((issue, order) => ({ issue, order }))
    .sort(
      (a, b) =>
        files.indexOf(a.issue.file) - files.indexOf(b.issue.file) ||
        (a.issue.line ?? 0) - (b.issue.line ?? 0) ||
        (a.issue.column ?? 0) - (b.issue.column ?? 0) ||
        a.order - b.order,
    )
    .map(({ issue }) => issue);
}
