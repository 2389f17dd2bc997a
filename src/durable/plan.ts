import { join } from 'node:path';
import { checkFileRefs } from '../artifacts/file-ref.ts';
import { InputError } from '../errors.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { PriorStage } from '../scheduler/run-types.ts';
import type { AttemptOutcome, AttemptRecord, RunRecord, RunStore } from '../store/run-store.ts';
import { artifactsIntact } from './artifacts-manifest.ts';

/** Which stages a run is asked for: one alone, one and all downstream, or a set alone. */
export interface RunSelection {
  stage?: string;
  from?: string;
  /** These stages alone (a TOML node's operators). */
  stages?: readonly string[];
}

/** What a run will do with a stage: run it, reuse an output it already has, or leave it out. */
export type PlanAction = 'run' | 'reuse' | 'skip';

export interface RunPlan {
  /** Stages finished before the run starts, for the engine. */
  previous: Map<string, PriorStage>;
  /** Reused outputs from other runs (attempt records for this run) and left-out stages (null). */
  reused: Map<string, AttemptRecord | null>;
  /** Output hashes of the stages finished before the run. */
  outputHashes: Map<string, string>;
  /** Outputs reused from other runs: the directory of the run each comes from, by stage. */
  reusedFrom: Map<string, string>;
  /** Stages of a resumed run that ran before and run again: their old files are cleared. */
  rerun: string[];
  /** Stages a crashed run finished: the crash may have come before their output.json. */
  done: string[];
  actions: Map<string, PlanAction>;
}

/**
 * A resume: a stage whose last attempt succeeded (or was cached) and whose files are intact
 * is reused; every other stage runs, numbering its attempts on from the ones already made —
 * including attempts that were running when the orchestrator died.
 */
export async function planResume(
  store: RunStore,
  pipeline: ValidPipeline,
  run: RunRecord,
): Promise<RunPlan> {
  const plan = emptyPlan();
  const crashed = run.status === 'running';
  const [latest, started] = await Promise.all([
    store.latestOutcomes(run.runId),
    // An attempt that was running at the crash has a stage_started event but no row yet. A run
    // that ended has a row for every attempt it started (its end is committed after them):
    // reading the events of a 100,000-stage run would cost its resume a fifth of a second.
    crashed ? store.startedAttempts(run.runId) : new Map<string, number>(),
  ]);
  const last = new Map<string, AttemptOutcome>();
  for (const attempt of latest) last.set(attempt.stage, attempt);
  const mapped = new Set(pipeline.stages.filter((s) => s.fanOut).map((s) => s.name));
  // A mapped stage runs again, always: its instances are what a resume reuses, one by one.
  const instances = new Set([
    ...instancesOf(mapped, last.keys()),
    ...instancesOf(mapped, started.keys()),
  ]);
  const names = [...pipeline.stages.map((s) => s.name), ...instances];
  const leftOut = await stagesLeftOut(store, run);
  for (const name of names) {
    if (leftOut.size > 0 && leftOut.has(name) && !last.has(name)) {
      // Not asked for when the run started (`--stage`, `--from`, `--node`): still not.
      plan.previous.set(name, { status: 'skipped', attempts: 0 });
      plan.reused.set(name, null);
      plan.actions.set(name, 'skip');
      continue;
    }
    const attempt = last.get(name);
    const made = Math.max(attempt?.attempt ?? 0, started.get(name) ?? 0);
    const output =
      attempt &&
      !mapped.has(name) &&
      filesIntact(pipeline, name, run.runDir) &&
      usableOutput(attempt);
    if (attempt && output && attempt.attempt === made) {
      plan.previous.set(name, {
        status: attempt.status === 'cached' ? 'cached' : 'succeeded',
        output: output.value,
        attempts: made,
      });
      plan.outputHashes.set(name, attempt.outputHash!);
      plan.actions.set(name, 'reuse');
      if (crashed) plan.done.push(name);
    } else {
      if (made > 0) {
        plan.previous.set(name, { attempts: made });
        plan.rerun.push(name);
      }
      plan.actions.set(name, 'run');
    }
  }
  return plan;
}

/**
 * The stages a run of a selection left out, as its `stage_finished` events (skipped, reused)
 * say. Only such a run has any: a whole run's events are not read, so that the resume of a
 * 100,000-stage run does not wait for them.
 */
async function stagesLeftOut(store: RunStore, run: RunRecord): Promise<Set<string>> {
  const options = run.options ?? {};
  if (!['stage', 'from', 'node', 'stages'].some((key) => options[key] !== undefined))
    return new Set();
  const leftOut = new Set<string>();
  for (const event of await store.eventsOfType(run.runId, 'stage_finished')) {
    if (event.stage !== undefined && event.data?.status === 'skipped' && event.data?.reused)
      leftOut.add(event.stage);
  }
  return leftOut;
}

/** The fan-out instances (`resize[3]`, `words[3][1]`) among `names`, of the `mapped` stages. */
function instancesOf(mapped: ReadonlySet<string>, names: Iterable<string>): string[] {
  if (mapped.size === 0) return [];
  const found: string[] = [];
  for (const name of names) {
    const bracket = name.indexOf('[');
    if (bracket > 0 && mapped.has(name.slice(0, bracket))) found.push(name);
  }
  return found;
}

/**
 * A selection (SPEC B6): `--stage NAME` runs that stage alone, `--from NAME` it and everything
 * downstream, `stages` (a TOML node's operators) those stages. Upstream stages the selection
 * needs reuse their latest successful output from any run of the pipeline; every other stage
 * is left out.
 */
export async function planSelection(
  store: RunStore,
  pipeline: ValidPipeline,
  selection: RunSelection,
  runId: string,
): Promise<RunPlan> {
  const graph = pipeline.graph;
  const names = selection.stages ?? [selection.stage ?? selection.from!];
  const starts = names.map((name) => {
    const index = graph.indexOf.get(name);
    if (index === undefined) {
      const flag = selection.from !== undefined ? '--from' : '--stage';
      throw new InputError(`${flag} ${name}: no stage of that name in '${pipeline.spec.name}'`);
    }
    return index;
  });
  const selected = new Set<number>(
    selection.from !== undefined ? [...starts, ...graph.descendants(starts)] : starts,
  );
  const needed = new Set<number>();
  const queue = [...selected];
  while (queue.length > 0) {
    const i = queue.pop()!;
    for (let e = graph.upstreamStart[i]!; e < graph.upstreamStart[i + 1]!; e++) {
      const u = graph.upstream[e]!;
      if (selected.has(u)) continue;
      // A mapped stage's output is its instances': it runs again (its items hit the cache).
      if (pipeline.stages[u]!.fanOut) {
        selected.add(u);
        needed.delete(u);
        queue.push(u);
      } else needed.add(u);
    }
  }
  const plan = emptyPlan();
  const runDirs = new Map<string, string | undefined>();
  for (let i = 0; i < graph.size; i++) {
    const stage = graph.names[i]!;
    if (selected.has(i)) {
      plan.actions.set(stage, 'run');
      continue;
    }
    if (!needed.has(i)) {
      plan.previous.set(stage, { status: 'skipped', attempts: 0 });
      plan.reused.set(stage, null);
      plan.actions.set(stage, 'skip');
      continue;
    }
    const source = await store.latestSuccess(pipeline.spec.name, stage);
    if (source && !runDirs.has(source.runId))
      runDirs.set(source.runId, (await store.getRun(source.runId))?.runDir);
    const sourceRunDir = source && runDirs.get(source.runId);
    const output =
      source &&
      (sourceRunDir === undefined || filesIntact(pipeline, stage, sourceRunDir)) &&
      usableOutput(source);
    if (!source || !output) {
      const why = source
        ? `its latest output (run ${source.runId}) has files that are gone or changed`
        : 'it has never succeeded';
      throw new InputError(
        `stage '${stage}' is needed but ${why}: run it first, or use --from ${stage}`,
      );
    }
    plan.previous.set(stage, { status: 'cached', output: output.value, attempts: 1 });
    plan.outputHashes.set(stage, source.outputHash!);
    if (sourceRunDir !== undefined) plan.reusedFrom.set(stage, sourceRunDir);
    plan.reused.set(stage, reusedAttempt(source, runId));
    plan.actions.set(stage, 'reuse');
  }
  return plan;
}

/** A plan that runs every stage. */
export function planFresh(pipeline: ValidPipeline): RunPlan {
  const plan = emptyPlan();
  for (const stage of pipeline.stages) plan.actions.set(stage.name, 'run');
  return plan;
}

function emptyPlan(): RunPlan {
  return {
    previous: new Map(),
    reused: new Map(),
    outputHashes: new Map(),
    reusedFrom: new Map(),
    rerun: [],
    done: [],
    actions: new Map(),
  };
}

/** The attempt's output, when it has one whose files are where they were. */
/**
 * Whether the files a process stage (a command, a Python stage; an instance of one) left in
 * `runDir` are still there, as its manifest lists them. In-process stages have none to check.
 */
function filesIntact(pipeline: ValidPipeline, stage: string, runDir: string): boolean {
  const i = pipeline.graph.indexOf.get(stage) ?? pipeline.graph.indexOf.get(mappedStageOf(stage));
  const kind = i === undefined ? undefined : pipeline.stages[i]!.task.kind;
  if (kind !== 'command' && kind !== 'python') return true;
  return artifactsIntact(join(runDir, stage));
}

/** `resize` of `resize[3]` (and of `resize[3][1]`). */
function mappedStageOf(stage: string): string {
  const bracket = stage.indexOf('[');
  return bracket < 0 ? stage : stage.slice(0, bracket);
}

function usableOutput(attempt: AttemptOutcome): { value: unknown } | undefined {
  if (attempt.status !== 'succeeded' && attempt.status !== 'cached') return undefined;
  if (attempt.outputJson === undefined || attempt.outputHash === undefined) return undefined;
  const value: unknown = JSON.parse(attempt.outputJson);
  return checkFileRefs(value).ok ? { value } : undefined;
}

/** This run's record of an output it takes from another run. */
function reusedAttempt(source: AttemptRecord, runId: string): AttemptRecord {
  const now = Date.now();
  const attempt: AttemptRecord = {
    runId,
    stage: source.stage,
    attempt: 1,
    status: 'cached',
    startedAt: now,
    endedAt: now,
    host: source.host,
    pid: process.pid,
    executor: 'reuse',
    taskId: `${runId}:${source.stage}:1`,
    outputJson: source.outputJson!,
    outputHash: source.outputHash!,
    reusedFrom: source.runId,
  };
  if (source.inputHash !== undefined) attempt.inputHash = source.inputHash;
  if (source.cacheKey !== undefined) attempt.cacheKey = source.cacheKey;
  return attempt;
}
