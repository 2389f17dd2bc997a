import type { StageResult } from '../executors/executor.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { RunEvent } from '../scheduler/events.ts';
import type {
  AttemptRecord,
  EventRecord,
  RunRecord,
  RunStore,
  StoreWrite,
} from '../store/run-store.ts';
import { sha256Text } from './hash.ts';
import { pushOutputRow } from './output-file.ts';
import type { RunFiles } from './run-files.ts';

/**
 * A batch is sent at once past this many writes, without waiting for the next turn. Smaller
 * batches die younger: at 4,096 the writes of a 100,000-stage run outlived enough scavenges to
 * double the main thread's garbage collection (2.1–2.5 s against 5.2–7 s in all).
 */
const MAX_BATCH = 1024;
/**
 * A batch this big means a burst of short stages: the output files wait until the burst has
 * been over for HOLD_MS (RunFiles.holdFor), so that the disk and the cores go to the run.
 */
const BURST = 256;
const HOLD_MS = 50;

export interface RecorderOptions {
  store: RunStore;
  files: RunFiles;
  pipeline: ValidPipeline;
  run: RunRecord;
  host: string;
  /** Receives each event once what it reports is committed (DESIGN invariant 3). */
  announce?: (event: RunEvent) => void;
  /** The store refused a batch: the run must stop. */
  onStoreError: (error: Error) => void;
  /** Output hashes of stages finished before the run started, by name. */
  outputHashes: Map<string, string>;
  /**
   * Stages finished before the run that this run must record: the attempt whose output it
   * reuses (from another run), or null for a stage left out of the run.
   */
  reused: ReadonlyMap<string, AttemptRecord | null>;
}

/**
 * Turns a run's events into run-store writes, commits them in groups (one per turn of the
 * event loop, or every MAX_BATCH writes) and announces each event only once its group is
 * committed. After a commit, the outputs it holds are written to `{stage}/output.json`.
 */
export class RunRecorder {
  readonly #options: RecorderOptions;
  readonly #runId: string;
  /** Output hashes by stage name: what the stage cache keys downstream stages with. */
  readonly outputHashes: Map<string, string>;
  /** Start times of the stages running now, by graph index (fan-out items and others by name). */
  readonly #startedAt: Float64Array;
  readonly #otherStartedAt = new Map<string, number>();
  #writes: StoreWrite[] = [];
  #events: RunEvent[] = [];
  /** Output rows (output-file.ts) of the batch, written once it is committed. */
  #outputs: unknown[] = [];
  #scheduled = false;
  #committed: Promise<void> = Promise.resolve();
  #failed: Error | undefined;

  constructor(options: RecorderOptions) {
    this.#options = options;
    this.#runId = options.run.runId;
    this.outputHashes = options.outputHashes;
    this.#startedAt = new Float64Array(options.pipeline.graph.size).fill(Number.NaN);
  }

  /** The first error the store reported, if any. */
  get failure(): Error | undefined {
    return this.#failed;
  }

  /** The engine's `onEvent`. */
  readonly record = (event: RunEvent): void => {
    this.#toWrites(event);
    this.#events.push(event);
    if (this.#writes.length >= MAX_BATCH) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  };

  /** Resolves once everything recorded so far is committed and announced. */
  async drain(): Promise<void> {
    this.#flush();
    await this.#committed;
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#events.length === 0 && this.#writes.length === 0) return;
    const writes = this.#writes;
    const events = this.#events;
    const outputs = this.#outputs;
    this.#writes = [];
    this.#events = [];
    this.#outputs = [];
    const { store, announce, files } = this.#options;
    if (writes.length >= BURST) files.holdFor(HOLD_MS);
    // Batches commit in order, so chaining on the previous one keeps announcements in order.
    const append = writes.length > 0 ? store.append(writes) : Promise.resolve();
    this.#committed = Promise.all([this.#committed, append]).then(
      () => {
        if (this.#failed) return;
        if (announce) for (const event of events) announce(event);
        files.writeOutputs(this.#options.run.runDir, outputs);
      },
      (error: Error) => {
        if (this.#failed) return;
        this.#failed = error;
        this.#options.onStoreError(error);
      },
    );
  }

  #toWrites(event: RunEvent): void {
    const writes = this.#writes;
    switch (event.event) {
      case 'run_started':
        writes.push({ kind: 'run', run: this.#options.run });
        break;
      case 'stage_started':
        this.#setStartedAt(event.stage, event.ts);
        break;
      case 'stage_retrying':
      case 'stage_fallback':
        this.#attempt(event.stage, event.attempt, 'failed', event.ts, event.result, event);
        break;
      case 'stage_finished':
        if (this.#otherStartedAt.size > 0) this.#otherStartedAt.delete(event.stage);
        if (event.reused) {
          this.#reused(event.stage, event);
          return;
        }
        if (event.result) {
          this.#attempt(event.stage, event.attempt, event.status, event.ts, event.result, event);
        }
        break;
      case 'run_finished':
        // The run's own status is committed by the caller once its files are written too.
        break;
    }
    writes.push({ kind: 'event', event: eventRow(this.#runId, event) });
  }

  #setStartedAt(stage: string, ts: number): void {
    const i = this.#options.pipeline.graph.indexOf.get(stage);
    if (i === undefined) this.#otherStartedAt.set(stage, ts);
    else this.#startedAt[i] = ts;
  }

  #startedAtOf(stage: string): number | undefined {
    const i = this.#options.pipeline.graph.indexOf.get(stage);
    if (i === undefined) return this.#otherStartedAt.get(stage);
    const at = this.#startedAt[i]!;
    return Number.isNaN(at) ? undefined : at;
  }

  /** A stage finished before the run: recorded when it comes from elsewhere or was left out. */
  #reused(stage: string, event: RunEvent): void {
    const reused = this.#options.reused;
    if (!reused.has(stage)) return; // recorded by the run it was finished in: this very one
    const attempt = reused.get(stage);
    if (attempt) {
      this.#writes.push({ kind: 'attempt', attempt });
      this.#outputFile(attempt);
    }
    this.#writes.push({ kind: 'event', event: eventRow(this.#runId, event) });
  }

  #attempt(
    stage: string,
    attempt: number,
    status: AttemptRecord['status'],
    ts: number,
    result: StageResult | undefined,
    event: { executor?: string; fallback?: string; exitCode?: number; error?: RunEventError },
  ): void {
    const hit = result?.cache?.hit;
    const record: AttemptRecord = {
      runId: this.#runId,
      stage,
      attempt,
      status,
      startedAt: result?.startedAt ?? this.#startedAtOf(stage) ?? ts,
      endedAt: result?.endedAt ?? ts,
      host: this.#options.host,
      pid: result?.pid ?? process.pid,
      executor: hit ? 'cache' : (event.executor ?? 'inline'),
      taskId: `${this.#runId}:${stage}:${attempt}`,
    };
    if (event.exitCode !== undefined) record.exitCode = event.exitCode;
    if (event.error) {
      record.errorCode = event.error.code;
      record.errorMessage = event.error.message;
    }
    if (event.fallback !== undefined) record.fallback = event.fallback;
    if (status === 'succeeded' || status === 'cached') {
      this.#succeeded(record, result);
      if (hit) record.reusedFrom = hit.runId;
    }
    this.#writes.push({ kind: 'attempt', attempt: record });
  }

  #succeeded(record: AttemptRecord, result: StageResult | undefined): void {
    // Made by the stage cache for an attempt that ran; a cache hit's or a fan-out's made here.
    const outputJson = result?.outputJson ?? JSON.stringify(result?.output ?? null);
    const outputHash = sha256Text(outputJson);
    record.outputJson = outputJson;
    record.outputHash = outputHash;
    record.inputHash = this.#inputHash(record.stage);
    this.outputHashes.set(record.stage, outputHash);
    const cache = result?.cache;
    if (cache) {
      record.cacheKey = cache.key;
      if (cache.hit) {
        this.#writes.push({
          kind: 'cache_used',
          runId: this.#runId,
          stage: record.stage,
          key: cache.key,
          at: record.endedAt!,
        });
      } else {
        this.#writes.push({
          kind: 'cache_put',
          entry: {
            key: cache.key,
            pipeline: this.#options.run.pipeline,
            stage: record.stage,
            runId: this.#runId,
            attempt: record.attempt,
            outputJson,
            outputHash,
            partsJson: cache.partsJson,
            createdAt: record.endedAt!,
            lastUsedAt: record.endedAt!,
          },
        });
      }
    }
    this.#outputFile(record);
  }

  /** A hash over the output hashes of the stage's upstream stages, by name. */
  #inputHash(stage: string): string {
    const graph = this.#options.pipeline.graph;
    const i = graph.indexOf.get(stage);
    if (i === undefined) return sha256Text('');
    let text = '';
    for (let e = graph.upstreamStart[i]!; e < graph.upstreamStart[i + 1]!; e++) {
      const name = graph.names[graph.upstream[e]!]!;
      text += `${name}=${this.outputHashes.get(name) ?? ''}\n`;
    }
    return sha256Text(text);
  }

  #outputFile(attempt: AttemptRecord): void {
    const i = this.#options.pipeline.graph.indexOf.get(attempt.stage);
    const version = i === undefined ? undefined : this.#options.pipeline.stages[i]!.version;
    pushOutputRow(this.#outputs, attempt, version);
  }
}

type RunEventError = { code: string; message: string };

/** The event as a store row: what it says beyond its type, stage and attempt goes in `data`. */
function eventRow(runId: string, event: RunEvent): Omit<EventRecord, 'seq'> {
  // The two events of every stage, in their usual shape, without walking their fields.
  if (event.event === 'stage_started' && event.fallback === undefined) {
    return { runId, ts: event.ts, type: event.event, stage: event.stage, attempt: event.attempt };
  }
  if (event.event === 'stage_finished' && isPlainFinish(event)) {
    const { ts, stage, attempt } = event;
    return { runId, ts, type: event.event, stage, attempt, data: finishData(event) };
  }
  const row: Omit<EventRecord, 'seq'> = { runId, ts: event.ts, type: event.event };
  let data: Record<string, unknown> | undefined;
  const fields = event as unknown as Record<string, unknown>;
  for (const key in fields) {
    // Every stage's status: the attempts and stage events already say it, stage by stage (and
    // run_finished makes it only when read).
    if (key === 'stages' && event.event === 'run_finished') continue;
    const value = fields[key];
    if (value === undefined) continue;
    switch (key) {
      case 'event':
      case 'ts':
      case 'result':
      case 'runId':
        continue;
      case 'stage':
        row.stage = value as string;
        continue;
      case 'attempt':
        row.attempt = value as number;
        continue;
    }
    data ??= {};
    data[key] = value;
  }
  if (data) row.data = data;
  return row;
}

/**
 * The data of a plain finish, one shared object per status and executor: 100,000 stages make
 * a handful of them, and the wire format turns each into JSON once (wire-format.ts).
 */
const finishDatas = new Map<string, Readonly<Record<string, unknown>>>();

function finishData(
  event: Extract<RunEvent, { event: 'stage_finished' }>,
): Record<string, unknown> {
  const id = `${event.status} ${event.executor ?? ''}`;
  let data = finishDatas.get(id);
  if (!data) {
    data = Object.freeze(
      event.executor === undefined
        ? { status: event.status }
        : { status: event.status, executor: event.executor },
    );
    finishDatas.set(id, data);
  }
  return data as Record<string, unknown>;
}

/** A finish that says no more than its status and executor (and its result, not stored). */
function isPlainFinish(event: Extract<RunEvent, { event: 'stage_finished' }>): boolean {
  return (
    event.exitCode === undefined &&
    event.error === undefined &&
    event.fallback === undefined &&
    event.reused === undefined
  );
}
