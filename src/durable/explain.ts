import { existsSync } from 'node:fs';
import { InputError } from '../errors.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { RunStore } from '../store/run-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { cacheKeyOf, cacheKeyParts, describeKeyChanges, redactedKeyParts } from './cache-key.ts';
import { stateLayout } from './layout.ts';

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

/**
 * Why a stage would run or hit the cache (SPEC C6): its cache key now — upstream outputs taken
 * from `runId`, else from their latest successes — against the key of its last success.
 */
export async function explainStage(options: {
  pipeline: ValidPipeline;
  workspaceRoot: string;
  stage: string;
  runId?: string;
  /** Masks secrets in the parts compared, as the run masked them in what it kept. */
  redact?: (text: string) => string;
}): Promise<Explanation> {
  const { pipeline, stage: name } = options;
  const i = pipeline.graph.indexOf.get(name);
  if (i === undefined) {
    throw new InputError(`no stage '${name}' in pipeline '${pipeline.spec.name}'`);
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
  const { dbFile } = stateLayout(options.workspaceRoot, pipeline.spec.checkpoint?.directory);
  if (!existsSync(dbFile)) {
    return {
      stage: name,
      verdict: 'run',
      summary: 'nothing has run in this workspace yet',
      changes: [],
    };
  }
  const store = await openSqliteStore(dbFile);
  try {
    return await explainWith(store, pipeline, i, options.runId, options.redact);
  } finally {
    await store.close();
  }
}

async function explainWith(
  store: RunStore,
  pipeline: ValidPipeline,
  i: number,
  runId: string | undefined,
  redact: ((text: string) => string) | undefined,
): Promise<Explanation> {
  const stage = pipeline.stages[i]!;
  const upstreamHashes = await upstreamOutputHashes(store, pipeline, i, runId);
  if ('missing' in upstreamHashes) {
    return {
      stage: stage.name,
      verdict: 'run',
      summary: `upstream '${upstreamHashes.missing}' has no output${runId ? ` in run ${runId}` : ' yet'}: it runs first, then this stage`,
      changes: [],
    };
  }
  const parts = cacheKeyParts(stage, upstreamHashes);
  const key = cacheKeyOf(parts);
  const hit = await store.cacheGet(pipeline.spec.name, stage.name, key);
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

/** Output hashes of the stage's upstream stages, or the first one that has none. */
async function upstreamOutputHashes(
  store: RunStore,
  pipeline: ValidPipeline,
  i: number,
  runId: string | undefined,
): Promise<Record<string, string> | { missing: string }> {
  const graph = pipeline.graph;
  const inRun = new Map<string, string>();
  if (runId !== undefined) {
    const run = await store.getRun(runId);
    if (!run) throw new InputError(`no run '${runId}' in this workspace (see gpipe runs)`);
    for (const attempt of await store.attempts(runId)) {
      if (attempt.outputHash !== undefined) inRun.set(attempt.stage, attempt.outputHash);
    }
  }
  const hashes: Record<string, string> = {};
  for (const u of graph.upstreamOf(i)) {
    const name = graph.names[u]!;
    const hash =
      runId !== undefined
        ? inRun.get(name)
        : (await store.latestSuccess(pipeline.spec.name, name))?.outputHash;
    if (hash === undefined) return { missing: name };
    hashes[name] = hash;
  }
  return hashes;
}
