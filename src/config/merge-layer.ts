/**
 * Deep merge of one override layer into a config (SPEC A5). Tables merge key by key; lists and
 * scalars are replaced whole. A table written over a list of tables addresses its items: by
 * index (`modules.0`) or by their name (`modules.train`, matched on `name`, `node_id` or
 * `operator_id`), so that an override changes one module without restating the others.
 */
import type { ConfigIssue } from '../errors.ts';
import { didYouMean } from '../graph/did-you-mean.ts';
import type { ConfigDocument, ConfigPath } from './config-document.ts';
import type { ConfigSources } from './config-sources.ts';

/** The keys that name the items of a list, tried in order. */
export const listItemNameKeys: readonly string[] = ['name', 'node_id', 'operator_id'];

export type PlainTable = Record<string, unknown>;

export function isPlainTable(value: unknown): value is PlainTable {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Merges `layer.value` into `target` (changed in place) and records in `sources` what the layer
 * supplied. Problems (an item name that matches nothing) come back as issues in the layer.
 */
export function mergeLayer(
  target: PlainTable,
  layer: ConfigDocument,
  sources: ConfigSources,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!isPlainTable(layer.value)) {
    issues.push({
      message: 'an override must be a table of keys',
      file: layer.file,
      ...layer.at([]),
    });
    return issues;
  }
  mergeTable(target, layer.value, [], [], { layer, sources, issues });
  return issues;
}

interface MergeContext {
  layer: ConfigDocument;
  sources: ConfigSources;
  issues: ConfigIssue[];
}

function mergeTable(
  target: PlainTable,
  override: PlainTable,
  path: ConfigPath,
  layerPath: ConfigPath,
  context: MergeContext,
): void {
  for (const [key, value] of Object.entries(override)) {
    if (key === '__proto__') {
      // Merging into it would change every object of this process.
      reportAt(context, layerPath, key, "'__proto__' is not allowed as a key");
      continue;
    }
    mergeValue(target, key, value, [...path, key], [...layerPath, key], context);
  }
}

function mergeValue(
  container: PlainTable | unknown[],
  key: string | number,
  value: unknown,
  path: ConfigPath,
  layerPath: ConfigPath,
  context: MergeContext,
): void {
  const current: unknown = (container as Record<string | number, unknown>)[key];
  if (isPlainTable(value) && isPlainTable(current)) {
    mergeTable(current, value, path, layerPath, context);
  } else if (isPlainTable(value) && Array.isArray(current)) {
    mergeIntoList(current, value, path, layerPath, context);
  } else {
    (container as Record<string | number, unknown>)[key] = value;
    context.sources.record(path, context.layer, layerPath);
  }
}

function mergeIntoList(
  list: unknown[],
  override: PlainTable,
  path: ConfigPath,
  layerPath: ConfigPath,
  context: MergeContext,
): void {
  for (const [key, value] of Object.entries(override)) {
    const index = /^\d+$/.test(key) ? Number(key) : indexByName(list, key);
    if (index === undefined || index >= list.length) {
      const names = list.map(itemName).filter((name) => name !== undefined);
      const hint = /^\d+$/.test(key)
        ? `the list has ${list.length} item${list.length === 1 ? '' : 's'}`
        : didYouMean(key, names);
      reportAt(context, layerPath, key, `no item '${key}' in ${path.join('.')}`, hint);
      continue;
    }
    mergeValue(list, index, value, [...path, index], [...layerPath, key], context);
  }
}

/** A problem with `key` of the table at `layerPath`, placed where the layer's file has it. */
function reportAt(
  context: MergeContext,
  layerPath: ConfigPath,
  key: string,
  message: string,
  hint?: string,
): void {
  context.issues.push({
    message,
    file: context.layer.file,
    ...context.layer.keyAt(layerPath, key),
    ...(hint !== undefined && { hint }),
  });
}

function indexByName(list: readonly unknown[], name: string): number | undefined {
  const index = list.findIndex((item) => itemName(item) === name);
  return index === -1 ? undefined : index;
}

function itemName(item: unknown): string | undefined {
  if (!isPlainTable(item)) return undefined;
  for (const key of listItemNameKeys) {
    const name = item[key];
    if (typeof name === 'string') return name;
  }
  return undefined;
}
