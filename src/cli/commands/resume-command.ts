import { existsSync } from 'node:fs';
import { stateLayout } from '../../durable/layout.ts';
import { displayStatus, findRunInWorkspace, nothingToResume } from '../../durable/run-lookup.ts';
import { InputError } from '../../errors.ts';
import type { RunRecord } from '../../store/run-store.ts';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.ts';
import type { CliIo } from '../cli-io.ts';
import {
  type ConfiguredPipeline,
  loadConfiguredPipeline,
  type PipelineLoadRequest,
} from '../load-valid-pipeline.ts';
import { resumeFlags, resumeLoadFlags } from '../pipeline-file-options.ts';
import { pipelineLogSettings } from './pipeline-log-settings.ts';
import { loadGoingOn, type RunCommandOptions, runOrPreview, workspaceOf } from './run-command.ts';
import { exportRunConfig } from './run-secrets.ts';

export interface ResumeCommandOptions extends RunCommandOptions {
  /** The pipeline file, when not the one the run was started from. */
  file?: string;
}

/**
 * `gpipe resume [RUN_ID]`: goes on with a run (default: the latest unfinished one) from the
 * file it was started from, with the flags it was started with. Its succeeded stages are not
 * run again.
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
  // With --file and no id, the run is the file's pipeline's latest unfinished one: known once
  // the file is loaded.
  const run =
    options.file === undefined ? (named ?? (await findRun(workspaceRoot, undefined))) : named;
  const file = options.file ?? run?.source;
  if (file === undefined) {
    throw new InputError(`run '${run?.runId}' was not started from a file: give it with --file`);
  }
  // A TOML pipeline loads as its run did (same config root, operator code and project root),
  // unless another file is given.
  const started = options.file === undefined ? (run?.options ?? {}) : {};
  const configRoot = typeof started.configRoot === 'string' ? started.configRoot : undefined;
  const request = {
    projectRoot: workspaceRoot,
    ...(configRoot !== undefined && { configRoot }),
    ...(typeof started.operatorsDir === 'string' && { operatorsDir: started.operatorsDir }),
  };
  // The run goes on as it was started: its override files (PIPELINE_CONFIG_OVERRIDE_S3_PATH's
  // too), its --set keys, --no-cache.
  const { configured, earlier, cache } =
    run === undefined
      ? await loadGoingOn(file, io, request, options, (pipeline) =>
          findRunInWorkspace(workspaceRoot, pipeline, { resume: true }),
        )
      : await loadKnownRun(file, io, request, run, options);
  return runOrPreview(
    configured.pipeline,
    {
      workspaceRoot,
      resume: earlier?.runId ?? true,
      cache,
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

/** Loads the pipeline of a run known before its file is read, with the flags it goes on with. */
async function loadKnownRun(
  file: string,
  io: CliIo,
  request: PipelineLoadRequest,
  run: RunRecord,
  given: ResumeCommandOptions,
): Promise<{ configured: ConfiguredPipeline; earlier: RunRecord; cache: boolean }> {
  const flags = resumeFlags(run, given, io);
  const configured = await loadConfiguredPipeline(file, io, {
    ...request,
    ...resumeLoadFlags(flags),
  });
  return { configured, earlier: run, cache: flags.cache };
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
