/**
 * Metrics files (SPEC E5): a stage appends JSON lines (`{"step": 10, "loss": 0.52}`) to the
 * file named by `GP_METRICS_FILE`; the orchestrator ingests them into the run store from a
 * stored byte offset — while the stage runs, on an interval, and once more when it ends —
 * never reading a byte twice. A last line without its newline waits for the next read.
 */
import { statSync } from 'node:fs';
import { TailReader } from '../logs/tail-reader.ts';
import type { RunEvent } from '../scheduler/events.ts';
import type { MetricsPosition, RunStore, StoreWrite } from '../store/run-store.ts';

/** The file's name in the stage directory. */
export const metricsFileName = 'metrics.jsonl';

/** At most this many bytes are read (and held as records) per store write. */
const bytesPerWrite = 4 * 1024 * 1024;

/** @default 1 s */
const defaultIntervalMs = 1000;

type MetricsWrite = Extract<StoreWrite, { kind: 'metrics' }>;

/**
 * One attempt's metrics file, read on from a position. `next()` returns the next write of at
 * most `bytesPerWrite` bytes of lines, or undefined when nothing new is there.
 */
export class MetricsFileReader {
  readonly #reader: TailReader;
  readonly #runId: string;
  readonly #stage: string;
  readonly #attempt: number;
  #lines: number;

  constructor(
    path: string,
    key: { runId: string; stage: string; attempt: number },
    from: MetricsPosition = { offset: 0, lines: 0 },
  ) {
    this.#reader = new TailReader(path, { offset: from.offset });
    this.#runId = key.runId;
    this.#stage = key.stage;
    this.#attempt = key.attempt;
    this.#lines = from.lines;
  }

  /** Whether the file holds bytes not read yet. */
  hasNewBytes(): boolean {
    return this.#reader.hasNewBytes();
  }

  /** Bytes read from the file so far: each byte once. */
  get bytesRead(): number {
    return this.#reader.bytesRead;
  }

  next(now = Date.now()): MetricsWrite | undefined {
    const records: MetricsWrite['records'][number][] = [];
    const read = this.#reader.read((line) => {
      const data = metricsObject(line);
      if (data !== undefined) records.push({ line: this.#lines++, ts: now, data });
    }, bytesPerWrite);
    if (read === 0) return undefined;
    return {
      kind: 'metrics',
      runId: this.#runId,
      stage: this.#stage,
      attempt: this.#attempt,
      records,
      position: { offset: this.#reader.offset, lines: this.#lines },
    };
  }
}

/** The line as compact JSON text when it is a JSON object; anything else is skipped. */
function metricsObject(line: string): string | undefined {
  if (line.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? JSON.stringify(value)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Reads every write a reader has now into the store, one bounded write at a time. */
export async function ingest(reader: MetricsFileReader, store: RunStore): Promise<void> {
  for (let write = reader.next(); write; write = reader.next()) await store.append([write]);
}

export interface MetricsIngestorOptions {
  store: RunStore;
  runId: string;
  runDir: string;
  /** @default 1000 */
  intervalMs?: number;
}

/**
 * Follows a run's events: from a stage's start it ingests the attempt's metrics file on an
 * interval, and once more when the attempt ends. Lines written before the attempt started
 * belong to earlier attempts: its reading starts at the file's size then.
 */
export class MetricsIngestor {
  readonly #options: MetricsIngestorOptions;
  readonly #running = new Map<string, MetricsFileReader>();
  readonly #timer: NodeJS.Timeout;
  /** Ingestions run one at a time, in order. */
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #failure: Error | undefined;

  constructor(options: MetricsIngestorOptions) {
    this.#options = options;
    this.#timer = setInterval(() => this.#tick(), options.intervalMs ?? defaultIntervalMs);
    this.#timer.unref();
  }

  /** The first store error, if any: metrics are lost, the run goes on. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  readonly observe = (event: RunEvent): void => {
    if (event.event === 'stage_started') {
      const path = `${this.#options.runDir}/${event.stage}/${metricsFileName}`;
      // Attempts are numbered on across resumes: a first attempt's file holds nothing older.
      let offset = 0;
      try {
        if (event.attempt > 1) offset = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
      } catch {
        // unreadable now: its reads will say why
      }
      const key = { runId: this.#options.runId, stage: event.stage, attempt: event.attempt };
      this.#running.set(event.stage, new MetricsFileReader(path, key, { offset, lines: 0 }));
    } else if (
      event.event === 'stage_finished' ||
      event.event === 'stage_retrying' ||
      event.event === 'stage_fallback'
    ) {
      const reader = this.#running.get(event.stage);
      if (!reader) return;
      this.#running.delete(event.stage);
      // A cache hit ran nothing. An inline stage writes metrics only through context.metric,
      // which says so: 100,000 of them must not pay a stat each. Others: one stat.
      const ranNothing = event.event === 'stage_finished' && event.result?.cache?.hit !== undefined;
      const mayHave = event.executor !== 'inline' || event.result?.wroteMetrics === true;
      if (this.#pending > 0 || (!ranNothing && mayHave && reader.hasNewBytes()))
        this.#enqueue(reader);
    }
  };

  /** Stops the interval and waits for what is being ingested. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (const reader of this.#running.values()) this.#enqueue(reader);
    this.#running.clear();
    await this.#queue;
  }

  #tick(): void {
    if (this.#pending > 0) return; // a slow store: no pile of reads behind it
    for (const reader of this.#running.values()) if (reader.hasNewBytes()) this.#enqueue(reader);
  }

  #enqueue(reader: MetricsFileReader): void {
    this.#pending++;
    this.#queue = this.#queue.then(() =>
      ingest(reader, this.#options.store)
        .catch((error: unknown) => {
          this.#failure ??= error instanceof Error ? error : new Error(String(error));
        })
        .finally(() => {
          this.#pending--;
        }),
    );
  }
}
