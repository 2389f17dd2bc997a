import type { Graph } from '../graph/graph.ts';
import type { ExecutionMode, FailurePolicy, StageStatus } from '../graph/pipeline.ts';
import { ReadyQueue } from './ready-queue.ts';
import { ResourceLedger } from './resource-ledger.ts';

const PENDING = 0;
const READY = 1;
const RUNNING = 2;
/** Between two attempts: holds no resources, not yet terminal. */
const WAITING = 3;
const SUCCEEDED = 4;
const FAILED = 5;
const SKIPPED = 6;
const UPSTREAM_FAILED = 7;
const CANCELLED = 8;
const CACHED = 9;
const FIRST_TERMINAL = SUCCEEDED;

const statusNames: readonly StageStatus[] = [
  'pending',
  'pending',
  'running',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'upstream_failed',
  'cancelled',
  'cached',
];
const terminalCodes: Readonly<Record<TerminalStatus, number>> = {
  succeeded: SUCCEEDED,
  failed: FAILED,
  skipped: SKIPPED,
  upstream_failed: UPSTREAM_FAILED,
  cancelled: CANCELLED,
  cached: CACHED,
};

export type TerminalStatus = Exclude<StageStatus, 'pending' | 'running'>;

export interface SchedulerOptions {
  mode: ExecutionMode;
  failurePolicy: FailurePolicy;
  maxCpus: number;
  /** CPU slots each stage holds while running, by stage index. */
  cpus: ArrayLike<number>;
  /** Memory budget (MB). @default no bound */
  maxMemoryMb?: number;
  /** Memory (MB) each stage reserves while running, by stage index. @default 0 */
  memoryMb?: ArrayLike<number>;
  /** GPU device ids to lease, lowest free first. @default none */
  gpuIds?: readonly number[];
  /** GPUs each stage leases while running, by stage index. @default 0 */
  gpus?: ArrayLike<number>;
  /**
   * How many stages may start ahead of the best ready stage while it does not fit (backfill)
   * before the scheduler holds back and lets resources drain for it, so that a large request
   * is never starved by a stream of small ones. @default 32
   */
  maxBypass?: number;
  /**
   * Stages already finished before this run starts (a resume, or outputs reused from earlier
   * runs), by stage index. A skipped stage satisfies nothing: none of its downstream may run.
   */
  finished?: ReadonlyMap<number, 'succeeded' | 'cached' | 'skipped'>;
}

const BACKFILL_SCAN = 64;

/**
 * The pure scheduling state machine: which stage may start now, and what a stage's end means
 * for the rest. No I/O and no clock; the engine drives it and owns timers.
 *
 * Eager: a stage becomes ready the moment its last upstream stage succeeds, and starts as soon
 * as its CPUs, memory and GPUs fit the pool, highest critical path first. Cost O(V + E) over a
 * run, plus a heap operation per stage.
 */
export class Scheduler {
  readonly #graph: Graph;
  readonly #options: SchedulerOptions;
  readonly #state: Uint8Array;
  readonly #waitingOn: Int32Array;
  readonly #ready: ReadyQueue;
  readonly #level: Int32Array | undefined;
  readonly #unfinishedAtLevel: Int32Array | undefined;
  readonly #ledger: ResourceLedger;
  readonly #maxBypass: number;
  /** The best ready stage that did not fit, and how many stages started ahead of it since. */
  #blocked = -1;
  #bypassed = 0;
  #wave = 0;
  #running = 0;
  #finished = 0;
  #stopping = false;

  constructor(graph: Graph, options: SchedulerOptions) {
    const n = graph.size;
    this.#graph = graph;
    this.#options = options;
    this.#state = new Uint8Array(n);
    this.#ledger = new ResourceLedger(
      { cpus: options.maxCpus, memoryMb: options.maxMemoryMb, gpuIds: options.gpuIds },
      { cpus: options.cpus, memoryMb: options.memoryMb, gpus: options.gpus },
      n,
    );
    this.#maxBypass = options.maxBypass ?? 32;
    this.#waitingOn = new Int32Array(n);
    const rank = new Float64Array(n);
    if (options.mode === 'parallel') {
      const critical = graph.criticalPath();
      for (let i = 0; i < n; i++) rank[i] = -critical[i]!;
    } else if (options.mode === 'waves') {
      this.#level = graph.levels();
      this.#unfinishedAtLevel = new Int32Array(n + 1);
      const critical = graph.criticalPath();
      // Level first, then critical path: a level never starts before the one above it ends.
      for (let i = 0; i < n; i++) {
        rank[i] = this.#level[i]! * (n + 1) - critical[i]!;
        this.#unfinishedAtLevel[this.#level[i]!]!++;
      }
    }
    // Sequential keeps rank 0 everywhere: declaration order among the ready stages.
    this.#ready = new ReadyQueue(Math.min(n, 1024), rank);
    const finished = options.finished;
    if (finished) for (const [i, status] of finished) this.#terminate(i, terminalCodes[status]);
    for (let i = 0; i < n; i++) {
      if (this.#state[i] !== PENDING) continue;
      let waiting = graph.upstreamStart[i + 1]! - graph.upstreamStart[i]!;
      if (finished && finished.size > 0) waiting = this.#unsatisfied(i);
      this.#waitingOn[i] = waiting;
      if (waiting === 0) this.#makeReady(i);
    }
  }

  /** Upstream stages of `stage` that have not succeeded; throws on a skipped one. */
  #unsatisfied(stage: number): number {
    const graph = this.#graph;
    let waiting = 0;
    for (let e = graph.upstreamStart[stage]!; e < graph.upstreamStart[stage + 1]!; e++) {
      const state = this.#state[graph.upstream[e]!]!;
      if (state === SKIPPED) {
        throw new Error(
          `stage ${graph.names[stage]} cannot run: its upstream ${graph.names[graph.upstream[e]!]} is skipped`,
        );
      }
      if (state !== SUCCEEDED && state !== CACHED) waiting++;
    }
    return waiting;
  }

  /** True once every stage has reached a terminal status. */
  get done(): boolean {
    return this.#finished === this.#graph.size;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  get running(): number {
    return this.#running;
  }

  get cpusInUse(): number {
    return this.#ledger.cpusInUse;
  }

  get memoryInUse(): number {
    return this.#ledger.memoryInUse;
  }

  get gpusInUse(): number {
    return this.#ledger.gpusInUse;
  }

  /** The GPU device ids a running stage holds (none when it requested none). */
  gpuIdsOf(stage: number): readonly number[] {
    return this.#ledger.gpuIdsOf(stage);
  }

  status(stage: number): StageStatus {
    return statusNames[this.#state[stage]!]!;
  }

  /**
   * The next stage to start now, marked running with its resources leased; -1 when none may
   * start until something finishes.
   */
  next(): number {
    if (this.#stopping) return -1;
    const ledger = this.#ledger;
    if (this.#options.mode === 'sequential' && this.#running > 0) return -1;
    const top = this.#ready.peek();
    if (top < 0) return -1;
    if (this.#level && this.#level[top]! > this.#wave) return -1;
    if (ledger.fits(top)) {
      if (top === this.#blocked) this.#blocked = -1; // a retry of it starts a fresh count
      return this.#start(this.#ready.pop());
    }
    if (ledger.full()) return -1;
    if (top !== this.#blocked) {
      this.#blocked = top;
      this.#bypassed = 0;
    }
    // Held back long enough: let resources drain until the best stage fits.
    if (this.#bypassed >= this.#maxBypass) return -1;
    // The best stage does not fit: start the best of the next few that does (backfill). The
    // scan is bounded so that a full pool never costs a pass over the whole ready set.
    const skipped: number[] = [this.#ready.pop()];
    let found = -1;
    while (this.#ready.size > 0 && skipped.length < BACKFILL_SCAN) {
      const candidate = this.#ready.pop();
      if (this.#level && this.#level[candidate]! > this.#wave) {
        skipped.push(candidate);
        break;
      }
      if (ledger.fits(candidate)) {
        found = candidate;
        break;
      }
      skipped.push(candidate);
    }
    for (const stage of skipped) this.#ready.push(stage);
    if (found < 0) return -1;
    this.#bypassed++;
    return this.#start(found);
  }

  /** A running stage ended with a success (or a cache hit): its downstream may become ready. */
  succeed(stage: number, status: 'succeeded' | 'cached' = 'succeeded'): void {
    this.#end(stage, terminalCodes[status]);
    const graph = this.#graph;
    for (let e = graph.downstreamStart[stage]!; e < graph.downstreamStart[stage + 1]!; e++) {
      const d = graph.downstream[e]!;
      if (--this.#waitingOn[d]! === 0 && this.#state[d] === PENDING) {
        if (this.#stopping) this.#terminate(d, CANCELLED);
        else this.#makeReady(d);
      }
    }
  }

  /**
   * A stage failed for good. Its downstream becomes `upstream_failed`; under fail_fast the run
   * stops too. Returns the stages this made terminal, for reporting.
   */
  fail(stage: number): number[] {
    this.#end(stage, FAILED);
    const changed = this.#failDownstream(stage);
    if (this.#options.failurePolicy === 'fail_fast') changed.push(...this.stop());
    return changed;
  }

  /**
   * A running stage ended because the run is stopping (or was interrupted): `cancelled`.
   * Its pending downstream is cancelled with it.
   */
  cancelRunning(stage: number): number[] {
    this.#end(stage, CANCELLED);
    const changed: number[] = [];
    for (const d of this.#graph.descendants([stage])) {
      if (this.#state[d]! < RUNNING) {
        this.#terminate(d, CANCELLED);
        changed.push(d);
      }
    }
    return changed;
  }

  /**
   * Starts nothing more: ready, pending and waiting stages become `cancelled` and are returned.
   * Running stages stay running until the engine reports their end.
   */
  stop(): number[] {
    this.#stopping = true;
    const changed: number[] = [];
    this.#ready.drain();
    for (let i = 0; i < this.#state.length; i++) {
      const s = this.#state[i]!;
      // A stage waiting for a retry already gave its CPUs back.
      if (s === PENDING || s === READY || s === WAITING) {
        this.#terminate(i, CANCELLED);
        changed.push(i);
      }
    }
    return changed;
  }

  /** A failed attempt will be retried: release its resources until `retry()` queues it again. */
  waitForRetry(stage: number): void {
    this.#expect(stage, RUNNING);
    this.#state[stage] = WAITING;
    this.#release(stage);
  }

  /** The retry delay is over: the stage is ready again (ahead of its peers by priority). */
  retry(stage: number): void {
    this.#expect(stage, WAITING);
    this.#makeReady(stage);
  }

  /** True while a stage waits between two attempts. */
  isWaiting(stage: number): boolean {
    return this.#state[stage] === WAITING;
  }

  #failDownstream(stage: number): number[] {
    const changed: number[] = [];
    for (const d of this.#graph.descendants([stage])) {
      if (this.#state[d]! < RUNNING) {
        this.#terminate(d, UPSTREAM_FAILED);
        changed.push(d);
      }
    }
    return changed;
  }

  #makeReady(stage: number): void {
    this.#state[stage] = READY;
    this.#ready.push(stage);
  }

  #start(stage: number): number {
    this.#state[stage] = RUNNING;
    this.#running++;
    this.#ledger.acquire(stage);
    return stage;
  }

  #release(stage: number): void {
    this.#running--;
    this.#ledger.release(stage);
  }

  #end(stage: number, code: number): void {
    this.#expect(stage, RUNNING);
    this.#release(stage);
    this.#terminate(stage, code);
  }

  #terminate(stage: number, code: number): void {
    if (this.#state[stage] === READY) {
      // Only stop() and failures reach a ready stage, and they drain or skip the queue.
      if (!this.#stopping) throw new Error(`stage ${stage} is queued and cannot end`);
    }
    this.#state[stage] = code;
    this.#finished++;
    if (this.#level && this.#unfinishedAtLevel) {
      this.#unfinishedAtLevel[this.#level[stage]!]!--;
      while (
        this.#wave < this.#unfinishedAtLevel.length - 1 &&
        this.#unfinishedAtLevel[this.#wave] === 0
      ) {
        this.#wave++;
      }
    }
  }

  #expect(stage: number, state: number): void {
    if (this.#state[stage] !== state) {
      throw new Error(
        `stage ${this.#graph.names[stage]} is ${statusNames[this.#state[stage]!]}, not ${statusNames[state]}`,
      );
    }
  }

  /** Whether a stage's status is terminal. */
  isFinished(stage: number): boolean {
    return this.#state[stage]! >= FIRST_TERMINAL;
  }
}
