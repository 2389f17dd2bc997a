/**
 * The TOML loader (SPEC A3, A4): pipeline.toml and the node and operator files its refs name,
 * then the schema, the rules across files and the graph, every problem reported at once in one
 * ConfigError with its file, line and column.
 */
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { GraphIssue } from '../graph/graph.ts';
import type { PipelineSpec, StageSpec } from '../graph/pipeline.ts';
import { validatePipeline } from '../graph/validate.ts';
import type { ConfigDocument } from './config-document.ts';
import {
  applyConfigLayers,
  type ConfigLayerOptions,
  type ResolvedConfig,
} from './config-layers.ts';
import { findProjectRoot } from './project-root.ts';
import { crossFileIssues, nodeOfOperators, stringsAt } from './toml-checks.ts';
import type { TomlPath } from './toml-locator.ts';
import {
  defaultWorkDir,
  envConfigBranch,
  type TomlPipelineConfig,
  tomlKeysAt,
  tomlPipelineSchema,
} from './toml-schema.ts';
import { type RawTomlPipeline, readTomlPipeline, TomlSourceError } from './toml-sources.ts';
import { type OperatorCheckout, operatorCheckouts, tomlStages } from './toml-stages.ts';
import { describeZodIssue, type IssueWording, type PathIssue } from './zod-issues.ts';

export interface TomlLoadOptions {
  /**
   * Overrides, `--set`s, `${VAR}` interpolation and base64 values (config-layers.ts), applied
   * before the schema check. @default interpolation from process.env, no overrides
   */
  layers?: ConfigLayerOptions;
  /** Receives the resolved config and its secrets, before the schema check. */
  onResolved?: (resolved: ResolvedConfig) => void;
  /** The CPU budget. @default the host's core count */
  hostCpus?: number;
  /** The directory holding `nodes/` and `operators/`. @default the pipeline file's directory */
  configRoot?: string;
  /** Where a relative work_dir starts. @default the nearest `.project_root` upwards from the current directory */
  projectRoot?: string;
  /** Where operator code is checked out, relative to the project root. @default `operators` */
  operatorsDir?: string;
}

/** A loaded TOML pipeline: its stages, and what only TOML knows (nodes, operator code). */
export interface TomlPipeline {
  spec: PipelineSpec;
  /** The operators (stage names) of each node, in file order. */
  nodes: ReadonlyMap<string, readonly string[]>;
  /** Every operator's code, for init. */
  operators: readonly OperatorCheckout[];
  projectRoot: string;
  /** The absolute work_dir. */
  workDir: string;
  /** `[pipeline.log_config]`, checked. */
  logConfig?: TomlPipelineConfig['pipeline']['log_config'];
}

/**
 * Loads and checks a TOML pipeline. `file` (absolute) names it in issues; nothing is read but
 * it and the node and operator files under the config root.
 */
export async function loadTomlPipeline(
  file: string,
  options: TomlLoadOptions = {},
): Promise<TomlPipeline> {
  const configRoot = resolve(options.configRoot ?? dirname(file));
  let read: Awaited<ReturnType<typeof readTomlPipeline>>;
  try {
    read = await readTomlPipeline(file, configRoot);
  } catch (error) {
    if (error instanceof TomlSourceError) throw new ConfigError(error.issues);
    throw error;
  }
  // The override layers work on the whole pipeline as plain data (pipeline.toml under
  // `pipeline`, node and operator files by id), so `--set operators.cleaner.timeout=60` and an
  // override file's `[operators.cleaner]` table reach one operator.
  const resolved = applyConfigLayers(
    rawDocument(read.raw, file),
    options.layers ?? { env: process.env },
  );
  // Before the checks: their messages may quote a secret, which must be masked by then.
  options.onResolved?.(resolved);
  const raw: RawTomlPipeline = {
    ...read.raw,
    data: resolved.config as RawTomlPipeline['data'],
    // A value an override supplied is reported in the override's file.
    locate: (path, key) =>
      key === undefined ? resolved.sources.locate(path) : resolved.sources.locateKey(path, key),
  };
  return checkTomlPipeline(raw, read.issues, file, options);
}

/** The merged TOML files as one document, each value placed in the file that wrote it. */
function rawDocument(raw: RawTomlPipeline, file: string): ConfigDocument {
  const position = (found: { line?: number; column?: number }) =>
    found.line === undefined ? undefined : { line: found.line, column: found.column ?? 1 };
  return {
    file,
    value: raw.data,
    at: (path) => position(raw.locate(path)),
    keyAt: (path, key) => position(raw.locate(path, key)),
    fileOf: (path) => raw.locate(path).file ?? file,
  };
}

/** The schema, the rules across files and the graph over a merged raw pipeline. */
export function checkTomlPipeline(
  raw: RawTomlPipeline,
  readIssues: readonly ConfigIssue[],
  file: string,
  options: TomlLoadOptions,
): TomlPipeline {
  const wording = tomlWording(raw);
  const at = (issue: PathIssue): ConfigIssue => ({
    message: issue.message,
    ...raw.locate(issue.path, issue.key),
    ...(issue.hint !== undefined && { hint: issue.hint }),
  });
  const issues: ConfigIssue[] = [...readIssues];
  const parsed = tomlPipelineSchema.safeParse(raw.data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      issues.push(...describeZodIssue(issue, raw.data, wording).map(at));
  }
  issues.push(...crossFileIssues(raw).map(at));

  const projectRoot = resolve(options.projectRoot ?? findProjectRoot(process.cwd()));
  const workDirText = raw.data.pipeline.work_dir;
  const workDir = resolve(
    projectRoot,
    typeof workDirText === 'string' ? workDirText : defaultWorkDir,
  );
  const codeRoot = resolve(projectRoot, options.operatorsDir ?? 'operators');
  const nodeOf = nodeOfOperators(raw);
  const hostCpus = options.hostCpus ?? availableParallelism();
  issues.push(...graphIssues(raw, nodeOf, hostCpus).map(at));

  if (issues.length > 0 || !parsed.success) throw new ConfigError(sorted(issues, file));
  const config: TomlPipelineConfig = parsed.data;
  const spec: PipelineSpec = {
    name: config.pipeline.pipeline_id,
    stages: tomlStages(config, nodeOf, { codeRoot, workDir }),
    mode: 'parallel',
    failurePolicy: 'fail_fast',
    source: file,
    runsDirectory: resolve(workDir, 'runs'),
  };
  const nodes = new Map<string, string[]>();
  for (const nodeId of Object.keys(config.nodes)) nodes.set(nodeId, []);
  for (const [operatorId, nodeId] of nodeOf) nodes.get(nodeId)!.push(operatorId);
  const logConfig = config.pipeline.log_config;
  return {
    spec,
    nodes,
    operators: operatorCheckouts(config, codeRoot),
    projectRoot,
    workDir,
    ...(logConfig && { logConfig }),
  };
}

/**
 * The graph check (src/graph) over the operators nodes run, with the dependencies that name
 * such operators: the others are reported by crossFileIssues already.
 */
function graphIssues(
  raw: RawTomlPipeline,
  nodeOf: ReadonlyMap<string, string>,
  hostCpus: number,
): PathIssue[] {
  const stages: StageSpec[] = [...nodeOf].map(([operatorId, nodeId]) => {
    const resource = (raw.data.nodes[nodeId] as { resource?: unknown }).resource;
    const cpus = (resource as { cpu_request?: unknown } | undefined)?.cpu_request;
    return {
      name: operatorId,
      dependsOn: stringsAt(raw.data.operators[operatorId], 'upstream_dependencies')
        .map((dep) => dep.value)
        .filter((dep) => nodeOf.has(dep)),
      cpus: typeof cpus === 'number' && cpus >= 0 ? cpus : 0,
      task: { kind: 'command', argv: ['true'], shell: false },
    };
  });
  const spec: PipelineSpec = {
    name: 'graph',
    stages,
    mode: 'parallel',
    failurePolicy: 'fail_fast',
  };
  const issues = validatePipeline(spec, hostCpus).issues.map((issue) =>
    graphIssue(issue, raw, nodeOf, hostCpus),
  );
  // A node's CPU request is reported once, not once per operator of the node.
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = JSON.stringify([issue.path, issue.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function graphIssue(
  issue: GraphIssue,
  raw: RawTomlPipeline,
  nodeOf: ReadonlyMap<string, string>,
  hostCpus: number,
): PathIssue {
  const operator = issue.stage;
  if (operator === undefined) return { path: ['pipeline'], message: issue.message };
  const base: TomlPath = ['operators', operator];
  const hint = issue.hint === undefined ? {} : { hint: issue.hint };
  switch (issue.field) {
    case 'depends_on': {
      const deps = stringsAt(raw.data.operators[operator], 'upstream_dependencies');
      const at = deps.find((dep) => dep.value === issue.dependency);
      return {
        path: at
          ? [...base, 'upstream_dependencies', at.index]
          : [...base, 'upstream_dependencies'],
        message: `operator '${operator}' ${issue.message}`,
        ...hint,
      };
    }
    case 'cpus': {
      const nodeId = nodeOf.get(operator)!;
      return {
        path: ['nodes', nodeId, 'resource', 'cpu_request'],
        message: `node '${nodeId}' requests more CPUs than this machine's ${hostCpus}`,
        hint: `lower cpu_request to at most ${hostCpus}`,
      };
    }
    default:
      return {
        path: [...base, 'operator_id'],
        message: `operator '${operator}': ${issue.message}`,
        ...hint,
      };
  }
}

/** How TOML issues name places: as the file writes them, `[table]` headers for hints. */
function tomlWording(raw: RawTomlPipeline): IssueWording {
  const label = (path: TomlPath): string => {
    const inFile = raw.pathInFile(path);
    if (inFile.length === 0) return 'the file';
    return inFile
      .map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? step : `.${step}`))
      .join('');
  };
  return {
    keysAt: tomlKeysAt,
    label,
    inLabel: (path) =>
      raw.pathInFile(path).length === 0 ? ' at the top of the file' : ` in [${label(path)}]`,
    belongsUnder: (parent, key) => `it belongs in the table [${parent}]: ${parent}.${key} = ...`,
    unionBranch: (path, input) =>
      path.at(-1) === 'env_config' ? envConfigBranch(input) : undefined,
  };
}

/** pipeline.toml first, then by file, line and column; ties keep their order. */
function sorted(issues: ConfigIssue[], main: string): ConfigIssue[] {
  const fileKey = (issue: ConfigIssue) => (issue.file === main ? '' : (issue.file ?? ''));
  return issues
    .map((issue, order) => ({ issue, order }))
    .sort(
      (a, b) =>
        fileKey(a.issue).localeCompare(fileKey(b.issue)) ||
        (a.issue.line ?? 0) - (b.issue.line ?? 0) ||
        (a.issue.column ?? 0) - (b.issue.column ?? 0) ||
        a.order - b.order,
    )
    .map(({ issue }) => issue);
}
