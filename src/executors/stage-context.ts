import { appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type FileRef, fileRef } from '../artifacts/file-ref.ts';
import { PipelineError, type SerializedError } from '../errors.ts';
import { defaultMaxNestedDepth } from '../graph/pipeline.ts';
import { formatLogLine, type LogStream } from '../logs/stage-log-line.ts';
import { metricsFileName } from '../monitor/metrics-file.ts';
import type { StageTask } from './executor.ts';
import { createNesting, type NestedContext, type NestedTask } from './nested.ts';

export interface StageLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What a stage's code receives (the seed's ModuleContext, in camelCase). */
export interface StageContext {
  readonly moduleName: string;
  readonly pipelineName: string;
  readonly runId: string;
  readonly attempt: number;
  /** The stage's params (JSON values); an empty frozen object when it has none. */
  readonly params: Readonly<Record<string, unknown>>;
  /** What the stage holds while it runs (the seed's `resources`): CPUs, memory, GPU ids. */
  readonly resources: StageResources;
  /** GPU device ids leased to this stage; empty when it requested none. */
  readonly gpuIds: readonly number[];
  /**
   * The CUDA_VISIBLE_DEVICES value of its lease ("0,1"; "" for a stage without GPUs), to hand
   * to libraries or child processes; undefined when the run leases no GPUs.
   */
  readonly cudaVisibleDevices: string | undefined;
  /** Upstream outputs by stage name. */
  readonly dependencyResults: Readonly<Record<string, unknown>>;
  /**
   * In an instance of a mapped stage (`resize[3]`): its item, the element of the list it is
   * mapped over; undefined in an ordinary stage.
   */
  readonly item: unknown;
  /** The instance's place: `[3]` in `resize[3]`, `[3, 1]` in `words[3][1]`; [] in an ordinary stage. */
  readonly itemIndex: readonly number[];
  /** An upstream stage's output; throws for a stage this one does not depend on. */
  getResult(stage: string): unknown;
  /** Aborted on timeout or cancellation: pass it on to fetch, streams and child processes. */
  readonly signal: AbortSignal;
  /** Writes timestamped lines to the stage's `stage.log` (warn and error as stderr). */
  readonly log: StageLogger;
  /** This stage's artifacts directory (created on first access): `$OUTPUT_ROOT` of a command. */
  readonly outputRoot: string;
  /** An upstream stage's artifacts directory: `$INPUT_ROOT/<stage>` of a command. */
  outputRootOf(stage: string): string;
  readonly workspaceRoot: string;
  /**
   * A FileRef (path, size, sha256) to return in place of a large file's bytes; a relative
   * path is taken from `outputRoot`.
   * @example return { table: await context.fileRef('table.parquet') };
   */
  fileRef(relativeOrAbsolutePath: string): Promise<FileRef>;
  /**
   * Runs sub-tasks in parallel within this stage's CPU grant (`max(1, floor(cpus))` at once)
   * and resolves with their results in order; a task that throws leaves its Error in its
   * place. Each task receives a context to nest further, up to `max_nested_depth`.
   * @example const [a, b] = await context.executeTasks([() => parse(x), () => parse(y)]);
   */
  executeTasks<T>(tasks: readonly NestedTask<T>[]): Promise<(T | Error)[]>;
  /**
   * `fn` over `items` as sub-tasks, as `executeTasks` runs them.
   * @example const sizes = await context.map(files, async (file) => (await stat(file)).size);
   */
  map<I, T>(
    items: readonly I[],
    fn: (item: I, index: number, context: NestedContext) => T | Promise<T>,
  ): Promise<(T | Error)[]>;
  /**
   * Records a metric (SPEC E5): one JSON line in the stage's metrics file, as a command writes
   * to `$GP_METRICS_FILE`; `gpipe metrics RUN STAGE` shows them.
   * @example context.metric('loss', 0.52, { step: 10 });
   */
  metric(name: string, value: number, fields?: Readonly<Record<string, number | string>>): void;
}

export interface StageResources {
  cpus: number;
  memoryMb: number;
  gpus: number;
  gpuIds: readonly number[];
}

const noGpus: readonly number[] = Object.freeze([]);

const noParams: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * A class rather than a literal with closures: a 100,000-stage run makes one of these per
 * stage, and most stages never log or touch their directories.
 */
class TaskContext implements StageContext {
  readonly #task: StageTask;
  readonly signal: AbortSignal;
  readonly #redact: ((text: string) => string) | undefined;
  readonly #maxNestedDepth: number;
  #log: StageLogger | undefined;
  #nesting: NestedContext | undefined;
  /** Set by metric(): the run's metrics ingestion looks for the file only then. */
  wroteMetrics = false;

  constructor(
    task: StageTask,
    signal: AbortSignal,
    maxNestedDepth: number,
    redact?: (text: string) => string,
  ) {
    this.#task = task;
    this.signal = signal;
    this.#maxNestedDepth = maxNestedDepth;
    this.#redact = redact;
  }

  executeTasks<T>(tasks: readonly NestedTask<T>[]): Promise<(T | Error)[]> {
    return this.#nested().executeTasks(tasks);
  }

  map<I, T>(
    items: readonly I[],
    fn: (item: I, index: number, context: NestedContext) => T | Promise<T>,
  ): Promise<(T | Error)[]> {
    return this.#nested().map(items, fn);
  }

  #nested(): NestedContext {
    this.#nesting ??= createNesting({
      cpus: this.#task.cpus,
      maxDepth: this.#maxNestedDepth,
      signal: this.signal,
    });
    return this.#nesting;
  }

  get moduleName(): string {
    return this.#task.stage;
  }
  get pipelineName(): string {
    return this.#task.pipelineName;
  }
  get runId(): string {
    return this.#task.runId;
  }
  get attempt(): number {
    return this.#task.attempt;
  }
  get params(): Readonly<Record<string, unknown>> {
    return this.#task.params ?? noParams;
  }
  get dependencyResults(): Readonly<Record<string, unknown>> {
    return this.#task.dependencyResults;
  }
  get item(): unknown {
    return this.#task.item?.value;
  }
  get itemIndex(): readonly number[] {
    return this.#task.item?.index ?? noGpus;
  }
  get resources(): StageResources {
    const grant = this.#task.resources;
    const gpuIds = grant?.gpuIds ?? noGpus;
    return {
      cpus: grant?.cpus ?? this.#task.cpus,
      memoryMb: grant?.memoryMb ?? 0,
      gpus: gpuIds.length,
      gpuIds,
    };
  }
  get gpuIds(): readonly number[] {
    return this.#task.resources?.gpuIds ?? noGpus;
  }
  get cudaVisibleDevices(): string | undefined {
    return this.#task.resources?.gpuIds?.join(',');
  }
  get workspaceRoot(): string {
    return this.#task.paths.workspaceRoot;
  }

  getResult(stage: string): unknown {
    this.#expectDependency(stage);
    return this.#task.dependencyResults[stage];
  }

  outputRootOf(stage: string): string {
    this.#expectDependency(stage);
    return join(this.#task.paths.runDir, stage, 'artifacts');
  }

  #expectDependency(stage: string): void {
    const dependencies = this.#task.dependencyResults;
    if (!Object.hasOwn(dependencies, stage)) {
      const known = Object.keys(dependencies);
      throw new PipelineError(
        'DEPENDENCY_NOT_FOUND',
        `stage '${this.#task.stage}' does not depend on '${stage}' (its dependencies: ${known.length > 0 ? known.join(', ') : 'none'})`,
      );
    }
  }

  metric(name: string, value: number, fields?: Readonly<Record<string, number | string>>): void {
    const dir = this.#task.paths.stageDir;
    mkdirSync(dir, { recursive: true });
    this.wroteMetrics = true;
    appendFileSync(join(dir, metricsFileName), `${JSON.stringify({ ...fields, [name]: value })}\n`);
  }

  get log(): StageLogger {
    this.#log ??= createLogger(this.#task.paths.stageDir, this.#redact);
    return this.#log;
  }

  get outputRoot(): string {
    const dir = join(this.#task.paths.stageDir, 'artifacts');
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  fileRef(relativeOrAbsolutePath: string): Promise<FileRef> {
    // Resolved without touching the disk: an absolute path needs no artifacts directory.
    return fileRef(resolve(this.#task.paths.stageDir, 'artifacts', relativeOrAbsolutePath));
  }
}

/**
 * The context a stage function receives. `redact` masks secrets in the lines `context.log`
 * writes; `maxNestedDepth` bounds `executeTasks` / `map`. @default no masking, depth 3
 */
export function createStageContext(
  task: StageTask,
  signal: AbortSignal,
  options: { maxNestedDepth?: number; redact?: (text: string) => string } = {},
): StageContext {
  return new TaskContext(
    task,
    signal,
    options.maxNestedDepth ?? defaultMaxNestedDepth,
    options.redact,
  );
}

/** Whether a context made by createStageContext had metrics written through it. */
export function wroteMetrics(context: StageContext): boolean {
  return context instanceof TaskContext && context.wroteMetrics;
}

/**
 * Appends a failed stage's stack trace to its `stage.log` as stderr lines, where a Python
 * stage's traceback goes, masked with `redact`. Never throws: the stage has failed already,
 * and a log that cannot be written must not replace the reason it failed.
 */
export function logErrorStack(
  stageDir: string,
  error: SerializedError | undefined,
  redact?: (text: string) => string,
): void {
  if (!error?.stack) return;
  try {
    mkdirSync(stageDir, { recursive: true });
    appendLines(join(stageDir, 'stage.log'), 'stderr', redact ? redact(error.stack) : error.stack);
  } catch {
    // The error itself still reaches the run's record and the terminal.
  }
}

/** `text` as lines of the stage.log format, one timestamp for all. */
function appendLines(file: string, stream: LogStream, text: string): void {
  let lines = '';
  const timestamp = new Date().toISOString();
  for (const line of text.split('\n')) lines += formatLogLine(timestamp, stream, line);
  appendFileSync(file, lines);
}

function createLogger(stageDir: string, redact?: (text: string) => string): StageLogger {
  mkdirSync(stageDir, { recursive: true });
  const file = join(stageDir, 'stage.log');
  // Warnings and errors count as stderr, so that `gpipe logs --stderr` finds them.
  const write = (level: string, stream: LogStream, message: string) =>
    appendLines(file, stream, `${level} ${redact ? redact(message) : message}`);
  return {
    debug: (message) => write('DEBUG', 'stdout', message),
    info: (message) => write('INFO', 'stdout', message),
    warn: (message) => write('WARN', 'stderr', message),
    error: (message) => write('ERROR', 'stderr', message),
  };
}
