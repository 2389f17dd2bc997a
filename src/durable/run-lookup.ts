import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { InputError } from '../errors.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { RunRecord, RunStore } from '../store/run-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { stateLayout } from './layout.ts';

/** The run status a user sees: a `running` run whose orchestrator is gone is `interrupted`. */
export function displayStatus(run: RunRecord): string {
  return run.status === 'running' && !isAlive(run) ? 'interrupted' : run.status;
}

/** Whether the orchestrator of a `running` run still runs (known only on its own host). */
export function isAlive(run: RunRecord): boolean {
  if (run.host !== hostname()) return true;
  try {
    process.kill(run.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The run a new invocation goes on with, if any: the one named by `resume`, the latest
 * unfinished one for `resume: true`, or — when the pipeline has `checkpoint.enabled` and no
 * selection is asked for — its latest run when that did not succeed.
 */
export async function findRunToResume(
  store: RunStore,
  pipeline: ValidPipeline,
  options: { resume?: string | true; selection?: object },
): Promise<RunRecord | undefined> {
  const name = pipeline.spec.name;
  if (typeof options.resume === 'string') {
    const run = await store.getRun(options.resume);
    if (!run) throw new InputError(`no run '${options.resume}' in this workspace (see gpipe runs)`);
    if (run.pipeline !== name) {
      throw new InputError(
        `run '${run.runId}' is of pipeline '${run.pipeline}', not '${name}': resume it with its own file`,
      );
    }
    if (run.status === 'succeeded') throw new InputError(nothingToResume(run));
    return resumable(run);
  }
  if (options.resume === true) {
    const run = (await store.listRuns({ pipeline: name, limit: 20 })).find(
      (candidate) => candidate.status !== 'succeeded',
    );
    if (!run) throw new InputError(`pipeline '${name}' has no unfinished run to resume`);
    return resumable(run);
  }
  if (options.selection || !pipeline.spec.checkpoint?.enabled) return undefined;
  const [latest] = await store.listRuns({ pipeline: name, limit: 1 });
  return latest && latest.status !== 'succeeded' ? resumable(latest) : undefined;
}

/**
 * `findRunToResume` in the pipeline's own store, before a run: the CLI loads the pipeline again
 * with the flags of the run it goes on with. Asking creates nothing where nothing has run yet.
 */
export async function findRunInWorkspace(
  workspaceRoot: string,
  pipeline: ValidPipeline,
  options: { resume?: string | true; selection?: object },
): Promise<RunRecord | undefined> {
  // No store to open for a run that can only start afresh.
  const mayResume =
    options.resume !== undefined || (!options.selection && pipeline.spec.checkpoint?.enabled);
  if (!mayResume) return undefined;
  const { dbFile } = stateLayout(
    workspaceRoot,
    pipeline.spec.checkpoint?.directory,
    pipeline.spec.runsDirectory,
  );
  const store = await openSqliteStore(existsSync(dbFile) ? dbFile : ':memory:');
  try {
    return await findRunToResume(store, pipeline, options);
  } finally {
    await store.close();
  }
}

/**
 * What resuming a run that succeeded says. Going on with it would run nothing and only rewrite
 * its history: its summary, end time, pid and `.gpipe/latest`.
 */
export function nothingToResume(run: RunRecord): string {
  return `run ${run.runId} already succeeded: nothing to resume`;
}

function resumable(run: RunRecord): RunRecord {
  if (run.status === 'running' && isAlive(run)) {
    throw new InputError(
      `run '${run.runId}' is still running (pid ${run.pid} on ${run.host}); stop it first`,
    );
  }
  return run;
}
