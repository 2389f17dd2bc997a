/**
 * The SQLite run store, the embedded default. Writes go through a writer thread that owns the
 * write connection (group commit, fsync off the main thread); reads run on a connection of
 * the main thread. WAL lets the two, and other processes, read while one writes.
 */
import type Database from 'better-sqlite3';
import { PipelineError } from '../../errors.ts';
import type { EventType, ResourceBatch, RunFilter, RunStore, StoreWrite } from '../run-store.ts';
import {
  asUserError,
  isRefusal,
  openReadConnection,
  refusedPath,
  storeRefused,
} from './connection.ts';
import { EventPageReader } from './event-page-reader.ts';
import { MetricsReader } from './metrics-tables.ts';
import { migrate } from './migrations.ts';
import { ResourceReader } from './resource-reader.ts';
import { SqliteReader } from './sqlite-reader.ts';
import { WriterClient } from './writer-client.ts';

/**
 * Opens the store in `file`, creating the file and its folders when missing and bringing its
 * schema up to date. Rejects with an InputError naming the file when it is not a SQLite
 * database, is corrupt, or was written by a newer gpipe. A store this user may not write is
 * opened to read (see openReadConnection): its writes then reject, naming what refused them.
 * @example
 * const store = await openSqliteStore('.gpipe/runs.db');
 * await store.append([{ kind: 'run', run }]);
 * await store.close();
 */
export async function openSqliteStore(
  file: string,
  options: {
    /**
     * Start the writer thread at once (a run): its start then overlaps the reads before the
     * first write. Otherwise it starts with the first write, and a store only read starts none.
     */
    writeSoon?: boolean;
  } = {},
): Promise<RunStore> {
  const db = openReadConnection(file);
  let reader: SqliteReader;
  try {
    migrate(db, file);
    // From here on the main thread only reads: every write goes through the writer, in order.
    db.pragma('query_only = ON');
    reader = new SqliteReader(db);
  } catch (error) {
    const readOnly = db.readonly;
    db.close();
    if (readOnly && isRefusal(error)) throw upgradeRefused(file, error as Error);
    throw asUserError(file, error);
  }
  const writer = new WriterClient(file);
  if (options.writeSoon) writer.start();
  return new SqliteRunStore(db, reader, writer);
}

/** A store of an older schema, opened read-only: bringing it up to date would write it. */
function upgradeRefused(file: string, error: Error): PipelineError {
  const refused = refusedPath(file, 'write') ?? 'opened read-only';
  return new PipelineError(
    storeRefused,
    `${file}: written by an older gpipe, and bringing it up to date needs write access: ${refused} (${error.message})`,
  );
}

class SqliteRunStore implements RunStore {
  readonly #db: Database.Database;
  readonly #reader: SqliteReader;
  readonly #writer: WriterClient;
  readonly #resources: ResourceReader;
  readonly #events: EventPageReader;
  #closed: Promise<void> | undefined;
  #metricsReader: MetricsReader | undefined;

  constructor(db: Database.Database, reader: SqliteReader, writer: WriterClient) {
    this.#db = db;
    this.#reader = reader;
    this.#writer = writer;
    this.#resources = new ResourceReader(db);
    this.#events = new EventPageReader(db);
  }

  async metrics(runId: string, stage?: string) {
    this.#metricsReader ??= new MetricsReader(this.#db);
    return this.#metricsReader.metrics(runId, stage);
  }

  async metricsPosition(runId: string, stage: string, attempt: number) {
    this.#metricsReader ??= new MetricsReader(this.#db);
    return this.#metricsReader.position(runId, stage, attempt);
  }

  append(writes: readonly StoreWrite[]): Promise<void> {
    return this.#writer.append(writes);
  }

  async getRun(runId: string) {
    return this.#reader.getRun(runId);
  }

  async listRuns(filter?: RunFilter) {
    return this.#reader.listRuns(filter);
  }

  async events(runId: string, afterSeq?: number) {
    return this.#events.events(runId, afterSeq);
  }

  async attempts(runId: string, stage?: string) {
    return this.#reader.attempts(runId, stage);
  }

  async latestAttempts(runId: string) {
    return this.#reader.latestAttempts(runId);
  }

  async latestAttemptStates(runId: string) {
    return this.#reader.latestAttemptStates(runId);
  }

  async latestOutcomes(runId: string) {
    return this.#reader.latestOutcomes(runId);
  }

  async startedAttempts(runId: string) {
    return this.#events.startedAttempts(runId);
  }

  async lastStageEvents(runId: string) {
    return this.#events.lastStageEvents(runId);
  }

  async eventsOfType(runId: string, type: EventType) {
    return this.#events.eventsOfType(runId, type);
  }

  async latestSuccess(pipeline: string, stage: string) {
    return this.#reader.latestSuccess(pipeline, stage);
  }

  appendResources(batch: ResourceBatch): Promise<void> {
    return this.#writer.appendResources(batch);
  }

  async resourceSamples(runId: string, stage?: string) {
    return this.#resources.samples(runId, stage);
  }

  async resourceSummaries(runId: string, stage?: string) {
    return this.#resources.summaries(runId, stage);
  }

  async cacheGet(pipeline: string, stage: string, key: string) {
    return this.#reader.cacheGet(pipeline, stage, key);
  }

  async cacheLatest(pipeline: string, stage: string) {
    return this.#reader.cacheLatest(pipeline, stage);
  }

  async cacheKeys(pipeline: string) {
    return this.#reader.cacheKeys(pipeline);
  }

  /** A write: it goes through the writer thread, in order with the appends. */
  cacheClear(pipeline?: string): Promise<number> {
    return this.#writer.cacheClear(pipeline);
  }

  cacheGc(before: number): Promise<number> {
    return this.#writer.cacheGc(before);
  }

  close(): Promise<void> {
    this.#closed ??= this.#writer.close().finally(() => this.#db.close());
    return this.#closed;
  }
}
