import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { PipelineError } from '../errors.ts';
import type { Executor } from '../executors/executor.ts';
import type { TaskSpec } from '../graph/pipeline.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import { MetricsIngestor } from '../monitor/metrics-file.ts';
import type { ResourceMonitor } from '../monitor/resource-monitor.ts';
import { newRunId, runPipeline } from '../scheduler/engine.ts';
import type { RunEvent } from '../scheduler/events.ts';
import type { RunResult } from '../scheduler/run-types.ts';
import type { RunRecord, RunStore } from '../store/run-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { writeArtifactsManifest } from './artifacts-manifest.ts';
import { readExportCode, writeExportCode } from './export-code.ts';
import { runDirOf, type StateLayout, stateLayout } from './layout.ts';
import { repairOutputs } from './output-repair.ts';
import { planFresh, planResume, planSelection, type RunPlan, type RunSelection } from './plan.ts';
import { RunRecorder } from './recorder.ts';
import { ResourceRecorder } from './resource-recorder.ts';
import { RunFiles } from './run-files.ts';
import { manifestStages, manifestState, runJson } from './run-json.ts';
import { findRunToResume } from './run-lookup.ts';
import { StageCache } from './stage-cache.ts';
import { type RunReport, StageTimeline } from './stage-timeline.ts';

export interface DurableRunOptions {
  pipeline: ValidPipeline;
  workspaceRoot: string;
  executors: Partial<Record<TaskSpec['kind'], Executor>>;
  signal?: AbortSignal;
  /** Each event, once what it reports is committed to the run store. */
  onEvent?: (event: RunEvent) => void;
  /** Go on with this run, or (true) with the pipeline's latest unfinished run. */
  resume?: string | true;
  /** Run one stage (`stage`), one and everything downstream (`from`), or a set (`stages`). */
  selection?: RunSelection;
  /** false: run every stage, reusing nothing from the cache. @default true */
  cache?: boolean;
  /** Start afresh even where a resume would apply; reuse nothing. */
  forceRestart?: boolean;
  /** How the run was asked for (`gpipe` flags): kept with the run. */
  startedWith?: Readonly<Record<string, unknown>>;
  /** @default the SQLite store of the workspace */
  store?: RunStore;
  /** Masks secrets in what the run keeps beyond the executors' results (cache key parts). */
  redact?: (text: string) => string;
  /** The executors' resource monitor: its samples of this run go to the run store. */
  monitor?: ResourceMonitor;
}

export interface DurableRunResult extends RunResult {
  resumed: boolean;
  /** Problems that did not stop the run (a run file that could not be written). */
  warnings: string[];
  /** Each stage's status, duration, cache use and resources; the critical path. */
  report: RunReport;
}

/**
 * Runs a pipeline durably (SPEC C1–C4): every transition is committed to the run store before
 * it is announced, outputs go to the run directory, and a run that stopped for any reason —
 * a failure, Ctrl-C, `kill -9` — can be resumed where it stopped.
 */
export async function runDurable(options: DurableRunOptions): Promise<DurableRunResult> {
  const { pipeline } = options;
  const layout = stateLayout(
    options.workspaceRoot,
    pipeline.spec.checkpoint?.directory,
    pipeline.spec.runsDirectory,
  );
  if (!options.store && (options.selection || options.resume) && !existsSync(layout.dbFile)) {
    // Nothing has run here yet: a selection or a resume is planned against an empty history
    // first, so that one that cannot go on fails before the store is created.
    const empty = await openSqliteStore(':memory:');
    try {
      await choosePlan(empty, options);
    } finally {
      await empty.close();
    }
  }
  const store = options.store ?? (await openSqliteStore(layout.dbFile, { writeSoon: true }));
  readExportCode(layout.exportCodeFile);
  try {
    return await runWithStore(options, layout, store);
  } finally {
    writeExportCode(layout.exportCodeFile);
    if (!options.store) await store.close();
  }
}

async function runWithStore(
  options: DurableRunOptions,
  layout: StateLayout,
  store: RunStore,
): Promise<DurableRunResult> {
  const { pipeline } = options;
  const { earlier, runId, plan } = await choosePlan(store, options);
  const run: RunRecord = {
    runId,
    pipeline: pipeline.spec.name,
    status: 'running',
    startedAt: earlier?.startedAt ?? Date.now(),
    host: hostname(),
    pid: process.pid,
    // Where this workspace keeps it: a resumed run of a project moved since has its directory
    // here, not at the absolute path the store kept.
    runDir: earlier && existsSync(earlier.runDir) ? earlier.runDir : runDirOf(layout, runId),
    stages: pipeline.stages.map((stage) => stage.name),
    options: earlier?.options ?? options.startedWith ?? {},
  };
  if (pipeline.spec.source !== undefined) run.source = pipeline.spec.source;
  await recordRun(store, run);
  prepareRunDir(run.runDir, plan);

  const files = new RunFiles();
  // Before any file of this run: the worker writes in the order asked.
  if (earlier?.status === 'running') files.removeLeftovers(run.runDir);
  files.writeFile(`${run.runDir}/run.json`, runJson(run));
  files.setStages(manifestStages(pipeline));
  const prior = plan.previous;
  files.writeManifest(
    `${run.runDir}/manifest.json`,
    manifestState(run, pipeline.graph.names, (name) => prior.get(name)?.status),
  );
  files.link(run.runDir, layout.latestLink);
  // A run is marked ended only once its files are written: only one that never ended (a crash)
  // can lack an output.json. The worker looks for them while the run goes on.
  const repaired = repairOutputs(store, files, pipeline, run, plan.done);

  const stop = new AbortController();
  const recorder = new RunRecorder({
    store,
    files,
    pipeline,
    run,
    host: run.host,
    outputHashes: plan.outputHashes,
    reused: plan.reused,
    ...(options.onEvent && { announce: options.onEvent }),
    onStoreError: (error) => stop.abort(storeFailed(error)),
  });
  const cache = await StageCache.open({
    store,
    pipeline,
    outputHashes: recorder.outputHashes,
    reuse: options.cache !== false && !options.forceRestart,
    workspaceRoot: layout.workspaceRoot,
    runsDir: layout.runsDir,
    actions: plan.actions,
    ...(options.redact && { redact: options.redact }),
  });
  const executors: Partial<Record<TaskSpec['kind'], Executor>> = {};
  for (const [kind, executor] of Object.entries(options.executors)) {
    // A process stage's files are listed before its success counts (artifacts-manifest.ts);
    // a module stage's when it left some. In-process functions' are not (a stat each would cost
    // a 100,000-stage run a third of a second): a hit links them unchecked.
    const listed =
      kind === 'command' || kind === 'python'
        ? withArtifactsListed(executor, false)
        : kind === 'module'
          ? withArtifactsListed(executor, true)
          : executor;
    executors[kind as TaskSpec['kind']] = cache.wrap(listed);
  }
  const resources = new ResourceRecorder({
    store,
    runId,
    ...(options.monitor && { monitor: options.monitor }),
  });
  const timeline = new StageTimeline(pipeline);
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const metrics = new MetricsIngestor({ store, runId, runDir: run.runDir });
  const result = await runPipeline(pipeline, {
    runId,
    runDir: run.runDir,
    workspaceRoot: layout.workspaceRoot,
    executors,
    previous: plan.previous,
    resumed: earlier !== undefined,
    signal,
    onEvent: (event) => {
      metrics.observe(event);
      resources.observe(event);
      timeline.observe(event);
      recorder.record(event);
    },
  });
  await metrics.close();
  await Promise.all([recorder.drain(), resources.drain()]);
  const repairFailure = await repaired;
  if (recorder.failure) {
    await files.close();
    throw storeFailed(recorder.failure);
  }
  const ended: RunRecord = { ...run, status: result.status, endedAt: Date.now() };
  files.writeFile(`${run.runDir}/run.json`, runJson(ended));
  files.writeManifest(
    `${run.runDir}/manifest.json`,
    manifestState(ended, pipeline.graph.names, (name) => result.stages[name]?.status),
  );
  await files.close();
  // Last: a run recorded as ended has every file in place, so a crash before this resumes it.
  await store.append([
    { kind: 'run_status', runId, status: ended.status, endedAt: ended.endedAt! },
  ]);
  const warnings = files.firstError ? [`some run files were not written: ${files.firstError}`] : [];
  if (repairFailure) warnings.push(repairFailure);
  if (metrics.failure) warnings.push(`some metrics were not stored: ${metrics.failure.message}`);
  if (resources.failure)
    warnings.push(`resource figures were not all stored: ${resources.failure.message}`);
  return {
    ...result,
    runDir: run.runDir,
    resumed: earlier !== undefined,
    warnings,
    report: timeline.report(pipeline),
  };
}

/**
 * Commits the run before anything else is written or started: a store that cannot be written
 * (a read-only state.db, -wal or -shm; a full disk) stops the run here, not after its stages.
 * The recorder writes it again with `run_started`, the same row.
 */
async function recordRun(store: RunStore, run: RunRecord): Promise<void> {
  try {
    await store.append([{ kind: 'run', run }]);
  } catch (error) {
    const message = `the run store cannot be written, so the run did not start: ${(error as Error).message}`;
    throw new PipelineError('STORE_FAILED', message, { cause: error });
  }
}

/** The store refused a write: `cause` says whether the machine did (exit code 5). */
function storeFailed(cause: Error): PipelineError {
  return new PipelineError('STORE_FAILED', `the run store failed: ${cause.message}`, { cause });
}

/**
 * `executor`, writing the artifacts manifest of each stage that succeeded (`onlyWithFiles`:
 * of each that left an artifacts directory).
 */
function withArtifactsListed(executor: Executor, onlyWithFiles: boolean): Executor {
  return {
    execute: (task, signal) =>
      executor.execute(task, signal).then((result) => {
        const { stageDir } = task.paths;
        if (result.status !== 'succeeded') return result;
        if (!onlyWithFiles || existsSync(`${stageDir}/artifacts`)) writeArtifactsManifest(stageDir);
        return result;
      }),
    // Methods of a class instance: not own properties, so not spread.
    ...(executor.killAll && { killAll: () => executor.killAll!() }),
    ...(executor.close && { close: () => executor.close!() }),
  };
}

/** Whether this goes on with an earlier run, under which id, and what it does with each stage. */
export async function choosePlan(
  store: RunStore,
  options: Pick<DurableRunOptions, 'pipeline' | 'resume' | 'selection' | 'forceRestart'>,
): Promise<{ earlier: RunRecord | undefined; runId: string; plan: RunPlan }> {
  const { pipeline } = options;
  const earlier = options.forceRestart
    ? undefined
    : await findRunToResume(store, pipeline, options);
  const runId = earlier?.runId ?? newRunId();
  const plan = earlier
    ? await planResume(store, pipeline, earlier)
    : options.selection
      ? await planSelection(store, pipeline, options.selection, runId)
      : planFresh(pipeline);
  return { earlier, runId, plan };
}

/**
 * Before the run starts: clears what interrupted attempts left behind (a half-written
 * artifact must not pass for a finished one) and links outputs reused from other runs.
 */
function prepareRunDir(runDir: string, plan: RunPlan): void {
  for (const stage of plan.rerun) {
    for (const leftover of ['artifacts', 'result.json', 'inputs', 'inputs.json']) {
      rmSync(`${runDir}/${stage}/${leftover}`, { recursive: true, force: true });
    }
  }
  for (const [stage, sourceRunDir] of plan.reusedFrom) {
    const source = `${sourceRunDir}/${stage}/artifacts`;
    if (!existsSync(source)) continue;
    mkdirSync(`${runDir}/${stage}`, { recursive: true });
    symlinkSync(source, `${runDir}/${stage}/artifacts`);
  }
}
