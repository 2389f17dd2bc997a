import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from '../errors.ts';
import type { StageTask } from './executor.ts';

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
  /** Upstream outputs by stage name. */
  readonly dependencyResults: Readonly<Record<string, unknown>>;
  /** An upstream stage's output; throws for a stage this one does not depend on. */
  getResult(stage: string): unknown;
  /** Aborted on timeout or cancellation: pass it on to fetch, streams and child processes. */
  readonly signal: AbortSignal;
  /** Writes timestamped lines to the stage's log file. */
  readonly log: StageLogger;
  /** This stage's artifacts directory (created on first access). */
  readonly outputRoot: string;
  readonly workspaceRoot: string;
}

export function createStageContext(task: StageTask, signal: AbortSignal): StageContext {
  const dependencies = task.dependencyResults;
  return {
    moduleName: task.stage,
    pipelineName: task.pipelineName,
    runId: task.runId,
    attempt: task.attempt,
    dependencyResults: dependencies,
    getResult(stage: string): unknown {
      if (!Object.hasOwn(dependencies, stage)) {
        const known = Object.keys(dependencies);
        throw new PipelineError(
          'DEPENDENCY_NOT_FOUND',
          `stage '${task.stage}' does not depend on '${stage}' (its dependencies: ${known.length > 0 ? known.join(', ') : 'none'})`,
        );
      }
      return dependencies[stage];
    },
    signal,
    log: createLogger(join(task.paths.stageDir, 'stage.log')),
    get outputRoot() {
      const dir = join(task.paths.stageDir, 'artifacts');
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    workspaceRoot: task.paths.workspaceRoot,
  };
}

/** A logger that creates its file only when a stage first logs: most stages never do. */
function createLogger(file: string): StageLogger {
  let ready = false;
  const write = (level: string, message: string) => {
    if (!ready) {
      mkdirSync(join(file, '..'), { recursive: true });
      ready = true;
    }
    appendFileSync(file, `${new Date().toISOString()} ${level} ${message}\n`);
  };
  return {
    debug: (message) => write('DEBUG', message),
    info: (message) => write('INFO', message),
    warn: (message) => write('WARN', message),
    error: (message) => write('ERROR', message),
  };
}
