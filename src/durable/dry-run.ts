import { existsSync } from 'node:fs';
import type { StageSpec } from '../graph/pipeline.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { CacheEntry, RunStore } from '../store/run-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { stageFilesIntact } from './artifacts-manifest.ts';
import { cacheKeyOf, cacheKeyParts } from './cache-key.ts';
import { choosePlan, type DurableRunOptions } from './durable-run.ts';
import { readExportCode } from './export-code.ts';
import { mappedDepth, previewMapped } from './fan-out-preview.ts';
import { sha256Text } from './hash.ts';
import { runDirFound, type StateLayout, stateLayout } from './layout.ts';
import { MissReasons } from './miss-reasons.ts';
import { planFresh, type RunPlan } from './plan.ts';

export type PreviewAction = 'run' | 'reuse' | 'cached' | 'skip';

export interface PreviewRow {
  stage: string;
  action: PreviewAction;
  /** Why, in a few words. */
  detail: string;
}

export interface RunPreview {
  pipeline: string;
  /** The run a resume would go on with. */
  resumes?: string;
  rows: PreviewRow[];
}

type PreviewOptions = Pick<
  DurableRunOptions,
  'pipeline' | 'workspaceRoot' | 'resume' | 'selection' | 'cache' | 'forceRestart'
> & {
  /** Masks secrets as the cache keys' stored parts are (a run's redactor). */
  redact?: (text: string) => string;
};

/**
 * What a run would do with each stage (SPEC C6), without running or writing anything: reuse,
 * hit the cache, run, or leave it out. Cache hits are predicted stage by stage as far as
 * upstream output hashes are known — a stage downstream of one that must run will run.
 */
export async function previewRun(options: PreviewOptions): Promise<RunPreview> {
  const { pipeline } = options;
  const layout = stateLayout(
    options.workspaceRoot,
    pipeline.spec.checkpoint?.directory,
    pipeline.spec.runsDirectory,
  );
  readExportCode(layout.exportCodeFile);
  const hasStore = existsSync(layout.dbFile);
  if (!hasStore && !options.selection && typeof options.resume !== 'string') {
    // Nothing has run here yet: every stage runs, and nothing is created to say so.
    return { pipeline: pipeline.spec.name, rows: rowsOf(pipeline, planFresh(pipeline)) };
  }
  const store = await openSqliteStore(layout.dbFile);
  try {
    const { earlier, plan } = await choosePlan(store, options);
    const rows = rowsOf(pipeline, plan);
    if (options.cache !== false && !options.forceRestart) {
      const reasons = new MissReasons(store, pipeline.spec.name, options.redact);
      await predictCacheHits(store, pipeline, plan, rows, layout, reasons);
    }
    return {
      pipeline: pipeline.spec.name,
      ...(earlier && { resumes: earlier.runId }),
      rows,
    };
  } finally {
    await store.close();
  }
}

function rowsOf(pipeline: ValidPipeline, plan: RunPlan): PreviewRow[] {
  return pipeline.stages.map((stage) => {
    const action = plan.actions.get(stage.name) ?? 'run';
    const prior = plan.previous.get(stage.name);
    let detail = 'runs';
    if (action === 'skip') detail = 'not selected';
    else if (action === 'reuse') {
      const source = plan.reused.get(stage.name)?.reusedFrom;
      detail = source ? `output of run ${source}` : 'done in this run';
    } else if (prior && prior.attempts > 0) {
      detail = `again: attempt ${prior.attempts + 1}`;
    }
    return { stage: stage.name, action, detail };
  });
}

/**
 * Marks `run` stages whose cache key is stored, walking in dependency order. A mapped stage is
 * cached when each of its items is: its items are known once its source's output is.
 */
async function predictCacheHits(
  store: RunStore,
  pipeline: ValidPipeline,
  plan: RunPlan,
  rows: PreviewRow[],
  layout: StateLayout,
  reasons: MissReasons,
): Promise<void> {
  const { workspaceRoot } = layout;
  const keys = await store.cacheKeys(pipeline.spec.name);
  const graph = pipeline.graph;
  const hashes = new Map(plan.outputHashes);
  // Outputs of the stages mapped stages are mapped over, as far as they are known.
  const sources = new Set(pipeline.stages.flatMap((stage) => stage.fanOut?.over ?? []));
  const outputs = new Map<string, unknown>();
  for (const name of sources) {
    const prior = plan.previous.get(name);
    if (prior?.status === 'succeeded' || prior?.status === 'cached')
      outputs.set(name, prior.output);
  }
  for (const i of graph.topologicalOrder()) {
    const row = rows[i]!;
    const stage = pipeline.stages[i]!;
    if (row.action !== 'run') continue;
    // A resumed stage's row says which attempt it runs; others say why they run.
    const why = row.detail === 'runs';
    if (stage.cache === false) {
      if (why) row.detail = 'runs: its cache is off (cache: false)';
      continue;
    }
    const over = stage.fanOut?.over;
    const upstream: Record<string, string> = {};
    let runsFirst: string | undefined;
    for (const u of graph.upstreamOf(i)) {
      const name = graph.names[u]!;
      if (name === over) continue;
      const hash = hashes.get(name);
      if (hash === undefined) runsFirst ??= name;
      else upstream[name] = hash;
    }
    if (runsFirst !== undefined) {
      if (why) row.detail = `runs after '${runsFirst}'`;
      continue;
    }
    if (keys.size === 0) {
      // Nothing is cached (a new pipeline, a cache cleared): no key to make.
      if (why) row.detail = await reasons.of(stage.name);
      continue;
    }
    if (over !== undefined) {
      if (!outputs.has(over)) {
        row.detail = `runs: its items are known once '${over}' has run`;
        continue;
      }
      const preview = await previewMapped(
        store,
        pipeline,
        i,
        outputs.get(over),
        upstream,
        workspaceRoot,
      );
      if (!preview) {
        row.detail = `runs: '${over}' gave no list to map over`;
        continue;
      }
      const items = preview.entries.length;
      if (!('output' in preview)) {
        row.detail = mappedDetail(stage.name, preview.entries, plan, mappedDepth(pipeline, i));
        continue;
      }
      hashes.set(stage.name, sha256Text(JSON.stringify(preview.output)));
      if (sources.has(stage.name)) outputs.set(stage.name, preview.output);
      row.action = 'cached';
      row.detail = `each of its ${items} items from the cache`;
      continue;
    }
    const parts = cacheKeyParts(stage, upstream, workspaceRoot);
    const key = cacheKeyOf(parts);
    if (!keys.has(key)) {
      if (why) row.detail = await reasons.of(stage.name, parts);
      continue;
    }
    const entry = await store.cacheGet(pipeline.spec.name, stage.name, key);
    if (!entry) continue;
    if (!(await entryIntact(store, stage, entry, layout))) {
      if (why) row.detail = `runs: its cached files (run ${entry.runId}) are gone or changed`;
      continue;
    }
    hashes.set(stage.name, entry.outputHash);
    if (sources.has(stage.name)) outputs.set(stage.name, JSON.parse(entry.outputJson));
    row.action = 'cached';
    row.detail = `cache hit: output of run ${entry.runId}`;
  }
}

/**
 * What a resume or run does with a mapped stage's items: those that succeeded in the run it
 * goes on with are reused as they are (a resume), the others hit the cache or run.
 */
function mappedDetail(
  stage: string,
  entries: readonly unknown[],
  plan: RunPlan,
  depth: number,
): string {
  let done = 0;
  let cached = 0;
  for (const [k, entry] of entries.entries()) {
    // Items of a nested map are named deeper (`x[1][2]`): only their cache is told.
    const prior = depth === 1 ? plan.previous.get(`${stage}[${k}]`) : undefined;
    if (prior?.status === 'succeeded' || prior?.status === 'cached') done++;
    else if (entry !== undefined) cached++;
  }
  const reused = [
    ...(done > 0 ? [`${done} done in this run`] : []),
    ...(cached > 0 || done === 0 ? [`${cached} from the cache`] : []),
  ];
  return `runs ${entries.length - done - cached} of ${entries.length} items (${reused.join(', ')})`;
}

/** As a hit checks it (stage-cache.ts): a stage's files must be as it left them. */
async function entryIntact(
  store: RunStore,
  stage: StageSpec,
  entry: CacheEntry,
  layout: StateLayout,
): Promise<boolean> {
  const run = await store.getRun(entry.runId);
  const runDir = run && runDirFound(run, layout.runsDir);
  return stageFilesIntact(stage.task.kind, runDir, entry.stage);
}
