/**
 * The TOML loader (SPEC A3, A4): pipeline.toml and the node and operator files its refs name,
 * then the schema, the rules across files and the graph, every problem reported at once in one
 * ConfigError with its file, line and column.
 */
import { dirname, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { GraphIssue } from '../graph/graph.ts';
import type { PipelineSpec, StageSpec } from '../graph/pipeline.ts';
import type { HostCapacity } from '../graph/resources.ts';
import { validatePipeline } from '../graph/validate.ts';
import { type HostOptions, hostCapacityFor } from '../monitor/host-capacity.ts';
import type { ConfigDocument } from './config-document.ts';
import {
  applyConfigLayers,
  type ConfigLayerOptions,
  type ResolvedConfig,
} from './config-layers.ts';
import { envConfigBranch } from './env-config.ts';
import { parseMonitorInterval } from './monitor-interval.ts';
import { findProjectRoot } from './project-root.ts';
import { crossFileIssues, nodeOfOperators, resourceTableOf, stringsAt } from './toml-checks.ts';
import type { TomlPath } from './toml-locator.ts';
import {
  defaultWorkDir,
  type TomlPipelineConfig,
  tomlKeysAt,
  tomlPipelineSchema,
} from './toml-schema.ts';
import { type RawTomlPipeline, readTomlPipeline, TomlSourceError } from './toml-sources.ts';
import {
  nodeResources,
  type OperatorCheckout,
  operatorCheckouts,
  tomlStages,
} from './toml-stages.ts';
import { describeZodIssue, type IssueWording, type PathIssue } from './zod-issues.ts';

/** `hostCpus`, `hostMemoryMb`, `hostGpuIds`: what a node may request at most. */
export interface TomlLoadOptions extends HostOptions {
  /**
   * Overrides, `--set`s, `${VAR}` interpolation and base64 values (config-layers.ts), applied
   * before the schema check. @default interpolation from process.env, no overrides
   */
  layers?: ConfigLayerOptions;
  /** Receives the resolved config and its secrets, before the schema check. */
  onResolved?: (resolved: ResolvedConfig) => void;
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
export async function checkTomlPipeline(
  raw: RawTomlPipeline,
  readIssues: readonly ConfigIssue[],
  file: string,
  options: TomlLoadOptions,
): Promise<TomlPipeline> {
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
  issues.push(...(await graphIssues(raw, nodeOf, options)).map(at));

  if (issues.length > 0 || !parsed.success) throw new ConfigError(sorted(issues, file));
  const config: TomlPipelineConfig = parsed.data;
  const spec: PipelineSpec = {
    name: config.pipeline.pipeline_id,
    stages: tomlStages(config, nodeOf, { codeRoot, workDir, projectRoot }),
    mode: 'parallel',
    failurePolicy: 'fail_fast',
    source: file,
    runsDirectory: resolve(workDir, 'runs'),
  };
  const interval = config.pipeline.monitor_interval;
  if (interval !== undefined) spec.monitorIntervalMs = parseMonitorInterval(interval)!;
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
async function graphIssues(
  raw: RawTomlPipeline,
  nodeOf: ReadonlyMap<string, string>,
  options: HostOptions,
): Promise<PathIssue[]> {
  const stages: StageSpec[] = [...nodeOf].map(([operatorId, nodeId]) => {
    return {
      name: operatorId,
      dependsOn: stringsAt(raw.data.operators[operatorId], 'upstream_dependencies')
        .map((dep) => dep.value)
        .filter((dep) => nodeOf.has(dep)),
      ...nodeResources(resourceTableOf(raw.data.nodes[nodeId])),
      task: { kind: 'command', argv: ['true'], shell: false },
    };
  });
  const spec: PipelineSpec = {
    name: 'graph',
    stages,
    mode: 'parallel',
    failurePolicy: 'fail_fast',
  };
  const host = await hostCapacityFor(spec, options);
  const issues = validatePipeline(spec, host).issues.map((issue) =>
    graphIssue(issue, raw, nodeOf, host),
  );
  // A node's request is reported once, not once per operator of the node.
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
  host: HostCapacity,
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
        message: `node '${nodeId}' requests more CPUs than this machine's ${host.cpus}`,
        hint: `lower cpu_request to at most ${host.cpus}`,
      };
    }
    case 'memory':
    case 'memory_limit':
    case 'gpus': {
      const nodeId = nodeOf.get(operator)!;
      const key = resourceKeys[issue.field];
      return {
        path: ['nodes', nodeId, 'resource', key],
        message: `node '${nodeId}' ${issue.message}`,
        hint: `lower ${key}`,
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

/** The key of a node's resource table behind each stage request. */
const resourceKeys = {
  memory: 'memory_request',
  memory_limit: 'memory_limit',
  gpus: 'gpu_request',
};

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
