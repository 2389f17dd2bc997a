import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { checkFileRefs } from '../artifacts/file-ref.ts';
import { PipelineError, serializeError } from '../errors.ts';
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
import { stageFilesIntact } from './artifacts-manifest.ts';
import {
  type FixedKeyText,
  fillKeyParts,
  fixedKeyText,
  keyPartsText,
  partsJson,
  redactedKeyParts,
  upstreamText,
} from './cache-key.ts';
import { canonicalJson } from './canonical-json.ts';
import { sha256Text } from './hash.ts';
import { runDirFound } from './layout.ts';
import type { PlanAction } from './plan.ts';

export interface StageCacheOptions {
  store: RunStore;
  pipeline: ValidPipeline;
  /** Output hashes by stage name, filled in as stages succeed (the recorder's). */
  outputHashes: ReadonlyMap<string, string>;
  /** false (`--no-cache`): never reuse an output; outputs are still stored for later runs. */
  reuse: boolean;
  /** Masks secrets in the parts kept with each entry; the key is made from the real parts. */
  redact?: (text: string) => string;
  /** Where commands without a `cwd` run: the files they name are found from there. */
  workspaceRoot: string;
  /**
   * This workspace's run directories: where an earlier run's directory is once the project
   * was moved or renamed (the store keeps it absolute).
   */
  runsDir: string;
  /**
   * What the run does with each stage. When it runs few (a resume, a selection), the store is
   * asked for each of their keys instead of for every key of the pipeline: a fifth of a
   * second for 100,000 entries.
   */
  actions?: ReadonlyMap<string, PlanAction>;
}

/** Up to this many stages to run, keys are looked up one by one. */
const FEW_TO_RUN = 1000;

/**
 * The stage cache (SPEC C3): wraps each executor so that a stage whose key — its name,
 * version, code, params, command, env and upstream output hashes — matches an earlier
 * success reuses that output instead of running. Keys of the pipeline are read once at the
 * start, so a miss costs a set lookup, not a query.
 */
export class StageCache {
  readonly #options: StageCacheOptions;
  /** Every key of the pipeline; undefined when few stages run: each key is looked up then. */
  readonly #keys: Set<string> | undefined;
  /** By graph index: the text of the parts every key of the stage shares, made once. */
  readonly #fixed: (FixedKeyText | undefined)[] = [];
  readonly #hashOf: (stage: string) => string | undefined;
  readonly #sourceDirs = new Map<string, Promise<string | undefined>>();

  private constructor(options: StageCacheOptions, keys: Set<string> | undefined) {
    this.#options = options;
    this.#keys = keys;
    this.#hashOf = (stage) => options.outputHashes.get(stage);
  }

  static async open(options: StageCacheOptions): Promise<StageCache> {
    if (!options.reuse) return new StageCache(options, new Set());
    if (runsFew(options.pipeline, options.actions)) return new StageCache(options, undefined);
    return new StageCache(options, await options.store.cacheKeys(options.pipeline.spec.name));
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
    const names: string[] = [];
    for (let e = graph.upstreamStart[i]!; e < graph.upstreamStart[i + 1]!; e++) {
      const name = graph.names[graph.upstream[e]!]!;
      if (name === source) continue;
      if (!this.#options.outputHashes.has(name)) return undefined;
      names.push(name);
    }
    // The item's value alone, not its place: an element added in front reruns one item.
    const itemHash = item && sha256Text(canonicalJson(item.value ?? null));
    if (this.#options.redact) return this.#redactedKey(stage, names, itemHash);
    this.#fixed[i] ??= fixedKeyText(fixedParts(stage, this.#options.workspaceRoot));
    const fixed = this.#fixed[i];
    const text = keyPartsText(fixed, stage.name, itemHash, upstreamText(names, this.#hashOf));
    return new KeyedStage(sha256Text(text), text);
  }

  /** A key whose parts are kept with secrets masked: the key is still made from the real ones. */
  #redactedKey(stage: StageSpec, names: readonly string[], item: string | undefined) {
    // No prototype: its keys are stage names.
    const upstream: Record<string, string> = Object.create(null);
    for (const name of names) upstream[name] = this.#options.outputHashes.get(name)!;
    const parts: CacheKeyParts = { stage: stage.name, upstream };
    fillKeyParts(parts, stage, this.#options.workspaceRoot);
    if (item !== undefined) parts.item = item;
    const masked = redactedKeyParts(parts, this.#options.redact!);
    return { key: sha256Text(partsJson(parts)), parts: masked, partsJson: partsJson(masked) };
  }

  #execute(executor: Executor, task: StageTask, signal: AbortSignal): Promise<StageResult> {
    const pipeline = this.#options.pipeline;
    const i = pipeline.graph.indexOf.get(task.item?.of ?? task.stage);
    // A fallback runs under its own name, which is not a scheduled stage: never cached.
    const stage = i === undefined ? undefined : pipeline.stages[i];
    const keyed = stage && this.keyOf(stage, task.item);
    if (!keyed) return executor.execute(task, signal).then(withOutputJson.bind(null, task.stage));
    // A miss, the usual case, costs a set lookup: no query, no extra turn, no closure.
    const keys = this.#keys;
    if (keys !== undefined && !keys.has(keyed.key)) {
      return this.#miss(executor, task, signal, stage, keyed);
    }
    return this.#hit(keyed.key, task, stage).then((hit) =>
      hit
        ? {
            ...hit,
            cache: {
              key: keyed.key,
              parts: keyed.parts,
              partsJson: keyed.partsJson,
              hit: { runId: hit.entry.runId, attempt: hit.entry.attempt },
            },
          }
        : this.#miss(executor, task, signal, stage, keyed),
    );
  }

  /**
   * Runs the attempt under its key. A command whose key holds files it names is keyed by those
   * files as the command left them: one it rewrites (`--out metrics.yaml`, `cp a.yaml b.yaml`)
   * is its output, and would otherwise change its key after every run, so that it never hits.
   */
  #miss(
    executor: Executor,
    task: StageTask,
    signal: AbortSignal,
    stage: StageSpec,
    keyed: StageCacheInfo,
  ): Promise<StageResult> {
    // In JSON text a `"code":` can only be the key: a value's quotes are escaped.
    if (stage.task.kind !== 'command' || !keyed.partsJson.includes('"code":'))
      return runKeyed(executor, task, signal, keyed);
    return executor.execute(task, signal).then((result) => {
      let after = keyed;
      if (result.status === 'succeeded') {
        const i = this.#options.pipeline.graph.indexOf.get(stage.name)!;
        this.#fixed[i] = fixedKeyText(fixedParts(stage, this.#options.workspaceRoot));
        after = this.keyOf(stage, task.item) ?? keyed;
      }
      return withCache.call(after, task.stage, result);
    });
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
    // Its files are part of its output: as the stage left them, at the usual place for the
    // stages downstream. Under the name it had there: an instance may have had another place
    // (`x[2]`, now `x[3]`).
    const sourceDir = await this.#sourceRunDir(entry.runId);
    if (!stageFilesIntact(stage.task.kind, sourceDir, entry.stage)) return undefined;
    const artifacts = `${sourceDir}/${entry.stage}/artifacts`;
    if (sourceDir !== undefined && existsSync(artifacts))
      linkArtifacts(task.paths.stageDir, artifacts);
    return { status: 'succeeded', output, startedAt, endedAt: Date.now(), entry };
  }

  /** Where the run that made an entry keeps its files, looked up once per run. */
  #sourceRunDir(runId: string): Promise<string | undefined> {
    let found = this.#sourceDirs.get(runId);
    if (!found) {
      found = this.#options.store
        .getRun(runId)
        .then((run) => (run ? runDirFound(run, this.#options.runsDir) : undefined));
      this.#sourceDirs.set(runId, found);
    }
    return found;
  }
}

/** Whether the plan runs at most FEW_TO_RUN stages, none of them mapped (its items are many). */
function runsFew(pipeline: ValidPipeline, actions: ReadonlyMap<string, PlanAction> | undefined) {
  if (actions === undefined) return false;
  let count = 0;
  for (const [name, action] of actions) {
    if (action !== 'run') continue;
    const i = pipeline.graph.indexOf.get(name);
    if (i === undefined || pipeline.stages[i]!.fanOut || ++count > FEW_TO_RUN) return false;
  }
  return true;
}

/** Runs the attempt and tags its result with the key it ran under. */
function runKeyed(
  executor: Executor,
  task: StageTask,
  signal: AbortSignal,
  keyed: StageCacheInfo,
): Promise<StageResult> {
  return executor.execute(task, signal).then(withCache.bind(keyed, task.stage));
}

/** `this`: the key's info; `stage`: the attempt's name. Bound, not a closure per stage. */
function withCache(this: StageCacheInfo, stage: string, result: StageResult): StageResult {
  result.cache = this;
  return withOutputJson(stage, result);
}

/**
 * A success gets its output's JSON text, which the recorder stores: made here, an output JSON
 * cannot hold (a BigInt, a cycle) fails its stage like any error, where in the recorder's
 * event callback it would end the whole run.
 */
function withOutputJson(stage: string, result: StageResult): StageResult {
  if (result.status !== 'succeeded' || result.outputJson !== undefined) return result;
  let reason: string;
  try {
    const text = JSON.stringify(result.output ?? null) as string | undefined;
    if (text !== undefined) {
      result.outputJson = text;
      return result;
    }
    reason = `JSON has no ${typeof result.output}`; // a function or a symbol, at the top
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error); // a BigInt, a cycle, a toJSON
  }
  const problem = new PipelineError(
    'OUTPUT_NOT_JSON',
    `stage '${stage}' returned an output JSON cannot hold: ${reason}`,
  );
  const failed: StageResult = { ...result, status: 'failed', error: serializeError(problem) };
  delete failed.output;
  return failed;
}

/** Downstream stages find a cached stage's files at the usual place: a link to the source. */
function linkArtifacts(stageDir: string, sourceArtifacts: string): void {
  mkdirSync(stageDir, { recursive: true });
  const link = `${stageDir}/artifacts`;
  if (!existsSync(link)) symlinkSync(sourceArtifacts, link);
}

/**
 * A key and its parts' text; the parts as an object are made from the text only when asked
 * for (explain, a test): a run stores the text, and 100,000 objects would only feed the GC.
 */
class KeyedStage implements StageCacheInfo {
  readonly key: string;
  readonly partsJson: string;
  #parts: CacheKeyParts | undefined;

  constructor(key: string, partsJson: string) {
    this.key = key;
    this.partsJson = partsJson;
  }

  get parts(): CacheKeyParts {
    this.#parts ??= JSON.parse(this.partsJson) as CacheKeyParts;
    return this.#parts;
  }
}

/** The parts a stage's keys all share (fillKeyParts without stage and upstream). */
function fixedParts(
  stage: StageSpec,
  workspaceRoot: string,
): Omit<CacheKeyParts, 'stage' | 'upstream'> {
  const parts: CacheKeyParts = { stage: stage.name, upstream: {} };
  fillKeyParts(parts, stage, workspaceRoot);
  return parts;
}
