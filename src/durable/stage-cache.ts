import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { checkFileRefs } from '../artifacts/file-ref.ts';
import type {
  Executor,
  StageCacheInfo,
  StageResult,
  StageTask,
  TaskItem,
} from '../executors/executor.ts';
import type { StageSpec } from '../graph/pipeline.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { CacheEntry, CacheKeyParts, RunStore } from '../store/run-store.ts';
import { fillKeyParts, partsJson, redactedKeyParts } from './cache-key.ts';
import { canonicalJson } from './canonical-json.ts';
import { sha256Text } from './hash.ts';

export interface StageCacheOptions {
  store: RunStore;
  pipeline: ValidPipeline;
  /** Output hashes by stage name, filled in as stages succeed (the recorder's). */
  outputHashes: ReadonlyMap<string, string>;
  /** false (`--no-cache`): never reuse an output; outputs are still stored for later runs. */
  reuse: boolean;
  /** Masks secrets in the parts kept with each entry; the key is made from the real parts. */
  redact?: (text: string) => string;
}

/**
 * The stage cache (SPEC C3): wraps each executor so that a stage whose key — its name,
 * version, code, params, command, env and upstream output hashes — matches an earlier
 * success reuses that output instead of running. Keys of the pipeline are read once at the
 * start, so a miss costs a set lookup, not a query.
 */
export class StageCache {
  readonly #options: StageCacheOptions;
  readonly #keys: Set<string>;

  private constructor(options: StageCacheOptions, keys: Set<string>) {
    this.#options = options;
    this.#keys = keys;
  }

  static async open(options: StageCacheOptions): Promise<StageCache> {
    const keys = options.reuse
      ? await options.store.cacheKeys(options.pipeline.spec.name)
      : new Set<string>();
    return new StageCache(options, keys);
  }

  wrap(executor: Executor): Executor {
    return {
      execute: (task, signal) => this.#execute(executor, task, signal),
      ...(executor.killAll && { killAll: () => executor.killAll!() }),
      ...(executor.close && { close: () => executor.close!() }),
    };
  }

  /**
   * The key of a stage about to run, or undefined when it is not cached. A fan-out instance's
   * key is its mapped stage's, with its item's hash in place of the source's output hash.
   */
  keyOf(stage: StageSpec, item?: TaskItem): StageCacheInfo | undefined {
    if (stage.cache === false) return undefined;
    const graph = this.#options.pipeline.graph;
    const i = graph.indexOf.get(stage.name);
    if (i === undefined) return undefined;
    const source = item ? stage.fanOut?.over : undefined;
    // Null-prototype records start in dictionary mode: no hidden class per distinct key set.
    const upstream: Record<string, string> = Object.create(null);
    for (let e = graph.upstreamStart[i]!; e < graph.upstreamStart[i + 1]!; e++) {
      const name = graph.names[graph.upstream[e]!]!;
      if (name === source) continue;
      const hash = this.#options.outputHashes.get(name);
      if (hash === undefined) return undefined;
      upstream[name] = hash;
    }
    const parts: CacheKeyParts = { stage: stage.name, upstream };
    fillKeyParts(parts, stage);
    if (item) {
      // The item's value alone, not its place: an element added in front reruns one item.
      parts.item = sha256Text(canonicalJson(item.value ?? null));
    }
    const redact = this.#options.redact;
    const text = partsJson(parts);
    if (!redact) return { key: sha256Text(text), parts, partsJson: text };
    const masked = redactedKeyParts(parts, redact);
    return { key: sha256Text(text), parts: masked, partsJson: partsJson(masked) };
  }

  #execute(executor: Executor, task: StageTask, signal: AbortSignal): Promise<StageResult> {
    const pipeline = this.#options.pipeline;
    const i = pipeline.graph.indexOf.get(task.item?.of ?? task.stage);
    // A fallback runs under its own name, which is not a scheduled stage: never cached.
    const stage = i === undefined ? undefined : pipeline.stages[i];
    const keyed = stage && this.keyOf(stage, task.item);
    if (!keyed) return executor.execute(task, signal);
    // A miss, the usual case, costs a set lookup: no query, no extra turn, no closure.
    if (!this.#keys.has(keyed.key)) return runKeyed(executor, task, signal, keyed);
    return this.#hit(keyed.key, task, stage).then((hit) =>
      hit
        ? {
            ...hit,
            cache: { ...keyed, hit: { runId: hit.entry.runId, attempt: hit.entry.attempt } },
          }
        : runKeyed(executor, task, signal, keyed),
    );
  }

  /** The stored output of `key` when it is still usable: its files are where they were. */
  async #hit(
    key: string,
    task: StageTask,
    stage: StageSpec,
  ): Promise<(StageResult & { entry: CacheEntry }) | undefined> {
    const startedAt = Date.now();
    const { store, pipeline } = this.#options;
    // Under the mapped stage for an instance: the store looks among all its instances' entries.
    const entry = await store.cacheGet(pipeline.spec.name, stage.name, key);
    if (!entry) return undefined;
    const output: unknown = JSON.parse(entry.outputJson);
    if (!checkFileRefs(output).ok) return undefined;
    if (stage.task.kind === 'command' || stage.task.kind === 'python') {
      // A process's real output is its artifacts directory: the run that made it must be there.
      const source = await store.getRun(entry.runId);
      // Under the name it had there: an instance may have had another place (`x[2]`, now `x[3]`).
      const sourceArtifacts = source && `${source.runDir}/${entry.stage}/artifacts`;
      if (!sourceArtifacts || !existsSync(`${source.runDir}/${entry.stage}`)) return undefined;
      if (existsSync(sourceArtifacts)) linkArtifacts(task.paths.stageDir, sourceArtifacts);
    }
    return { status: 'succeeded', output, startedAt, endedAt: Date.now(), entry };
  }
}

/** Runs the attempt and tags its result with the key it ran under. */
function runKeyed(
  executor: Executor,
  task: StageTask,
  signal: AbortSignal,
  keyed: StageCacheInfo,
): Promise<StageResult> {
  return executor.execute(task, signal).then(withCache.bind(keyed));
}

/** `this`: the key's info. Bound, not a closure per stage. */
function withCache(this: StageCacheInfo, result: StageResult): StageResult {
  result.cache = this;
  return result;
}

/** Downstream stages find a cached stage's files at the usual place: a link to the source. */
function linkArtifacts(stageDir: string, sourceArtifacts: string): void {
  mkdirSync(stageDir, { recursive: true });
  const link = `${stageDir}/artifacts`;
  if (!existsSync(link)) symlinkSync(sourceArtifacts, link);
}
