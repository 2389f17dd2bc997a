import type { TaskItem } from '../executors/executor.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { Scheduler } from './scheduler.ts';

/** A fan-out instance's item, as a stage receives it (`context.item`, `$GP_ITEM`). */
export type FanOutItem = TaskItem;

/**
 * The engine's side of dynamic fan-out: names instances (`resize[3]`, `words[3][1]`), gives
 * each its item, and collects a mapped stage's outputs in input order once it succeeded.
 * The scheduler says which node an instance was made from; the outputs are the engine's.
 */
export class FanOutItems {
  readonly #pipeline: ValidPipeline;
  readonly #scheduler: Scheduler;
  readonly #outputs: readonly unknown[];
  readonly #suffix: string[] = [];
  /** Instances by the node they were made from and their mapped stage, by item index. */
  readonly #children = new Map<number, number[]>();
  /** Each succeeded mapped stage's instances, shaped as its output. */
  readonly #shapes = new Map<number, unknown[]>();

  constructor(pipeline: ValidPipeline, scheduler: Scheduler, outputs: readonly unknown[]) {
    this.#pipeline = pipeline;
    this.#scheduler = scheduler;
    this.#outputs = outputs;
  }

  /** The stage's name, or for an instance its mapped stage's name and place: `resize[3]`. */
  nameOf(node: number): string {
    const stages = this.#pipeline.stages;
    if (node < stages.length) return stages[node]!.name;
    const template = this.#scheduler.templateOf(node);
    return stages[template]!.name + this.#suffixOf(node);
  }

  #suffixOf(node: number): string {
    const at = node - this.#pipeline.stages.length;
    const known = this.#suffix[at];
    if (known !== undefined) return known;
    const scheduler = this.#scheduler;
    const parent = scheduler.parentOf(node);
    const index = scheduler.itemIndexOf(node);
    const above = parent >= this.#pipeline.stages.length ? this.#suffixOf(parent) : '';
    const suffix = index >= 0 ? `${above}[${index}]` : above;
    this.#suffix[at] = suffix;
    const key = this.#key(parent, scheduler.templateOf(node));
    const children = this.#children.get(key) ?? [];
    if (children.length === 0) this.#children.set(key, children);
    children[Math.max(index, 0)] = node;
    return suffix;
  }

  #key(parent: number, template: number): number {
    return parent * this.#pipeline.stages.length + template;
  }

  /** The item an instance runs with. */
  itemOf(node: number): FanOutItem {
    const scheduler = this.#scheduler;
    const parentOutput = this.#outputs[scheduler.parentOf(node)];
    const index = scheduler.itemIndexOf(node);
    const value = index >= 0 ? (parentOutput as readonly unknown[])[index] : parentOutput;
    return {
      of: this.#pipeline.stages[scheduler.templateOf(node)]!.name,
      index: indexPath(this.#suffixOf(node)),
      value,
    };
  }

  /**
   * A succeeded mapped stage's output: its instances' outputs in input order, nested as its
   * instances are (`words[i][j]` → a list of lists; an empty list where an item had none).
   */
  collect(template: number): unknown[] {
    const mapLeaves = (shape: unknown[], leaf: (node: number) => unknown): unknown[] =>
      shape.map((entry) => (Array.isArray(entry) ? mapLeaves(entry, leaf) : leaf(entry as number)));
    return mapLeaves(this.#shapeOf(template), (node) => this.#outputs[node]);
  }

  /** A succeeded mapped stage's instances' names, in input order (nested ones flattened). */
  instanceNames(template: number): string[] {
    const names: string[] = [];
    const walk = (shape: unknown[]): void => {
      for (const entry of shape) {
        if (Array.isArray(entry)) walk(entry);
        else names.push(this.nameOf(entry as number));
      }
    };
    walk(this.#shapeOf(template));
    return names;
  }

  #shapeOf(template: number): unknown[] {
    const known = this.#shapes.get(template);
    if (known) return known;
    const source = this.#sourceOf(template);
    const children = (parent: number) => this.#children.get(this.#key(parent, template)) ?? [];
    let shape: unknown[];
    if (!this.#scheduler.isMapped(source)) {
      shape = [...children(source)];
    } else {
      const nested = this.#pipeline.stages[template]!.fanOut?.nested === true;
      const walk = (entries: unknown[]): unknown[] =>
        entries.map((entry) => {
          if (Array.isArray(entry)) return walk(entry);
          const made = children(entry as number);
          return nested ? [...made] : made[0];
        });
      shape = walk(this.#shapeOf(source));
    }
    this.#shapes.set(template, shape);
    return shape;
  }

  #sourceOf(template: number): number {
    const over = this.#pipeline.stages[template]!.fanOut!.over;
    return this.#pipeline.graph.indexOf.get(over)!;
  }
}

/** `[3][1]` → [3, 1]. */
function indexPath(suffix: string): number[] {
  return suffix === '' ? [] : suffix.slice(1, -1).split('][').map(Number);
}

/** The scheduler's view of a pipeline's mapped stages; undefined when it has none. */
export function fanOutSpec(
  pipeline: ValidPipeline,
): { over: Int32Array; nested: Uint8Array } | undefined {
  const n = pipeline.stages.length;
  let over: Int32Array | undefined;
  let nested: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const fanOut = pipeline.stages[i]!.fanOut;
    if (!fanOut) continue;
    over ??= new Int32Array(n).fill(-1);
    nested ??= new Uint8Array(n);
    over[i] = pipeline.graph.indexOf.get(fanOut.over)!;
    if (fanOut.nested) nested[i] = 1;
  }
  return over && nested ? { over, nested } : undefined;
}
