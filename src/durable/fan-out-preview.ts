/**
 * A mapped stage's instances predicted without running anything (dry runs, explain): its items
 * come from its source's output as the engine splits it (fan-out-items.ts), and each item's
 * key is the stage's key with the item's hash in place of the source's output hash.
 */
import type { StageSpec } from '../graph/pipeline.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { CacheEntry, CacheKeyParts, RunStore } from '../store/run-store.ts';
import { cacheKeyOf, cacheKeyParts } from './cache-key.ts';
import { canonicalJson } from './canonical-json.ts';
import { sha256Text } from './hash.ts';

export interface MappedPreview {
  /** The items, in order (flattened when nested). */
  items: unknown[];
  /** Each item's cache entry, in item order; undefined for an item that would run. */
  entries: (CacheEntry | undefined)[];
  /** When every item hits: the stage's output as the run would collect it. */
  output?: unknown;
}

/**
 * How deep a stage's output nests its instances' outputs: 0 for an ordinary stage, 1 for one
 * mapped over a list (or, one instance per instance, over a stage of depth 1), one more for
 * each nested mapping.
 */
export function mappedDepth(pipeline: ValidPipeline, i: number): number {
  const over = pipeline.stages[i]!.fanOut?.over;
  if (over === undefined) return 0;
  const source = mappedDepth(pipeline, pipeline.graph.indexOf.get(over)!);
  if (source === 0) return 1;
  return pipeline.stages[i]!.fanOut?.nested ? source + 1 : source;
}

/**
 * What mapped stage `i`'s instances would do, given its source's output and the output hashes
 * of its other upstream stages; undefined when that output holds no list where the stage
 * needs one (the run fails the stage).
 */
export async function previewMapped(
  store: RunStore,
  pipeline: ValidPipeline,
  i: number,
  sourceOutput: unknown,
  upstream: Readonly<Record<string, string>>,
  workspaceRoot: string,
): Promise<MappedPreview | undefined> {
  const stage = pipeline.stages[i]!;
  const depth = mappedDepth(pipeline, i);
  const items: unknown[] = [];
  if (mapItems(sourceOutput, depth, (item) => items.push(item)) === notAList) return undefined;
  const entries: (CacheEntry | undefined)[] = [];
  for (const item of items) {
    const key = cacheKeyOf(itemKeyParts(stage, upstream, item, workspaceRoot));
    entries.push(await store.cacheGet(pipeline.spec.name, stage.name, key));
  }
  if (entries.some((entry) => entry === undefined)) return { items, entries };
  let next = 0;
  const output = mapItems(sourceOutput, depth, () => JSON.parse(entries[next++]!.outputJson));
  return { items, entries, output };
}

/** An instance's key parts: its stage's, with the item's value in place of the source's output. */
export function itemKeyParts(
  stage: StageSpec,
  upstream: Readonly<Record<string, string>>,
  item: unknown,
  workspaceRoot: string,
): CacheKeyParts {
  const parts = cacheKeyParts(stage, upstream, workspaceRoot);
  parts.item = sha256Text(canonicalJson(item ?? null));
  return parts;
}

/** What mapItems gives when a list is missing on the way down. */
const notAList = Symbol('not a list');

/** `value` with each item (what sits `depth` lists deep) replaced by `each(item)`, lists kept. */
function mapItems(value: unknown, depth: number, each: (item: unknown) => unknown): unknown {
  if (depth === 0) return each(value);
  if (!Array.isArray(value)) return notAList;
  const mapped: unknown[] = [];
  for (const entry of value) {
    const inner = mapItems(entry, depth - 1, each);
    if (inner === notAList) return notAList;
    mapped.push(inner);
  }
  return mapped;
}
