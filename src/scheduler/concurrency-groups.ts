import type { StageSpec } from '../graph/pipeline.ts';

/** Each stage's concurrency group by index (-1: none), and each group's limit. */
export interface GroupRequests {
  of: ArrayLike<number>;
  limits: ArrayLike<number>;
}

/** The groups of `stages` (by index), or undefined when none is in one. */
export function groupRequests(stages: readonly StageSpec[]): GroupRequests | undefined {
  const ids = new Map<string, number>();
  const limits: number[] = [];
  const of = new Int32Array(stages.length).fill(-1);
  for (let i = 0; i < stages.length; i++) {
    const concurrency = stages[i]!.concurrency;
    if (!concurrency) continue;
    let id = ids.get(concurrency.group);
    if (id === undefined) {
      id = limits.length;
      ids.set(concurrency.group, id);
      limits.push(concurrency.limit);
    }
    of[i] = id;
  }
  return limits.length === 0 ? undefined : { of, limits };
}

/**
 * How many stages of each concurrency group run, and the ready stages that wait for a slot of
 * their full group. Those wait here, off the ready queue, so that they hold up no stage of
 * another group (no head-of-line blocking); each slot given back sends the longest waiting
 * one back to the queue. They hold no resources while they wait, so a full group can never
 * deadlock with CPU, memory or GPU admission: its running stages end and free it.
 */
export class ConcurrencyGroups {
  readonly #of: ArrayLike<number>;
  readonly #limits: ArrayLike<number>;
  readonly #running: Int32Array;
  /** By group, in the order they found it full; read from #head on. */
  readonly #waiting: number[][];
  readonly #head: Int32Array;

  constructor(requests: GroupRequests) {
    const groups = requests.limits.length;
    this.#of = requests.of;
    this.#limits = requests.limits;
    this.#running = new Int32Array(groups);
    this.#waiting = Array.from({ length: groups }, () => []);
    this.#head = new Int32Array(groups);
  }

  /** Whether graph stage `row`'s group has no free slot now. */
  isFull(row: number): boolean {
    const group = this.#of[row]!;
    return group >= 0 && this.#running[group]! >= this.#limits[group]!;
  }

  /** Ready node `node` (of graph stage `row`) waits for a slot of its full group. */
  wait(node: number, row: number): void {
    this.#waiting[this.#of[row]!]!.push(node);
  }

  /** A node of graph stage `row` starts: it takes a slot of its group. */
  acquire(row: number): void {
    const group = this.#of[row]!;
    if (group >= 0) this.#running[group]!++;
  }

  /** A node of graph stage `row` gives its slot back: the node to queue again, or -1. */
  release(row: number): number {
    const group = this.#of[row]!;
    if (group < 0) return -1;
    this.#running[group]!--;
    const waiting = this.#waiting[group]!;
    const head = this.#head[group]!;
    if (head >= waiting.length) return -1;
    const node = waiting[head]!;
    if (head + 1 === waiting.length) {
      waiting.length = 0;
      this.#head[group] = 0;
    } else this.#head[group] = head + 1;
    return node;
  }

  /** The run stops: nothing waits any more (the scheduler cancels those nodes itself). */
  clear(): void {
    for (let group = 0; group < this.#waiting.length; group++) {
      this.#waiting[group]!.length = 0;
      this.#head[group] = 0;
    }
  }
}
