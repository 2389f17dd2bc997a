/**
 * Nested execution (SPEC B5): `context.executeTasks(tasks)` and `context.map(items, fn)`.
 *
 * Sub-tasks run within the parent stage's own CPU grant: a stage granted `cpus` runs at most
 * `max(1, floor(cpus))` sub-tasks at once, whatever the nesting. The rule that keeps this free
 * of deadlock: a caller never waits for a slot. The caller's own slot (idle while it awaits its
 * sub-tasks) always runs them, one after another; further slots are taken only when free at
 * once, and given back as soon as the caller's queue is empty. Every running sub-task therefore
 * holds a slot (no overcommit), and every caller makes progress in its own slot (no deadlock).
 */
import { PipelineError } from '../errors.ts';

/** What a sub-task receives: it may nest further, up to the pipeline's depth limit. */
export interface NestedContext {
  /** 1 for a stage's own sub-tasks, 2 for theirs, … */
  readonly depth: number;
  /** Aborted when the stage times out or is cancelled. */
  readonly signal: AbortSignal;
  executeTasks<T>(tasks: readonly NestedTask<T>[]): Promise<(T | Error)[]>;
  map<I, T>(
    items: readonly I[],
    fn: (item: I, index: number, context: NestedContext) => T | Promise<T>,
  ): Promise<(T | Error)[]>;
}

/** A sub-task: a function of no arguments, or of the nested context when it nests further. */
export type NestedTask<T> = (context: NestedContext) => T | Promise<T>;

/** The slots of one stage attempt beyond the one its own code runs in. */
class SlotPool {
  #free: number;
  readonly #onRelease = new Set<() => void>();

  constructor(extraSlots: number) {
    this.#free = extraSlots;
  }

  tryAcquire(): boolean {
    if (this.#free <= 0) return false;
    this.#free--;
    return true;
  }

  release(): void {
    this.#free++;
    for (const wake of this.#onRelease) {
      if (this.#free <= 0) break;
      wake();
    }
  }

  watch(wake: () => void): () => void {
    this.#onRelease.add(wake);
    return () => this.#onRelease.delete(wake);
  }
}

export interface NestingOptions {
  /** CPUs granted to the stage: sub-tasks in flight at once, at most `max(1, floor(cpus))`. */
  cpus: number;
  maxDepth: number;
  signal: AbortSignal;
}

/** The nested context of a stage's own code (depth 0): its calls run sub-tasks at depth 1. */
export function createNesting(options: NestingOptions): NestedContext {
  const slots = new SlotPool(Math.max(1, Math.floor(options.cpus)) - 1);
  return new Level(slots, 0, options.maxDepth, options.signal);
}

class Level implements NestedContext {
  readonly #slots: SlotPool;
  readonly depth: number;
  readonly #maxDepth: number;
  readonly signal: AbortSignal;

  constructor(slots: SlotPool, depth: number, maxDepth: number, signal: AbortSignal) {
    this.#slots = slots;
    this.depth = depth;
    this.#maxDepth = maxDepth;
    this.signal = signal;
  }

  executeTasks<T>(tasks: readonly NestedTask<T>[]): Promise<(T | Error)[]> {
    if (!Array.isArray(tasks) || tasks.some((task) => typeof task !== 'function')) {
      return Promise.reject(
        new PipelineError('INVALID_TASKS', 'executeTasks expects an array of functions'),
      );
    }
    return this.#run(tasks.length, (index, child) => tasks[index]!(child));
  }

  map<I, T>(
    items: readonly I[],
    fn: (item: I, index: number, context: NestedContext) => T | Promise<T>,
  ): Promise<(T | Error)[]> {
    if (!Array.isArray(items) || typeof fn !== 'function') {
      return Promise.reject(
        new PipelineError('INVALID_TASKS', 'map expects an array of items and a function'),
      );
    }
    return this.#run(items.length, (index, child) => fn(items[index] as I, index, child));
  }

  #run<T>(
    count: number,
    call: (index: number, child: NestedContext) => T | Promise<T>,
  ): Promise<(T | Error)[]> {
    const depth = this.depth + 1;
    if (depth > this.#maxDepth) {
      return Promise.reject(
        new PipelineError(
          'NESTED_DEPTH_EXCEEDED',
          `nested execution at depth ${depth} exceeds max_nested_depth ${this.#maxDepth}`,
        ),
      );
    }
    const child = new Level(this.#slots, depth, this.#maxDepth, this.signal);
    const results = new Array<T | Error>(count);
    let next = 0;
    const runLane = async (extra: boolean): Promise<void> => {
      try {
        while (next < count) {
          const index = next++;
          try {
            this.signal.throwIfAborted();
            results[index] = await call(index, child);
          } catch (error) {
            results[index] = asError(error);
          }
        }
      } finally {
        if (extra) this.#slots.release();
      }
    };
    const lanes: Promise<void>[] = [];
    // A new lane takes its first item synchronously, so `next` counts it at once.
    const grow = () => {
      while (next < count && this.#slots.tryAcquire()) lanes.push(runLane(true));
    };
    lanes.push(runLane(false));
    grow();
    const unwatch = this.#slots.watch(grow);
    // Lanes added by `grow` after this point are awaited through the loop below.
    const settleAll = async (): Promise<void> => {
      for (let settled = 0; settled < lanes.length; settled++) await lanes[settled];
    };
    return settleAll().then(
      () => {
        unwatch();
        return results;
      },
      (error: unknown) => {
        unwatch();
        throw error;
      },
    );
  }
}

function asError(error: unknown): Error {
  if (error instanceof Error) return error;
  return new PipelineError('TASK_FAILED', `a sub-task threw ${String(error)}`);
}
