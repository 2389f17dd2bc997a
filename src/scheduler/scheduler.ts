import type { Graph } from '../graph/graph.ts';
import type { StageStatus } from '../graph/pipeline.ts';
import { Admission } from './admission.ts';
import { ConcurrencyGroups } from './concurrency-groups.ts';
import { propagateEnd } from './downstream-ends.ts';
import { FanOut, type FanOutHost } from './fan-out.ts';
import {
  CACHED,
  CANCELLED,
  FAILED,
  FIRST_TERMINAL,
  MAPPING,
  PENDING,
  READY,
  RUNNING,
  SUCCEEDED,
  statusNames,
  terminalCodes,
  WAITING,
} from './node-states.ts';
import { ReadyQueue } from './ready-queue.ts';
import { readyRanks } from './ready-ranks.ts';
import { ResourceLedger } from './resource-ledger.ts';
import type { SchedulerOptions } from './scheduler-options.ts';
import { upstreamWaits } from './upstream-waits.ts';
import { WaveGate } from './wave-gate.ts';

export type { TerminalStatus } from './node-states.ts';
export type { SchedulerOptions } from './scheduler-options.ts';

/**
 * The pure scheduling state machine: which stage may start now, and what a stage's end means
 * for the rest. No I/O and no clock; the engine drives it and owns timers.
 *
 * Eager: a stage becomes ready the moment its last upstream stage succeeds, and starts as soon
 * as its CPUs, memory and GPUs fit the pool and its concurrency group (if any) has room,
 * highest critical path first. Cost O(V + E) over a run, plus a heap operation per stage.
 *
 * Dynamic fan-out (SPEC A8): a mapped stage never runs itself. When its source's output (a
 * list) is known, one instance per item is appended after the graph's stages — node numbers
 * from `graph.size` on — with the mapped stage's requests and rank; an instance over another
 * mapped stage's item is made the moment that item succeeds, so items flow on without waiting
 * for their siblings. The cost stays O(V + E + instances).
 */
export class Scheduler {
  readonly #graph: Graph;
  readonly #options: SchedulerOptions;
  #state: Uint8Array;
  readonly #waitingOn: Int32Array;
  readonly #ready: ReadyQueue;
  readonly #rank: Float64Array;
  readonly #waves: WaveGate | undefined;
  readonly #ledger: ResourceLedger;
  readonly #admission: Admission;
  readonly #groups: ConcurrencyGroups | undefined;
  readonly #fanOut: FanOut | undefined;
  /** One object for the run, so that node state calls from other modules stay monomorphic. */
  readonly #nodes: FanOutHost;
  #running = 0;
  #finished = 0;
  #stopping = false;
  /** Set while a call made a fail_fast failure that must stop the run once the call is done. */
  #stopAfter = false;
  #begun = false;

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
    const { rank, level } = readyRanks(graph, options.mode);
    if (level) this.#waves = new WaveGate(level);
    this.#rank = rank;
    this.#ready = new ReadyQueue(Math.min(n, 1024), rank);
    this.#nodes = this.#nodeHost();
    this.#fanOut = FanOut.create(n, options, this.#nodes);
    if (options.groups) this.#groups = new ConcurrencyGroups(options.groups);
    this.#admission = new Admission(
      this.#ready,
      this.#ledger,
      this.#waves,
      this.#fanOut?.table,
      this.#groups,
      options.maxBypass ?? 32,
    );
    const finished = options.finished;
    if (finished) for (const [i, status] of finished) this.#terminate(i, terminalCodes[status]);
    this.#waitingOn = upstreamWaits(
      graph,
      this.#state,
      finished !== undefined && finished.size > 0,
    );
    for (let i = 0; i < n; i++) {
      if (this.#state[i] !== PENDING) continue;
      if (this.#fanOut?.table.isMapped(i)) continue; // begun in begin(): it may end at once
      if (this.#waitingOn[i] === 0) this.#makeReady(i);
    }
  }

  /**
   * Sets up the mapped stages; returns the stages this made terminal (a mapped stage over an
   * empty list that was finished before the run). Call it once before `next()`, which calls it
   * otherwise and drops what it returns.
   */
  begin(): number[] {
    const changed: number[] = [];
    if (this.#begun) return changed;
    this.#begun = true;
    const fanOut = this.#fanOut;
    if (!fanOut) return changed;
    for (let t = 0; t < this.#graph.size; t++) {
      if (!fanOut.table.isMapped(t) || this.#state[t] !== PENDING) continue;
      fanOut.begin(t, this.#waitingOn[t]!, this.#isDone(fanOut.table.over[t]!), changed);
    }
    this.#afterCall(changed);
    return changed;
  }

  /** The scheduler's node states, as the fan-out rules and the end of a stage see them. */
  #nodeHost(): FanOutHost {
    return {
      state: (node) => this.#state[node]!,
      setState: (node, state) => {
        this.#state[node] = state;
      },
      added: (node, template) => {
        if (node >= this.#state.length) {
          const grown = new Uint8Array(Math.max(node + 1, this.#state.length * 2));
          grown.set(this.#state);
          this.#state = grown;
        }
        this.#ready.setRank(node, this.#rank[template]!);
      },
      makeReady: (node) => this.#makeReady(node),
      terminate: (node, code) => this.#terminate(node, code),
      propagate: (stage, code, changed) =>
        propagateEnd(this.#graph, this.#waitingOn, this.#nodes, this.#fanOut, stage, code, changed),
      requestStop: () => {
        this.#stopAfter = true;
      },
      stopping: () => this.#stopping,
    };
  }

  #isDone(stage: number): boolean {
    const state = this.#state[stage];
    return state === SUCCEEDED || state === CACHED;
  }

  /** True once every stage (and every fan-out instance) has reached a terminal status. */
  get done(): boolean {
    return this.#finished === this.size;
  }

  /** Stages of the graph plus the fan-out instances made so far. */
  get size(): number {
    return this.#graph.size + (this.#fanOut?.table.instances ?? 0);
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

  /** Whether `stage` is a mapped stage (it runs as instances, never itself). */
  isMapped(stage: number): boolean {
    return this.#fanOut?.table.isMapped(stage) ?? false;
  }

  /** The stage of the graph a node is (itself), or is an instance of. */
  templateOf(node: number): number {
    return this.#fanOut ? this.#fanOut.table.templateOf(node) : node;
  }

  /** The node whose output an instance's item comes from; -1 for a stage of the graph. */
  parentOf(node: number): number {
    return this.#fanOut ? this.#fanOut.table.parentOf(node) : -1;
  }

  /** The element of its parent's output an instance takes; -1 when it takes all of it. */
  itemIndexOf(node: number): number {
    return this.#fanOut ? this.#fanOut.table.indexOf(node) : -1;
  }

  /** The node whose output was not a list, when that failed mapped `stage`; else -1. */
  notAListSource(stage: number): number {
    return this.#fanOut?.table.notAList[stage] ?? -1;
  }

  /**
   * The next stage to start now, marked running with its resources leased; -1 when none may
   * start until something finishes.
   */
  next(): number {
    if (!this.#begun) this.begin();
    if (this.#stopping) return -1;
    if (this.#options.mode === 'sequential' && this.#running > 0) return -1;
    const stage = this.#admission.pick();
    return stage < 0 ? -1 : this.#start(stage);
  }

  /**
   * A running stage ended with a success (or a cache hit): its downstream may become ready,
   * stages mapped over it fan out. Returns the stages this made terminal besides it (a mapped
   * stage that completed, or one that failed because its source's output is not a list).
   */
  succeed(stage: number, status: 'succeeded' | 'cached' = 'succeeded'): number[] {
    return this.#ended(stage, terminalCodes[status]);
  }

  /**
   * A stage failed for good. Its downstream becomes `upstream_failed`; under fail_fast the run
   * stops too. A failed instance fails its mapped stage at once under fail_fast; under
   * collect_all its siblings go on and the mapped stage fails once they all ended. Returns the
   * stages this made terminal, for reporting.
   */
  fail(stage: number): number[] {
    if (this.#options.failurePolicy === 'fail_fast') this.#stopAfter = true;
    return this.#ended(stage, FAILED);
  }

  /**
   * A running stage ended because the run is stopping (or was interrupted): `cancelled`.
   * Its pending downstream is cancelled with it.
   */
  cancelRunning(stage: number): number[] {
    return this.#ended(stage, CANCELLED);
  }

  /** A running stage or instance ended with `code`: what follows from it, for reporting. */
  #ended(stage: number, code: number): number[] {
    this.#end(stage, code);
    const changed: number[] = [];
    if (stage < this.#graph.size) this.#nodes.propagate(stage, code, changed);
    else this.#fanOut!.instanceEnded(stage, code, changed);
    this.#afterCall(changed);
    return changed;
  }

  /**
   * Starts nothing more: ready, pending and waiting stages become `cancelled` and are returned,
   * and so do mapped stages whose instances still run. Running stages stay running until the
   * engine reports their end.
   */
  stop(): number[] {
    this.#stopping = true;
    const changed: number[] = [];
    this.#ready.drain();
    this.#groups?.clear();
    const fan = this.#fanOut?.table;
    for (let i = 0; i < this.#state.length && i < this.size; i++) {
      const s = this.#state[i]!;
      // A stage waiting for a retry already gave its CPUs back.
      if (s === PENDING || s === READY || s === WAITING || s === MAPPING) {
        this.#terminate(i, CANCELLED);
        if (fan && i >= fan.templates) fan.live[fan.templateOf(i)]!--;
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

  #afterCall(changed: number[]): void {
    if (!this.#stopAfter) return;
    this.#stopAfter = false;
    if (!this.#stopping) changed.push(...this.stop());
  }

  #makeReady(stage: number): void {
    this.#state[stage] = READY;
    this.#ready.push(stage);
  }

  #start(stage: number): number {
    this.#state[stage] = RUNNING;
    this.#running++;
    const row = this.templateOf(stage);
    this.#ledger.acquire(stage, row);
    this.#groups?.acquire(row);
    return stage;
  }

  #release(stage: number): void {
    this.#running--;
    const row = this.templateOf(stage);
    this.#ledger.release(stage, row);
    if (this.#groups) {
      const back = this.#groups.release(row);
      if (back >= 0) this.#ready.push(back);
    }
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
    if (this.#waves && stage < this.#graph.size) this.#waves.ended(stage);
  }

  #expect(stage: number, state: number): void {
    if (this.#state[stage] !== state) {
      throw new Error(
        `stage ${this.#graph.names[this.templateOf(stage)]} is ${statusNames[this.#state[stage]!]}, not ${statusNames[state]}`,
      );
    }
  }

  /** Whether a stage's status is terminal. */
  isFinished(stage: number): boolean {
    return this.#state[stage]! >= FIRST_TERMINAL;
  }
}
