import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { constants } from 'node:os';
import { join, normalize, resolve } from 'node:path';
import { PipelineError, serializeError } from '../errors.ts';
import { formatMemoryMb } from '../graph/resources.ts';
import { parseLogLine } from '../logs/stage-log-line.ts';
import { metricsFileName } from '../monitor/metrics-file.ts';
import { type MemoryExceeded, ResourceMonitor } from '../monitor/resource-monitor.ts';
import { createDefaultSpawner } from './default-spawner.ts';
import { activationVariables, missingEnvironment } from './environment-activation.ts';
import type { Executor, StageResult, StageTask } from './executor.ts';
import { killProcessGroup } from './process-group.ts';
import { SpawnError, type SpawnedProcess, type Spawner, type SymbolicLink } from './spawner.ts';

export interface CommandExecutorOptions {
  /** Starts processes, each in its own process group. @default createDefaultSpawner() */
  spawner?: Spawner;
  /**
   * The environment commands start from; a stage's `env` and the standard variables go on top.
   * @default process.env as it is when the executor is created
   */
  env?: Readonly<Record<string, string>>;
  /** Time between SIGTERM and SIGKILL when a stage is ended. @default 5000 */
  killGraceMs?: number;
  /**
   * Time between two RSS samples of a stage with a memory limit, when the executor makes its
   * own monitor (a given `monitor` has its own `memoryIntervalMs`). @default 250
   */
  memorySampleMs?: number;
  /**
   * Samples each command's process tree (and enforces memory limits): share one with the other
   * executors so that one /proc pass serves every stage.
   * @default a monitor that only enforces memory limits
   */
  monitor?: ResourceMonitor;
}

/**
 * Runs command stages as processes, each the leader of its own process group so that a
 * timeout or cancellation ends the whole tree. stdout and stderr go to `stage.log`; the JSON a
 * command writes to `$GP_RESULT_FILE` becomes its output (FileRefs included); its params
 * arrive as JSON in `$GP_PARAMS`.
 */
export class CommandExecutor implements Executor {
  readonly #spawner: Spawner;
  readonly #killGraceMs: number;
  readonly #baseEnv: Readonly<Record<string, string>>;
  readonly #running = new Set<number>();
  readonly #monitor: ResourceMonitor;

  constructor(options: CommandExecutorOptions = {}) {
    this.#spawner = options.spawner ?? createDefaultSpawner();
    this.#killGraceMs = options.killGraceMs ?? 5000;
    this.#monitor =
      options.monitor ??
      new ResourceMonitor({ intervalMs: 0, memoryIntervalMs: options.memorySampleMs ?? 250 });
    // One snapshot, not a copy of process.env per stage: that copy cost more than a spawn.
    this.#baseEnv = options.env ?? ({ ...process.env } as Record<string, string>);
  }

  async execute(task: StageTask, signal: AbortSignal): Promise<StageResult> {
    const startedAt = Date.now();
    const spec = task.spec;
    if (spec.kind !== 'command') {
      const error = new PipelineError(
        'EXECUTOR_MISMATCH',
        `the command executor cannot run a ${spec.kind} stage`,
      );
      return { status: 'failed', error: serializeError(error), startedAt, endedAt: startedAt };
    }
    if (signal.aborted) {
      return {
        status: 'failed',
        error: serializeError(signal.reason),
        startedAt,
        endedAt: startedAt,
      };
    }
    const missing = spec.environment && missingEnvironment(spec.environment);
    if (missing) {
      return { status: 'failed', error: serializeError(missing), startedAt, endedAt: startedAt };
    }
    const layout = stageLayout(task);
    // An earlier try's result must not pass for this one's, should this one write none.
    if (task.attempt > 1) rmSync(layout.resultFile, { force: true });
    const argv = spec.shell ? ['/bin/sh', '-c', spec.argv.join(' ')] : spec.argv;
    const cwd =
      spec.cwd === undefined
        ? task.paths.workspaceRoot
        : resolve(task.paths.workspaceRoot, spec.cwd);
    const standard = standardEnv(task, layout, spec.workspaceRoot);
    const gpuIds = task.resources?.gpuIds;
    if (gpuIds) {
      // The lease wins over a stage's own setting: it is what keeps stages off each other's GPUs.
      standard.CUDA_VISIBLE_DEVICES = gpuIds.join(',');
      // CUDA numbers devices fastest first unless told otherwise; nvidia-smi's ids are by bus.
      if (
        spec.env?.CUDA_DEVICE_ORDER === undefined &&
        this.#baseEnv.CUDA_DEVICE_ORDER === undefined
      )
        standard.CUDA_DEVICE_ORDER = 'PCI_BUS_ID';
    }
    const activation = spec.environment
      ? activationVariables(spec.environment, spec.env?.PATH ?? this.#baseEnv.PATH)
      : undefined;
    const env = spec.env || activation ? { ...spec.env, ...activation, ...standard } : standard;
    let child: SpawnedProcess;
    try {
      child = await this.#spawner.spawn({
        argv,
        cwd,
        env,
        baseEnv: this.#baseEnv,
        logFile: layout.logFile,
        directories: spec.workspaceRoot
          ? [...layout.directories, spec.workspaceRoot]
          : layout.directories,
        links: layout.links,
      });
    } catch (error) {
      const message =
        error instanceof SpawnError
          ? error.message
          : `cannot start '${argv[0]}': ${(error as Error).message}`;
      const failure = new PipelineError('ENV_SPAWN_FAILED', message, { cause: error });
      return { status: 'failed', error: serializeError(failure), startedAt, endedAt: Date.now() };
    }
    this.#running.add(child.pid);
    let exceeded: MemoryExceeded | undefined;
    const watch = this.#monitor.watchProcess(task, child.pid, {
      ...(gpuIds && { gpuIds }),
      ...(task.memoryLimitMb !== undefined && {
        memoryLimitBytes: task.memoryLimitMb * 1024 * 1024,
        onExceeded: (over: MemoryExceeded) => {
          exceeded = over;
          killTree(child.pid, over.pids);
        },
      }),
    });
    let killing: Promise<void> | undefined;
    const onAbort = () => {
      killing = killProcessGroup(child.pid, child.exited, this.#killGraceMs);
    };
    // It may have been aborted while the process was starting.
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const exit = await child.exited;
    const { peakRssBytes: peakBytes, summary: resources } = watch.finish(exit);
    signal.removeEventListener('abort', onAbort);
    // The stage is over: whatever it left running in its group ends with it.
    if (killing) await killing;
    else if (!exit.groupEmpty)
      await killProcessGroup(child.pid, Promise.resolve(exit), this.#killGraceMs);
    this.#running.delete(child.pid);
    const endedAt = Date.now();
    const exitCode = exit.exitCode ?? 128 + signalNumber(exit.signal);
    const pid = child.pid;
    const ran = { exitCode, pid, startedAt, endedAt, ...(resources && { resources }) };
    if (signal.aborted) {
      return { status: 'failed', error: serializeError(signal.reason), ...ran };
    }
    if (exceeded) {
      const peak = formatMemoryMb(Math.max(exceeded.peakBytes, peakBytes) / (1024 * 1024));
      const error = new PipelineError(
        'MEMORY_LIMIT',
        `stage '${task.stage}' went past its memory limit of ${formatMemoryMb(task.memoryLimitMb!)} (peak RSS ${peak} over its process tree) and was killed${logTail(layout.logFile)}`,
      );
      return { status: 'failed', error: serializeError(error), ...ran };
    }
    if (exitCode !== 0) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exitCode}`;
      const error = new PipelineError('EXIT_CODE', `command ${how}${logTail(layout.logFile)}`);
      return { status: 'failed', error: serializeError(error), ...ran };
    }
    try {
      return { status: 'succeeded', output: readResult(layout.resultFile), ...ran };
    } catch (error) {
      return { status: 'failed', error: serializeError(error), ...ran };
    }
  }

  killAll(): void {
    for (const pid of this.#running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  async close(): Promise<void> {
    await this.#spawner.close?.();
  }
}

interface StageLayout {
  inputRoot: string;
  outputRoot: string;
  logFile: string;
  resultFile: string;
  /** JSON lines of metrics the command may append (SPEC E5, src/monitor/metrics-file.ts). */
  metricsFile: string;
  inputsFile: string;
  directories: string[];
  links: SymbolicLink[];
}

/**
 * `{stage}/artifacts` is OUTPUT_ROOT; `{stage}/inputs` is INPUT_ROOT, holding one link per
 * upstream stage to that stage's artifacts, and `inputs.json` with upstream outputs if any.
 * The directories and links are made by the spawner, just before it starts the command (the
 * native one does it off this thread); `inputs.json` is written here.
 */
function stageLayout(task: StageTask): StageLayout {
  const dir = task.paths.stageDir;
  // join() normalises each time; a normalised directory needs only its names appended.
  const at =
    normalize(dir) === dir && dir !== '/'
      ? (name: string) => `${dir}/${name}`
      : (name: string) => join(dir, name);
  const inputRoot = at('inputs');
  const outputRoot = at('artifacts');
  const links: SymbolicLink[] = [];
  let hasValues = false;
  for (const upstream in task.dependencyResults) {
    links.push({
      target: join(task.paths.runDir, upstream, 'artifacts'),
      path: join(inputRoot, upstream),
    });
    const value = task.dependencyResults[upstream];
    if (value !== undefined && value !== null) hasValues = true;
  }
  const inputsFile = at('inputs.json');
  if (hasValues) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(inputsFile, JSON.stringify(task.dependencyResults));
  }
  return {
    inputRoot,
    outputRoot,
    logFile: at('stage.log'),
    resultFile: at('result.json'),
    metricsFile: at(metricsFileName),
    inputsFile,
    // The stage's own directory first: its subdirectories are then made at the first try.
    directories: [dir, inputRoot, outputRoot],
    links,
  };
}

function standardEnv(
  task: StageTask,
  layout: StageLayout,
  workspaceRoot = task.paths.workspaceRoot,
): Record<string, string> {
  return {
    PIPELINE_ID: task.pipelineName,
    OPERATOR_ID: task.stage,
    INPUT_ROOT: layout.inputRoot,
    OUTPUT_ROOT: layout.outputRoot,
    WORKSPACE_ROOT: workspaceRoot,
    GP_RUN_ID: task.runId,
    GP_STAGE: task.stage,
    GP_ATTEMPT: String(task.attempt),
    GP_RESULT_FILE: layout.resultFile,
    GP_INPUTS_FILE: layout.inputsFile,
    GP_METRICS_FILE: layout.metricsFile,
    GP_PARAMS: task.params === undefined ? '{}' : JSON.stringify(task.params),
    ...(task.item && {
      GP_ITEM: JSON.stringify(task.item.value ?? null),
      GP_ITEM_INDEX: task.item.index.join(','),
    }),
  };
}

/**
 * The command's JSON result, or null when it wrote none. Large data belongs in files: the
 * result may hold FileRef objects (`{"$fileRef": 1, "path": …, "size": …, "sha256": …}`, see
 * src/artifacts/file-ref.ts), which pass through as any other JSON value.
 */
function readResult(file: string): unknown {
  // Most commands write none: asking costs less than the exception of a failed read.
  if (!existsSync(file)) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PipelineError(
      'BAD_RESULT',
      `the result file ${file} is not JSON: ${(error as Error).message}`,
    );
  }
}

/** The last lines of a failed command's log, to put in its error message. */
function logTail(file: string, lines = 5): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const text = readFileSync(fd, 'utf8').slice(-4000).trimEnd();
    if (text.length === 0) return '';
    const last = text.split('\n').slice(-lines);
    return `; last output:\n${last.map((line) => parseLogLine(line).text).join('\n')}`;
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** SIGKILL to a group and to the tree's processes that left it (setsid): no grace for memory. */
function killTree(pgid: number, pids: readonly number[]): void {
  for (const target of [-pgid, ...pids]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function signalNumber(signal: string | null): number {
  return signal === null ? 0 : (constants.signals[signal as NodeJS.Signals] ?? 0);
}
