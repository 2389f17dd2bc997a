/**
 * The write side of the SQLite run store: applies requests to the write connection, several
 * per transaction (group commit), each in a savepoint of its own so that a failing batch
 * takes nothing else with it. Runs on the writer thread; knows nothing of threads.
 */
import type Database from 'better-sqlite3';
import { PipelineError, serializeError } from '../../errors.ts';
import type { AttemptRecord, CacheEntry, RunRecord, StoreWrite } from '../run-store.ts';
import { openConnection } from './connection.ts';
import { MultiRowInsert } from './multi-row-insert.ts';
import { ResourceWriter } from './resource-writer.ts';
import type { Settled, WriterRequest } from './writer-protocol.ts';

/** Rows per INSERT statement: measured about 10% faster than one; 256 was no faster. */
const rowsPerStatement = 64;
/** Known runs kept in memory; past this the map starts over (a run is looked up again). */
const maxKnownRuns = 10_000;

interface KnownRun {
  key: number;
  pipeline: string;
}

export class SqliteWriter {
  readonly #db: Database.Database;
  readonly #runs = new Map<string, KnownRun>();
  readonly #events: MultiRowInsert;
  readonly #attempts: MultiRowInsert;
  readonly #resources: ResourceWriter;
  readonly #sql;
  readonly #inTransaction: Database.Transaction<
    (requests: readonly WriterRequest[], settled: Settled[]) => void
  >;
  readonly #inSavepoint: Database.Transaction<(request: WriterRequest) => number | undefined>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#events = new MultiRowInsert(
      db,
      'INSERT INTO events (run_key, ts, type, stage, attempt, data)',
      6,
      rowsPerStatement,
    );
    this.#attempts = new MultiRowInsert(
      db,
      `INSERT OR REPLACE INTO attempts (run_key, pipeline, stage, attempt, status, started_at,
        ended_at, exit_code, error_code, error_message, host, pid, executor, task_id, fallback,
        output_json, output_hash, input_hash, cache_key, reused_from)`,
      20,
      rowsPerStatement,
    );
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
      cachePut: db.prepare(
        `INSERT OR REPLACE INTO cache_entries (key, pipeline, stage, run_id, attempt, output_json,
          output_hash, parts, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      cacheUsed: db.prepare('UPDATE cache_entries SET last_used_at = ? WHERE key = ?'),
      cacheClearAll: db.prepare('DELETE FROM cache_entries'),
      cacheClearPipeline: db.prepare('DELETE FROM cache_entries WHERE pipeline = ?'),
      cacheGc: db.prepare('DELETE FROM cache_entries WHERE last_used_at < ?'),
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
        this.#append(request.writes);
        return undefined;
      case 'cache_clear':
        return (
          request.pipeline === undefined
            ? this.#sql.cacheClearAll.run()
            : this.#sql.cacheClearPipeline.run(request.pipeline)
        ).changes;
      case 'cache_gc':
        return this.#sql.cacheGc.run(request.before).changes;
      case 'resources':
        this.#resources.write(request.batch);
        return undefined;
      case 'close':
        return undefined;
    }
  }

  /**
   * Events and attempts are buffered into multi-row inserts; only a run write can change what
   * buffered rows mean (their run's pipeline), so it flushes them first. Everything else
   * commutes with the buffered rows.
   */
  #append(writes: readonly StoreWrite[]): void {
    for (const write of writes) {
      switch (write.kind) {
        case 'event': {
          const { runId, ts, type, stage, attempt, data } = write.event;
          this.#events.add([
            this.#knownRun(runId).key,
            ts,
            type,
            stage ?? null,
            attempt ?? null,
            data === undefined ? null : JSON.stringify(data),
          ]);
          break;
        }
        case 'attempt':
          this.#attempts.add(this.#attemptRow(write.attempt));
          break;
        case 'run':
          this.#flush();
          this.#putRun(write.run);
          break;
        case 'run_status':
          this.#sql.runStatus.run(
            write.status,
            write.endedAt ?? null,
            this.#knownRun(write.runId).key,
          );
          break;
        case 'cache_put':
          this.#sql.cachePut.run(cacheRow(write.entry));
          break;
        case 'cache_used':
          this.#sql.cacheUsed.run(write.at, write.key);
          break;
        default:
          throw new PipelineError(
            'STORE_INVALID_WRITE',
            `unknown run store write kind '${String((write as { kind?: unknown }).kind)}'`,
          );
      }
    }
    this.#flush();
  }

  #flush(): void {
    this.#events.flush();
    this.#attempts.flush();
  }

  #attemptRow(a: AttemptRecord): unknown[] {
    const run = this.#knownRun(a.runId);
    const defaultTaskId = `${a.runId}:${a.stage}:${a.attempt}`;
    return [
      run.key,
      run.pipeline,
      a.stage,
      a.attempt,
      a.status,
      a.startedAt,
      a.endedAt ?? null,
      a.exitCode ?? null,
      a.errorCode ?? null,
      a.errorMessage ?? null,
      a.host,
      a.pid,
      a.executor,
      a.taskId === defaultTaskId ? null : a.taskId,
      a.fallback ?? null,
      a.outputJson ?? null,
      a.outputHash ?? null,
      a.inputHash ?? null,
      a.cacheKey ?? null,
      a.reusedFrom ?? null,
    ];
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

function cacheRow(entry: CacheEntry): unknown[] {
  return [
    entry.key,
    entry.pipeline,
    entry.stage,
    entry.runId,
    entry.attempt,
    entry.outputJson,
    entry.outputHash,
    JSON.stringify(entry.parts),
    entry.createdAt,
    entry.lastUsedAt,
  ];
}
