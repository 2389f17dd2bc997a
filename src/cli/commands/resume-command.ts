import { existsSync } from 'node:fs';
import { stateLayout } from '../../durable/layout.ts';
import { displayStatus, nothingToResume } from '../../durable/run-lookup.ts';
import { InputError } from '../../errors.ts';
import type { RunRecord } from '../../store/run-store.ts';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.ts';
import type { CliIo } from '../cli-io.ts';
import { loadConfiguredPipeline } from '../load-valid-pipeline.ts';
import { pipelineLogSettings } from './pipeline-log-settings.ts';
import { type RunCommandOptions, runOrPreview, workspaceOf } from './run-command.ts';
import { exportRunConfig } from './run-secrets.ts';

export interface ResumeCommandOptions extends RunCommandOptions {
  /** The pipeline file, when not the one the run was started from. */
  file?: string;
}

/**
 * `gpipe resume [RUN_ID]`: goes on with a run (default: the latest unfinished one) from the
 * file it was started from. Its succeeded stages are not run again.
 */
export async function resumeCommand(
  runId: string | undefined,
  options: ResumeCommandOptions,
  io: CliIo,
): Promise<number> {
  const workspaceRoot = workspaceOf(options, io);
  const named = runId === undefined ? undefined : await findRun(workspaceRoot, runId);
  if (named?.status === 'succeeded') {
    io.stdout.write(`${nothingToResume(named)}\n`);
    return 0;
  }
  // With --file the engine finds the run: without an id, the file's pipeline's latest unfinished one.
  const run =
    options.file === undefined ? (named ?? (await findRun(workspaceRoot, undefined))) : undefined;
  const file = options.file ?? run?.source;
  if (file === undefined) {
    throw new InputError(`run '${run?.runId}' was not started from a file: give it with --file`);
  }
  // A TOML pipeline loads as its run did: same config root, operator code and project root.
  // Overrides are not kept with a run (a --set may hold a secret): they are given again.
  const started = run?.options ?? {};
  const configRoot = typeof started.configRoot === 'string' ? started.configRoot : undefined;
  const configured = await loadConfiguredPipeline(file, io, {
    projectRoot: workspaceRoot,
    ...(configRoot !== undefined && { configRoot }),
    ...(typeof started.operatorsDir === 'string' && { operatorsDir: started.operatorsDir }),
    ...(options.override && { override: options.override }),
    ...(options.set && { set: options.set }),
  });
  return runOrPreview(
    configured.pipeline,
    {
      workspaceRoot,
      resume: runId ?? run?.runId ?? true,
      cache: options.cache !== false,
      forceRestart: options.forceRestart === true,
    },
    options,
    io,
    {
      ...(configured.credentials && { credentials: configured.credentials.values }),
      onStarted: () => exportRunConfig(configured, file, workspaceRoot, io, configRoot),
      log: pipelineLogSettings(configured, io.redactor),
    },
  );
}

/** The run to resume, from the workspace's own store. */
async function findRun(workspaceRoot: string, runId: string | undefined): Promise<RunRecord> {
  const { dbFile } = stateLayout(workspaceRoot);
  if (!existsSync(dbFile)) throw new InputError(`no runs in this workspace (${workspaceRoot})`);
  const store = await openSqliteStore(dbFile);
  try {
    if (runId !== undefined) {
      const run = await store.getRun(runId);
      if (!run) throw new InputError(`no run '${runId}' in this workspace (see gpipe runs)`);
      return run;
    }
    const run = (await store.listRuns({ limit: 50 })).find((r) => r.status !== 'succeeded');
    if (!run)
      throw new InputError('no unfinished run to resume in this workspace (see gpipe runs)');
    if (displayStatus(run) === 'running') {
      throw new InputError(`run '${run.runId}' is still running (pid ${run.pid}); stop it first`);
    }
    return run;
  } finally {
    await store.close();
  }
}
