/**
 * Runs Python stages: each attempt is `python -u gpipe_bridge.py` started through the command
 * executor, so that it has what a command stage has — its own process group (a timeout or
 * cancel ends the whole tree), stdout and stderr in stage.log, OUTPUT_ROOT and the other
 * standard variables, ENV_SPAWN_FAILED (exit 5) when the interpreter cannot start. The bridge
 * speaks through files (python/gpipe_bridge.py), never stdout, so a module's prints are safe.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { defaultInterpreter } from '../config/python-module-locator.ts';
import { PipelineError, type SerializedError, serializeError } from '../errors.ts';
import type { PythonTaskSpec } from '../graph/pipeline.ts';
import { packageFile } from '../package-files.ts';
import { environmentPython } from './environment-activation.ts';
import type { Executor, StageResult, StageTask } from './executor.ts';

/** The bridge script shipped in the package. */
export const pythonBridgePath = packageFile('python/gpipe_bridge.py');

export interface PythonExecutorOptions {
  /** Runs the bridge processes; shared with command stages, and closed by its owner. */
  commands: Executor;
  /** The pipeline's limit on nested execute_tasks. @default unlimited */
  maxNestedDepth?: number;
  /**
   * The interpreter of a module without `python:`.
   * @default $GP_PYTHON, else python3 (found on PATH)
   */
  defaultPython?: string;
}

export class PythonExecutor implements Executor {
  readonly #commands: Executor;
  readonly #maxNestedDepth: number | undefined;
  readonly #defaultPython: string;

  constructor(options: PythonExecutorOptions) {
    this.#commands = options.commands;
    this.#maxNestedDepth = options.maxNestedDepth;
    this.#defaultPython = options.defaultPython ?? defaultInterpreter();
  }

  async execute(task: StageTask, signal: AbortSignal): Promise<StageResult> {
    const spec = task.spec;
    if (spec.kind !== 'python') {
      const startedAt = Date.now();
      const error = new PipelineError(
        'EXECUTOR_MISMATCH',
        `the Python executor cannot run a ${spec.kind} stage`,
      );
      return { status: 'failed', error: serializeError(error), startedAt, endedAt: startedAt };
    }
    const stageDir = task.paths.stageDir;
    const errorFile = `${stageDir}/python-error.json`;
    const resultFile = `${stageDir}/result.json`;
    const taskFile = `${stageDir}/python-task.json`;
    const python =
      spec.python ?? (spec.environment ? environmentPython(spec.environment) : this.#defaultPython);
    const bridgeTask = {
      style: spec.style,
      export: spec.exportName,
      file: spec.file,
      module: spec.module ?? null,
      search_path: spec.searchPath,
      dependencies: Object.keys(task.dependencyResults),
      cpus: task.cpus,
      // null: the run leases no GPUs, so the stage is told nothing of them.
      gpu_ids: task.resources?.gpuIds ?? null,
      max_nested_depth: this.#maxNestedDepth ?? null,
      error_file: errorFile,
    };
    try {
      // What an earlier attempt left must not pass for this one's.
      for (const stale of [errorFile, resultFile, `${stageDir}/inputs.json`])
        rmSync(stale, { force: true });
      // A file, not a variable: thousands of upstream names would not fit in one.
      mkdirSync(stageDir, { recursive: true });
      writeFileSync(taskFile, JSON.stringify(bridgeTask));
    } catch (error) {
      // ENOSPC, EACCES…: the machine's refusal, reported by its errno code.
      const startedAt = Date.now();
      return { status: 'failed', error: serializeError(error), startedAt, endedAt: startedAt };
    }
    const commandTask: StageTask = {
      ...task,
      spec: {
        kind: 'command',
        argv: [python, '-u', pythonBridgePath],
        shell: false,
        ...(spec.cwd !== undefined && { cwd: spec.cwd }),
        env: { GP_PYTHON_TASK_FILE: taskFile },
        ...(spec.environment && { environment: spec.environment }),
      },
    };
    const result = await this.#commands.execute(commandTask, signal);
    return settle(result, spec, { errorFile, resultFile, python, aborted: signal.aborted });
  }

  killAll(): void {
    this.#commands.killAll?.();
  }
}

interface Files {
  errorFile: string;
  resultFile: string;
  python: string;
  aborted: boolean;
}

/** The command's result in Python's terms: the module's exception, or a missing result. */
function settle(result: StageResult, spec: PythonTaskSpec, files: Files): StageResult {
  if (result.error?.code === 'ENV_SPAWN_FAILED') {
    result.error.message = `${reference(spec)}: ${result.error.message} (choose the interpreter with python: in the module, or GP_PYTHON)`;
    return result;
  }
  if (files.aborted) return result;
  if (result.status === 'failed') {
    const raised = readPythonError(files.errorFile);
    if (raised) result.error = raised;
    return result;
  }
  if (result.status === 'succeeded' && !existsSync(files.resultFile)) {
    // The bridge always writes a result: the process ended some other way (os._exit).
    const error = new PipelineError(
      'PYTHON_NO_RESULT',
      `${reference(spec)} exited with code 0 before returning a result`,
    );
    return { ...result, status: 'failed', error: serializeError(error) };
  }
  return result;
}

interface PythonErrorRecord {
  type: string;
  module: string;
  message: string;
  code: string | null;
  traceback: string;
}

/**
 * The exception the bridge recorded, as a SerializedError: its Python type is the name, so
 * that `retry_on: [ConnectionError]` works; the code is PYTHON_EXCEPTION unless the exception
 * carries a string `code` of its own (NonRetryableError's NON_RETRYABLE); the traceback is in
 * stage.log and in `stack`.
 */
function readPythonError(file: string): SerializedError | undefined {
  let record: PythonErrorRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as PythonErrorRecord;
  } catch {
    return undefined;
  }
  const qualified =
    record.module === 'builtins' || record.module === '__main__'
      ? record.type
      : `${record.module}.${record.type}`;
  const code = record.code ?? 'PYTHON_EXCEPTION';
  const error: SerializedError = {
    code,
    name: record.type,
    message:
      record.traceback === ''
        ? record.message
        : `${qualified}: ${record.message} (traceback in stage.log)`,
    retryable: code !== 'NON_RETRYABLE',
  };
  if (record.traceback !== '') error.stack = record.traceback;
  return error;
}

function reference(spec: PythonTaskSpec): string {
  return `${spec.module ?? spec.file}:${spec.exportName}`;
}
