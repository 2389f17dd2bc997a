/**
 * One module of a YAML pipeline → its StageSpec, with the checks the schema cannot make: keys
 * that depend on each other (exactly one of path, script or command) and module files.
 */
import { dirname, resolve } from 'node:path';
import { frozenJsonCopy } from '../graph/json-value.ts';
import {
  defaultRetryPolicy,
  type RetryPolicy,
  type StageSpec,
  type TaskSpec,
  type WorkerType,
  workerTypes,
} from '../graph/pipeline.ts';
import { parseDuration } from './duration.ts';
import { envConfigSchema, environmentSpecOf } from './env-config.ts';
import { type ModuleResolver, resolveModuleReference } from './module-reference.ts';
import { interpreterPath } from './python-module-locator.ts';
import { parseMemoryMb } from './quantity.ts';
import type { YamlLocator, YamlPath } from './yaml-locator.ts';
import { type ModuleConfig, moduleSchema, type RetryConfig } from './yaml-schema.ts';

function isWorkerType(value: unknown): value is WorkerType {
  return (workerTypes as readonly unknown[]).includes(value);
}

import { type PathIssue, valueAt } from './zod-issues.ts';

export interface BuiltModule {
  name?: string;
  /** Set when the module is free of problems. */
  stage?: StageSpec;
  /** Set when its task resolved, even if other keys have problems (an export is still checked). */
  task?: TaskSpec;
  issues: PathIssue[];
}

/** Builds one module's stage, with the cross-key and file-system checks the schema cannot do. */
export class ModuleLoader {
  readonly #file: string;
  readonly #locator: YamlLocator;
  readonly #resolvers: readonly ModuleResolver[];
  readonly #defaultWorker: WorkerType;
  readonly #projectRoot: string;

  /** `projectRoot` holds envs/, where the modules' environments are made. */
  constructor(
    file: string,
    locator: YamlLocator,
    resolvers: readonly ModuleResolver[],
    projectRoot: string,
    defaultWorker: WorkerType = 'inline',
  ) {
    this.#file = file;
    this.#locator = locator;
    this.#resolvers = resolvers;
    this.#projectRoot = projectRoot;
    this.#defaultWorker = defaultWorker;
  }

  async build(raw: unknown, index: number): Promise<BuiltModule> {
    const base: YamlPath = ['pipeline', 'modules', index];
    const name =
      isRecord(raw) && typeof raw.name === 'string' && raw.name !== '' ? raw.name : undefined;
    if (!isRecord(raw)) return { issues: [] };
    const issues: PathIssue[] = [];
    const task = this.#withEnvironment(
      this.#placed(await this.#task(raw, base, issues), raw, base, issues),
      raw,
      base,
      issues,
    );
    const labelled =
      name === undefined ? issues.map((issue) => labelUnnamed(index, issue)) : issues;
    const parsed = moduleSchema.safeParse(raw);
    if (!parsed.success || !task || labelled.length > 0 || name === undefined) {
      return { ...(name !== undefined && { name }), ...(task && { task }), issues: labelled };
    }
    return { name, task, stage: this.#stage(parsed.data, task, base), issues: [] };
  }

  /** A module task with its worker and heap limit; the keys refused where they cannot apply. */
  #placed(
    task: TaskSpec | undefined,
    raw: Record<string, unknown>,
    base: YamlPath,
    issues: PathIssue[],
  ): TaskSpec | undefined {
    const worker = isWorkerType(raw.worker) ? raw.worker : this.#defaultWorker;
    const heapLimitMb = raw.heap_limit_mb;
    if (task?.kind === 'module') {
      const placed = { ...task };
      if (worker !== 'inline') placed.worker = worker;
      if (typeof heapLimitMb === 'number') {
        if (worker === 'inline') {
          issues.push({
            path: base,
            key: 'heap_limit_mb',
            message: 'heap_limit_mb applies only to modules run in a thread or process worker',
            hint: 'add worker: process (or thread)',
          });
          return undefined;
        }
        placed.heapLimitMb = heapLimitMb;
      }
      return placed;
    }
    for (const key of ['worker', 'heap_limit_mb'] as const) {
      if (raw[key] !== undefined && task !== undefined) {
        issues.push({
          path: base,
          key,
          message: `${key} applies only to JavaScript / TypeScript path and script modules`,
        });
      }
    }
    return task;
  }

  #stage(config: ModuleConfig, task: TaskSpec, base: YamlPath): StageSpec {
    const dependsOn = config.depends_on ?? [];
    const stage: StageSpec = {
      name: config.name,
      // The module mapped over is a dependency, listed or not.
      dependsOn:
        config.for_each === undefined || dependsOn.includes(config.for_each)
          ? dependsOn
          : [...dependsOn, config.for_each],
      cpus: config.resources?.cpus ?? 1,
      task,
    };
    if (config.for_each !== undefined)
      stage.fanOut = { over: config.for_each, ...(config.nested && { nested: true }) };
    const resources = config.resources;
    if (resources?.memory !== undefined) stage.memoryMb = parseMemoryMb(resources.memory)!;
    if (resources?.gpus !== undefined) stage.gpus = resources.gpus;
    if (resources?.memory_limit !== undefined)
      stage.memoryLimitMb = parseMemoryMb(resources.memory_limit)!;
    if (config.concurrency) stage.concurrency = { ...config.concurrency };
    if (config.timeout !== undefined) stage.timeoutMs = parseDuration(config.timeout)!;
    if (config.retry) stage.retry = retryPolicy(config.retry);
    if (config.fallback !== undefined) stage.fallback = config.fallback;
    if (config.version !== undefined)
      stage.version = this.#text([...base, 'version'], config.version);
    if (config.params !== undefined) stage.params = frozenJsonCopy(config.params);
    if (config.cache !== undefined) stage.cache = config.cache;
    return stage;
  }

  async #task(
    raw: Record<string, unknown>,
    base: YamlPath,
    issues: PathIssue[],
  ): Promise<TaskSpec | undefined> {
    if (raw.nested !== undefined && raw.for_each === undefined) {
      issues.push({
        path: base,
        key: 'nested',
        message: 'nested applies only to a module with for_each',
      });
    }
    const kinds = (['path', 'script', 'command'] as const).filter((key) => raw[key] !== undefined);
    for (const key of ['shell', 'cwd', 'env'] as const) {
      if (raw[key] !== undefined && raw.command === undefined) {
        issues.push({ path: base, key, message: `${key} applies only to command modules` });
      }
    }
    if (kinds.length === 0) {
      issues.push({
        path: base,
        message: 'needs one of path, script or command',
        hint: 'path: "./file.ts:ClassName", script: "./file.ts:functionName" or command: [program, arg]',
      });
      return undefined;
    }
    if (kinds.length > 1) {
      issues.push({
        path: base,
        key: kinds[1]!,
        message: `has both ${kinds[0]} and ${kinds[1]}`,
        hint: 'give exactly one of path, script or command',
      });
      return undefined;
    }
    const kind = kinds[0]!;
    const value = raw[kind];
    if (kind === 'command') {
      const task = this.#command(raw, base, issues);
      return task && this.#withInterpreter(task, raw, base, issues);
    }
    if (typeof value !== 'string' || value === '') return undefined;
    const style = kind === 'path' ? 'class' : 'function';
    const resolution = await resolveModuleReference(
      value,
      style,
      dirname(this.#file),
      this.#resolvers,
      this.#interpreter(raw),
    );
    if ('problem' in resolution) {
      issues.push({ path: [...base, kind], ...resolution.problem });
      return undefined;
    }
    return this.#withInterpreter(resolution.task, raw, base, issues);
  }

  /** The `environment` a Python or command module runs in (made by init). */
  #withEnvironment(
    task: TaskSpec | undefined,
    raw: Record<string, unknown>,
    base: YamlPath,
    issues: PathIssue[],
  ): TaskSpec | undefined {
    if (raw.environment === undefined || !task) return task;
    const config = envConfigSchema.safeParse(raw.environment);
    if (!config.success) return task; // the schema reports it
    if (task.kind !== 'python' && task.kind !== 'command') {
      issues.push({
        path: base,
        key: 'environment',
        message: 'environment applies to Python and command modules, not to JavaScript ones',
      });
      return undefined;
    }
    if (raw.python !== undefined) {
      issues.push({
        path: base,
        key: 'python',
        message: 'has both python and environment',
        hint: "drop python: the environment's own python runs the module",
      });
      return undefined;
    }
    const environment = environmentSpecOf(config.data, dirname(this.#file), this.#projectRoot);
    if (task.kind === 'python' && environment.kind === 'npm') {
      issues.push({
        path: [...base, 'environment'],
        key: 'package_json_path',
        message: 'an npm environment has no python to run a Python module',
        hint: 'give it requirements_path (venv), pyproject_path (uv), pixi_toml_path or s3_compress_path',
      });
      return undefined;
    }
    return { ...task, environment };
  }

  /** A Python module's `python:` interpreter; the key means nothing to other modules. */
  #withInterpreter(
    task: TaskSpec,
    raw: Record<string, unknown>,
    base: YamlPath,
    issues: PathIssue[],
  ): TaskSpec | undefined {
    const python = this.#interpreter(raw);
    if (python === undefined) return task;
    if (task.kind !== 'python') {
      issues.push({
        path: base,
        key: 'python',
        message: 'python applies only to Python modules (a .py file or a dotted module name)',
      });
      return undefined;
    }
    return { ...task, python };
  }

  #interpreter(raw: Record<string, unknown>): string | undefined {
    if (typeof raw.python !== 'string' || raw.python === '') return undefined;
    return interpreterPath(raw.python, dirname(this.#file));
  }

  #command(
    raw: Record<string, unknown>,
    base: YamlPath,
    issues: PathIssue[],
  ): TaskSpec | undefined {
    const { command, shell, cwd, env } = raw;
    const commandPath = [...base, 'command'];
    let argv: string[];
    if (typeof command === 'string') {
      if (shell !== true) {
        issues.push({
          path: commandPath,
          message: 'a command string runs only through a shell',
          hint: 'give an argv list, or set shell: true',
        });
        return undefined;
      }
      if (command.trim() === '') {
        issues.push({ path: commandPath, message: 'command must not be empty' });
        return undefined;
      }
      argv = [command];
    } else if (Array.isArray(command)) {
      if (shell === true) {
        issues.push({
          path: base,
          key: 'shell',
          message: 'shell: true takes one command string, not a list',
          hint: 'write the command as one string, or drop shell: true',
        });
        return undefined;
      }
      if (command.length === 0) {
        issues.push({ path: commandPath, message: 'command must not be empty' });
        return undefined;
      }
      if (!command.every(isScalar)) return undefined;
      argv = command.map((arg, i) => this.#text([...commandPath, i], arg));
    } else {
      return undefined;
    }
    const task: TaskSpec & { kind: 'command' } = { kind: 'command', argv, shell: shell === true };
    // Commands run beside their YAML file unless told otherwise: relative paths in argv then
    // mean what they say wherever gpipe is started.
    task.cwd = resolve(dirname(this.#file), typeof cwd === 'string' ? cwd : '.');
    if (isRecord(env)) {
      const values: Record<string, string> = {};
      for (const [key, value] of Object.entries(env)) {
        if (isScalar(value)) values[key] = this.#text([...base, 'env', key], value);
      }
      task.env = values;
    }
    return task;
  }

  /**
   * A scalar as text; a number as the file wrote it (`1.0` stays "1.0"), unless an override
   * replaced it: the file's text is then another number, and the value is what counts.
   */
  #text(path: YamlPath, value: string | number | boolean): string {
    if (typeof value !== 'number') return String(value);
    const written = this.#locator.sourceText(path);
    return written !== undefined && Number(written) === value ? written : String(value);
  }
}

function retryPolicy(config: RetryConfig): RetryPolicy {
  const policy: RetryPolicy = { ...defaultRetryPolicy, maxAttempts: config.max_attempts };
  if (config.backoff !== undefined) policy.backoff = config.backoff;
  if (config.delay !== undefined) policy.delayMs = parseDuration(config.delay)!;
  if (config.max_delay !== undefined) policy.maxDelayMs = parseDuration(config.max_delay)!;
  if (config.jitter !== undefined) policy.jitter = config.jitter;
  if (config.retry_on !== undefined) policy.retryOn = config.retry_on;
  return policy;
}

/** What the graph check needs of a module whose own problems keep it from being built. */
/** The name of module `index`, when it has a usable one. */
export function moduleName(root: unknown, index: number | undefined): string | undefined {
  if (index === undefined) return undefined;
  const name = valueAt(root, ['pipeline', 'modules', index, 'name']);
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** Names a module without a usable name by its place in the list. */
export function labelUnnamed(index: number, issue: PathIssue): PathIssue {
  const label = `modules[${index}]`;
  return issue.message.startsWith(label)
    ? issue
    : { ...issue, message: `${label}: ${issue.message}` };
}

export function standIn(name: string, raw: Record<string, unknown>): StageSpec {
  const dependsOn = Array.isArray(raw.depends_on)
    ? raw.depends_on.filter((dep): dep is string => typeof dep === 'string')
    : [];
  if (typeof raw.for_each === 'string' && !dependsOn.includes(raw.for_each))
    dependsOn.push(raw.for_each);
  const cpus = isRecord(raw.resources) ? raw.resources.cpus : undefined;
  return {
    name,
    dependsOn,
    cpus: typeof cpus === 'number' && cpus >= 0 ? cpus : 0,
    ...(typeof raw.fallback === 'string' && { fallback: raw.fallback }),
    task: { kind: 'module', file: '', exportName: '', style: 'function' },
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
