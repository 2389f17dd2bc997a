/**
 * Nested execution (SPEC B5): `context.executeTasks(tasks)` and `context.map(items, fn)`.
 *
 * Sub-tasks run within the parent stage's own CPU grant: a stage granted `cpus` runs at most
 * `max(1, floor(cpus))` sub-tasks at once, whatever the nesting. The rule that keeps this free
 * of deadlock: a caller never waits for a slot. The caller's own slot (idle while it awaits its
 * sub-tasks) always runs them, one after another; further slots are taken only when free at
 * once, and given back as soon as the caller's queue is empty. Every running sub-task therefore
 * holds a slot (no overcommit), and every caller makes progress in its own slot (no deadlock).
 * Which slot a call comes from is followed with AsyncLocalStorage, so that a sub-task calling the
 * stage's own `context` (captured in a closure) is still nested, and counted, in its lane.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
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

/**
 * A slot and what runs in it: the stage's own code (depth 0), or one lane of sub-tasks. Calls
 * made while it runs — through whichever context object — are nested one level below it and run
 * first in its slot, one call at a time (a second concurrent call waits for it or a free slot).
 */
interface Lane {
  readonly slots: SlotPool;
  readonly depth: number;
  busy: boolean;
  readonly waiters: Set<() => void>;
}

/** The lane the running code belongs to, followed across awaits. */
const currentLane = new AsyncLocalStorage<Lane>();

function newLane(slots: SlotPool, depth: number): Lane {
  return { slots, depth, busy: false, waiters: new Set() };
}

/** The nested context of a stage's own code (depth 0): its calls run sub-tasks at depth 1. */
export function createNesting(options: NestingOptions): NestedContext {
  const slots = new SlotPool(Math.max(1, Math.floor(options.cpus)) - 1);
  return new Level(newLane(slots, 0), options.maxDepth, options.signal);
}

class Level implements NestedContext {
  /** The lane this context was given to; calls follow the running lane when there is one. */
  readonly #lane: Lane;
  readonly #maxDepth: number;
  readonly signal: AbortSignal;

  constructor(lane: Lane, maxDepth: number, signal: AbortSignal) {
    this.#lane = lane;
    this.#maxDepth = maxDepth;
    this.signal = signal;
  }

  get depth(): number {
    return this.#lane.depth;
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

  async #run<T>(
    count: number,
    call: (index: number, child: NestedContext) => T | Promise<T>,
  ): Promise<(T | Error)[]> {
    // A sub-task that calls the stage's own context is still nested in its lane.
    const running = currentLane.getStore();
    const parent = running?.slots === this.#lane.slots ? running : this.#lane;
    const depth = parent.depth + 1;
    if (depth > this.#maxDepth) {
      throw new PipelineError(
        'NESTED_DEPTH_EXCEEDED',
        `nested execution at depth ${depth} exceeds max_nested_depth ${this.#maxDepth}`,
      );
    }
    const slots = parent.slots;
    const results = new Array<T | Error>(count);
    if (count === 0) return results;
    const firstIsExtra = await firstSlot(parent);
    let next = 0;
    const runLane = async (extra: boolean): Promise<void> => {
      const lane = newLane(slots, depth);
      const child = new Level(lane, this.#maxDepth, this.signal);
      try {
        while (next < count) {
          const index = next++;
          try {
            this.signal.throwIfAborted();
            results[index] = await currentLane.run(lane, () => call(index, child));
          } catch (error) {
            results[index] = asError(error);
          }
        }
      } finally {
        if (extra) slots.release();
        else releaseOwn(parent);
      }
    };
    const lanes: Promise<void>[] = [];
    // A new lane takes its first item synchronously, so `next` counts it at once.
    const grow = () => {
      while (next < count && slots.tryAcquire()) lanes.push(runLane(true));
    };
    lanes.push(runLane(firstIsExtra));
    grow();
    const unwatch = slots.watch(grow);
    try {
      // Lanes added by `grow` meanwhile are awaited too: the loop reads the length each time.
      for (let settled = 0; settled < lanes.length; settled++) await lanes[settled];
    } finally {
      unwatch();
    }
    return results;
  }
}

/**
 * The slot of a call's first lane: its caller's own (idle while it awaits the call), else a free
 * one. Only while the caller's slot is taken by another of its calls does this wait; that call
 * does not wait on this one, so it ends and gives the slot back.
 */
async function firstSlot(lane: Lane): Promise<boolean> {
  for (;;) {
    if (!lane.busy) {
      lane.busy = true;
      return false;
    }
    if (lane.slots.tryAcquire()) return true;
    await new Promise<void>((resolve) => {
      const wake = () => {
        lane.waiters.delete(wake);
        unwatch();
        resolve();
      };
      const unwatch = lane.slots.watch(wake);
      lane.waiters.add(wake);
    });
  }
}

function releaseOwn(lane: Lane): void {
  lane.busy = false;
  for (const wake of [...lane.waiters]) wake();
}

function asError(error: unknown): Error {
  if (error instanceof Error) return error;
  return new PipelineError('TASK_FAILED', `a sub-task threw ${String(error)}`);
}
