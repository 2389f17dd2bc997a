import { existsSync } from 'node:fs';
import { InputError } from '../errors.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { AttemptRecord, CacheEntry, RunStore } from '../store/run-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { stageFilesIntact } from './artifacts-manifest.ts';
import { cacheKeyOf, cacheKeyParts, describeKeyChanges, redactedKeyParts } from './cache-key.ts';
import { previewRun } from './dry-run.ts';
import { readExportCode } from './export-code.ts';
import { itemKeyParts, mappedDepth, previewMapped } from './fan-out-preview.ts';
import { runDirFound, stateLayout } from './layout.ts';

export interface Explanation {
  stage: string;
  /** What a run would do with the stage now. */
  verdict: 'cached' | 'run';
  /** One sentence: why. */
  summary: string;
  /** Each part of the cache key that changed since the stage's last success. */
  changes: string[];
  key?: string;
  /** The run whose output a hit would reuse, or the one the changes are counted from. */
  comparedWith?: string;
}

interface ExplainOptions {
  pipeline: ValidPipeline;
  workspaceRoot: string;
  stage: string;
  runId?: string;
  /** Masks secrets in the parts compared, as the run masked them in what it kept. */
  redact?: (text: string) => string;
}

/**
 * Why a stage would run or hit the cache (SPEC C6): its cache key now — upstream outputs taken
 * from `runId`, else from their latest successes — against the key of its last success.
 */
export async function explainStage(options: ExplainOptions): Promise<Explanation> {
  const { pipeline, stage: name } = options;
  const i = pipeline.graph.indexOf.get(name);
  if (i === undefined) {
    const mapped = /^(.+?)(\[\d+\])+$/.exec(name)?.[1];
    const at = mapped === undefined ? undefined : pipeline.graph.indexOf.get(mapped);
    const hint =
      at !== undefined && pipeline.stages[at]!.fanOut
        ? ` (an item of mapped stage '${mapped}': explain '${mapped}' tells of its items)`
        : '';
    throw new InputError(`no stage '${name}' in pipeline '${pipeline.spec.name}'${hint}`);
  }
  const stage = pipeline.stages[i]!;
  if (stage.cache === false) {
    return {
      stage: name,
      verdict: 'run',
      summary: 'its cache is off (cache: false): it always runs',
      changes: [],
    };
  }
  const { dbFile, exportCodeFile } = stateLayout(
    options.workspaceRoot,
    pipeline.spec.checkpoint?.directory,
  );
  readExportCode(exportCodeFile);
  if (!existsSync(dbFile)) {
    return {
      stage: name,
      verdict: 'run',
      summary: 'nothing has run in this workspace yet',
      changes: [],
    };
  }
  const first = options.runId === undefined ? await upstreamThatRuns(options, i) : undefined;
  const store = await openSqliteStore(dbFile);
  try {
    return first
      ? await withOwnChanges(store, i, options, first)
      : await explainWith(store, i, options);
  } finally {
    await store.close();
  }
}

/**
 * An upstream stage runs first, and the stage's own parts (code, params, command, env…) may
 * have changed too: then it runs whatever that upstream gives, and the explanation says why.
 * Its parts now are compared with its last success's, under the same upstream hashes.
 */
async function withOwnChanges(
  store: RunStore,
  i: number,
  { pipeline, workspaceRoot, redact }: ExplainOptions,
  upstreamRuns: Explanation,
): Promise<Explanation> {
  const stage = pipeline.stages[i]!;
  if (stage.fanOut) return upstreamRuns;
  const last = await lastEntryOf(store, pipeline, stage.name);
  if (!last) return upstreamRuns;
  const parts = cacheKeyParts(stage, last.parts.upstream, workspaceRoot);
  const changes = describeKeyChanges(last.parts, redact ? redactedKeyParts(parts, redact) : parts);
  if (changes.length === 0) return upstreamRuns;
  const upstream = upstreamRuns.summary.replace(/: this stage runs after it.*$/, '');
  return {
    ...upstreamRuns,
    summary: `its cache key changed since its last success (run ${last.runId}), whatever its upstream gives; and ${upstream}`,
    changes,
    comparedWith: last.runId,
  };
}

/**
 * When an upstream stage of stage `i` would run in the next run (as `--dry-run` predicts), the
 * stage's input is not known before it has: said so, rather than a hit on the last outputs.
 */
async function upstreamThatRuns(
  options: ExplainOptions,
  i: number,
): Promise<Explanation | undefined> {
  const { pipeline } = options;
  const graph = pipeline.graph;
  const preview = await previewRun({ pipeline, workspaceRoot: options.workspaceRoot });
  for (const u of graph.upstreamOf(i)) {
    const row = preview.rows[u]!;
    if (row.action !== 'run') continue;
    return {
      stage: options.stage,
      verdict: 'run',
      summary: `its upstream '${row.stage}' would run first (${row.detail}; explain '${row.stage}' says why): this stage runs after it, unless '${row.stage}' gives the same output as before`,
      changes: [],
    };
  }
  return undefined;
}

async function explainWith(
  store: RunStore,
  i: number,
  options: ExplainOptions,
): Promise<Explanation> {
  const { pipeline, runId, redact } = options;
  const stage = pipeline.stages[i]!;
  const upstream = await upstreamOutputs(store, pipeline, i, runId);
  if ('missing' in upstream) {
    return {
      stage: stage.name,
      verdict: 'run',
      summary: `upstream '${upstream.missing}' has no output${runId ? ` in run ${runId}` : ' yet'}: it runs first, then this stage`,
      changes: [],
    };
  }
  if (stage.fanOut) return explainMapped(store, i, upstream, options);
  const parts = cacheKeyParts(stage, upstream.hashes, options.workspaceRoot);
  const key = cacheKeyOf(parts);
  const hit = await store.cacheGet(pipeline.spec.name, stage.name, key);
  if (hit && !(await hitFilesIntact(store, options, hit))) {
    return {
      stage: stage.name,
      verdict: 'run',
      summary: `its cached output (run ${hit.runId}) has files that are gone or changed: it runs again`,
      changes: [],
      key,
      comparedWith: hit.runId,
    };
  }
  if (hit) {
    return {
      stage: stage.name,
      verdict: 'cached',
      summary: `it would reuse the output of run ${hit.runId}`,
      changes: [],
      key,
      comparedWith: hit.runId,
    };
  }
  // Compared with the key of the stage's last success — not with its newest cache entry,
  // which is older news once a later run hit an earlier entry (a change undone).
  const lastSuccess = await store.latestSuccess(pipeline.spec.name, stage.name);
  const lastKey = lastSuccess?.cacheKey;
  const used =
    lastKey === undefined
      ? undefined
      : await store.cacheGet(pipeline.spec.name, stage.name, lastKey);
  const last = used ?? (await store.cacheLatest(pipeline.spec.name, stage.name));
  if (!last) {
    return {
      stage: stage.name,
      verdict: 'run',
      summary: lastSuccess
        ? `nothing is cached for it: the output of its last success (run ${lastSuccess.runId}) was removed from the cache`
        : 'it has never succeeded: nothing is cached',
      changes: [],
      key,
    };
  }
  const since = used ? lastSuccess!.runId : last.runId;
  const changes = describeKeyChanges(last.parts, redact ? redactedKeyParts(parts, redact) : parts);
  // Keys differ where every part reads the same: a masked value is what changed.
  if (changes.length === 0 && redact && last.key !== key)
    changes.push('a secret value changed (it is masked)');
  return {
    stage: stage.name,
    verdict: 'run',
    summary:
      changes.length > 0
        ? `its cache key changed since its last success (run ${since})`
        : `its cached output (run ${last.runId}) was removed`,
    changes,
    key,
    comparedWith: since,
  };
}

/**
 * A mapped stage is not cached itself: each of its items is, under its own key. It would hit
 * when every item of its source's output (from `runId`, else its latest success) would.
 */
async function explainMapped(
  store: RunStore,
  i: number,
  { hashes, sourceJson }: UpstreamOutputs,
  { pipeline, redact, workspaceRoot }: ExplainOptions,
): Promise<Explanation> {
  const stage = pipeline.stages[i]!;
  const over = stage.fanOut!.over;
  const wouldRun = (summary: string): Explanation => ({
    stage: stage.name,
    verdict: 'run',
    summary,
    changes: [],
  });
  delete hashes[over];
  const source: unknown = JSON.parse(sourceJson ?? 'null');
  const preview = await previewMapped(store, pipeline, i, source, hashes, workspaceRoot);
  if (!preview)
    return wouldRun(`it is mapped over '${over}', whose output holds no list to map over`);
  const items = preview.entries.length;
  const missing = preview.entries.flatMap((entry, item) => (entry ? [] : [item]));
  if (missing.length === 0) {
    return {
      stage: stage.name,
      verdict: 'cached',
      summary: `it is mapped over '${over}': each of its ${items} items would reuse a cached output`,
      changes: [],
    };
  }
  const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ', …' : '');
  const summary = `it is mapped over '${over}': ${missing.length} of its ${items} items would run, the items with no cached output for their value (${shown}, counting from 0)`;
  // Why, told for the first of them against the last success at its place, when it had one.
  const first = missing[0]!;
  const instance = `${stage.name}[${first}]`;
  const last =
    mappedDepth(pipeline, i) === 1 ? await lastEntryOf(store, pipeline, instance) : undefined;
  if (!last) return wouldRun(summary);
  const parts = itemKeyParts(stage, hashes, preview.items[first], workspaceRoot);
  const changes = describeKeyChanges(last.parts, redact ? redactedKeyParts(parts, redact) : parts);
  if (last.parts.item !== parts.item) changes.push(`item ${first} has another value`);
  return {
    stage: stage.name,
    verdict: 'run',
    summary: `${summary}; item ${first} against its last success (run ${last.runId}):`,
    changes,
    comparedWith: last.runId,
  };
}

/** The cache entry of a stage's last success, while it is still cached. */
async function lastEntryOf(store: RunStore, pipeline: ValidPipeline, stage: string) {
  const success = await store.latestSuccess(pipeline.spec.name, stage);
  if (success?.cacheKey === undefined) return undefined;
  return store.cacheGet(pipeline.spec.name, stage, success.cacheKey);
}

interface UpstreamOutputs {
  hashes: Record<string, string>;
  /** A mapped stage's source's output. */
  sourceJson?: string;
}

/**
 * Output hashes of the stage's upstream stages — and for a mapped stage its source's output —
 * or the first one that has none.
 */
async function upstreamOutputs(
  store: RunStore,
  pipeline: ValidPipeline,
  i: number,
  runId: string | undefined,
): Promise<UpstreamOutputs | { missing: string }> {
  const graph = pipeline.graph;
  const over = pipeline.stages[i]!.fanOut?.over;
  const inRun = new Map<string, AttemptRecord>();
  if (runId !== undefined) {
    const run = await store.getRun(runId);
    if (!run) throw new InputError(`no run '${runId}' in this workspace (see gpipe runs)`);
    for (const attempt of await store.attempts(runId)) {
      if (attempt.outputHash !== undefined) inRun.set(attempt.stage, attempt);
    }
  }
  const hashes: Record<string, string> = {};
  let sourceJson: string | undefined;
  for (const u of graph.upstreamOf(i)) {
    const name = graph.names[u]!;
    const attempt =
      runId !== undefined ? inRun.get(name) : await store.latestSuccess(pipeline.spec.name, name);
    if (attempt?.outputHash === undefined) return { missing: name };
    hashes[name] = attempt.outputHash;
    if (name === over) sourceJson = attempt.outputJson;
  }
  return sourceJson === undefined ? { hashes } : { hashes, sourceJson };
}

/** As a hit checks it (stage-cache.ts): a stage's files must be as it left them. */
async function hitFilesIntact(
  store: RunStore,
  { pipeline, workspaceRoot, stage }: ExplainOptions,
  hit: CacheEntry,
): Promise<boolean> {
  const i = pipeline.graph.indexOf.get(stage)!;
  const run = await store.getRun(hit.runId);
  const { runsDir } = stateLayout(
    workspaceRoot,
    pipeline.spec.checkpoint?.directory,
    pipeline.spec.runsDirectory,
  );
  const runDir = run && runDirFound(run, runsDir);
  return stageFilesIntact(pipeline.stages[i]!.task.kind, runDir, hit.stage);
}
