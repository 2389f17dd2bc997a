/**
 * The write side of the SQLite run store: applies requests to the write connection, several
 * per transaction (group commit), each in a savepoint of its own so that a failing batch
 * takes nothing else with it. Runs on the writer thread; knows nothing of threads.
 */
import type Database from 'better-sqlite3';
import { PipelineError, serializeError } from '../../errors.ts';
import type { RunRecord } from '../run-store.ts';
import { AttemptWriter, type KnownRun } from './attempt-writer.ts';
import { openConnection } from './connection.ts';
import { EventPageWriter } from './event-page-writer.ts';
import { type MetricsWrite, MetricsWriter } from './metrics-tables.ts';
import { ResourceWriter } from './resource-writer.ts';
import { sameRun, wireKind, wireLength } from './wire-format.ts';
import type { Settled, WriterRequest } from './writer-protocol.ts';

/** Rows per INSERT statement: measured about 10% faster than one; 256 was no faster. */
const rowsPerStatement = 64;
/** Known runs kept in memory; past this the map starts over (a run is looked up again). */
const maxKnownRuns = 10_000;

export class SqliteWriter {
  readonly #db: Database.Database;
  readonly #runs = new Map<string, KnownRun>();
  readonly #events: EventPageWriter;
  readonly #attempts: AttemptWriter;
  readonly #metrics: MetricsWriter;
  readonly #resources: ResourceWriter;
  readonly #sql;
  readonly #inTransaction: Database.Transaction<
    (requests: readonly WriterRequest[], settled: Settled[]) => void
  >;
  readonly #inSavepoint: Database.Transaction<(request: WriterRequest) => number | undefined>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#metrics = new MetricsWriter(db);
    this.#events = new EventPageWriter(db);
    this.#attempts = new AttemptWriter(db, rowsPerStatement);
    this.#resources = new ResourceWriter(db, (runId) => this.#knownRun(runId).key);
    this.#sql = {
      findRun: db.prepare('SELECT id AS key, pipeline FROM runs WHERE run_id = ?'),
      insertRun: db.prepare(
        `INSERT INTO runs (run_id, pipeline, source, status, started_at, ended_at, host, pid,
          run_dir, stages, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      replaceRun: db.prepare(
        `UPDATE runs SET run_id = ?, pipeline = ?, source = ?, status = ?, started_at = ?,
          ended_at = ?, host = ?, pid = ?, run_dir = ?, stages = ?, options = ? WHERE id = ?`,
      ),
      movePipeline: db.prepare('UPDATE attempts SET pipeline = ? WHERE run_key = ?'),
      runStatus: db.prepare('UPDATE runs SET status = ?, ended_at = ? WHERE id = ?'),
    };
    this.#inTransaction = db.transaction(
      (requests: readonly WriterRequest[], settled: Settled[]) => {
        for (const request of requests) settled.push(this.#settle(request));
      },
    );
    // Called inside #inTransaction, better-sqlite3 makes this a savepoint.
    this.#inSavepoint = db.transaction((request: WriterRequest) => this.#apply(request));
  }

  /** Opens the write connection: every commit is on disk (fsync) before it is acknowledged. */
  static open(file: string): SqliteWriter {
    const db = openConnection(file);
    db.pragma('synchronous = FULL');
    return new SqliteWriter(db);
  }

  /** Applies the requests in one transaction and says how each went, in their order. */
  commit(requests: readonly WriterRequest[]): Settled[] {
    const settled: Settled[] = [];
    try {
      this.#inTransaction.immediate(requests, settled);
      return settled;
    } catch (error) {
      // BEGIN or COMMIT failed (the lock stayed busy, the disk failed): nothing is stored.
      this.#forget();
      const failure = serializeError(error);
      return requests.map((request) => ({ id: request.id, ok: false, error: failure }));
    }
  }

  close(): void {
    this.#db.close();
  }

  #settle(request: WriterRequest): Settled {
    try {
      const removed = this.#inSavepoint(request);
      return removed === undefined
        ? { id: request.id, ok: true }
        : { id: request.id, ok: true, removed };
    } catch (error) {
      this.#forget();
      return { id: request.id, ok: false, error: serializeError(error) };
    }
  }

  #apply(request: WriterRequest): number | undefined {
    switch (request.op) {
      case 'append':
        this.#append(request.values);
        return undefined;
      case 'cache_clear':
        return this.#attempts.clear(request.pipeline);
      case 'cache_gc':
        return this.#attempts.gc(request.before);
      case 'resources':
        this.#resources.write(request.batch);
        return undefined;
      case 'close':
        return undefined;
    }
  }

  /**
   * Events are buffered into pages, attempts (with the cache entries they hold) into multi-row
   * inserts. A run write can change what buffered rows mean (their run's pipeline), and a
   * cache use or a lone cache put must follow the attempts it updates, so those flush first;
   * everything else commutes with the buffered rows.
   */
  #append(values: readonly unknown[]): void {
    let i = 0;
    // The run the write before named: a write names it again as `sameRun` (wire-format.ts).
    let runId: string | undefined;
    const runAt = (at: number): KnownRun => {
      const ref = values[at];
      if (ref !== sameRun) runId = ref as string;
      else if (runId === undefined)
        throw new PipelineError(
          'STORE_INVALID_WRITE',
          'a write names the run before it, but is the first',
        );
      return this.#knownRun(runId);
    };
    while (i < values.length) {
      const kind = values[i];
      switch (kind) {
        case wireKind.event:
          this.#events.add(runAt(i + 1).key, values, i + 2);
          break;
        case wireKind.attempt:
          this.#attempts.add(runAt(i + 1), values, i + 2);
          break;
        case wireKind.attemptWithEntry:
          this.#attempts.addWithEntry(runAt(i + 1), values, i + 2);
          break;
        case wireKind.cachePut: {
          const run = runAt(i + 1);
          this.#attempts.put(run, runId!, values, i + 2);
          break;
        }
        case wireKind.cacheUsed:
          this.#attempts.used(
            runAt(i + 1),
            values[i + 2] as string,
            values[i + 3] as string,
            values[i + 4] as number,
          );
          break;
        case wireKind.run:
          this.#flush();
          this.#putRun(JSON.parse(values[i + 1] as string) as RunRecord);
          break;
        case wireKind.runStatus:
          this.#sql.runStatus.run(values[i + 2], values[i + 3], runAt(i + 1).key);
          break;
        case wireKind.metrics:
          this.#metrics.apply(
            runAt(i + 1).key,
            JSON.parse(values[i + 2] as string) as MetricsWrite,
          );
          break;
        default:
          throw new PipelineError('STORE_INVALID_WRITE', `unknown wire kind ${String(kind)}`);
      }
      i += wireLength[kind as number]!;
    }
    this.#flush();
  }

  #flush(): void {
    this.#events.flush();
    this.#attempts.flush();
  }

  /** Inserts the run, or replaces the row in place: its key is what attempts and events hold. */
  #putRun(run: RunRecord): void {
    const values = [
      run.runId,
      run.pipeline,
      run.source ?? null,
      run.status,
      run.startedAt,
      run.endedAt ?? null,
      run.host,
      run.pid,
      run.runDir,
      JSON.stringify(run.stages),
      run.options === undefined ? null : JSON.stringify(run.options),
    ];
    const known = this.#findRun(run.runId);
    if (!known) {
      const key = Number(this.#sql.insertRun.run(values).lastInsertRowid);
      this.#remember(run.runId, { key, pipeline: run.pipeline });
      return;
    }
    this.#sql.replaceRun.run([...values, known.key]);
    if (known.pipeline !== run.pipeline) this.#sql.movePipeline.run(run.pipeline, known.key);
    this.#remember(run.runId, { key: known.key, pipeline: run.pipeline });
  }

  #knownRun(runId: string): KnownRun {
    const run = this.#findRun(runId);
    if (run) return run;
    throw new PipelineError(
      'STORE_UNKNOWN_RUN',
      `run '${runId}' is not in the run store: append the run before its events, attempts and status`,
    );
  }

  #findRun(runId: string): KnownRun | undefined {
    const cached = this.#runs.get(runId);
    if (cached) return cached;
    const found = this.#sql.findRun.get(runId) as KnownRun | undefined;
    if (found) this.#remember(runId, found);
    return found;
  }

  #remember(runId: string, run: KnownRun): void {
    if (this.#runs.size >= maxKnownRuns) this.#runs.clear();
    this.#runs.set(runId, run);
  }

  /** After a rollback, what is in memory may describe rows that are no longer there. */
  #forget(): void {
    this.#runs.clear();
    this.#events.discard();
    this.#attempts.discard();
    this.#resources.discard();
  }
}
