/**
 * The read side of the SQLite run store: prepared queries on the main thread's connection,
 * and the mapping from rows back to records (a NULL column is an absent field).
 */
import type Database from 'better-sqlite3';
import type {
  AttemptOutcome,
  AttemptRecord,
  AttemptState,
  CacheEntry,
  RunFilter,
  RunRecord,
} from '../run-store.ts';
import { cacheSlot, entryStage } from './cache-slot.ts';

interface RunRow {
  run_id: string;
  pipeline: string;
  source: string | null;
  status: RunRecord['status'];
  started_at: number;
  ended_at: number | null;
  host: string;
  pid: number;
  run_dir: string;
  stages: string;
  options: string | null;
}

/** An attempt's columns from its stage to its error message, in the order queries give them. */
type AttemptHead = [
  stage: string,
  attempt: number,
  status: AttemptRecord['status'],
  startedAt: number,
  endedAt: number | null,
  exitCode: number | null,
  errorCode: string | null,
  errorMessage: string | null,
];

/**
 * An attempt row as values, in the order of `attemptColumns`: attempt queries return arrays
 * (`raw()`), which costs far less than an object with named fields per row for 100,000 rows.
 */
type AttemptValues = [
  runId: string,
  ...head: AttemptHead,
  host: string,
  pid: number,
  executor: string,
  taskId: string | null,
  fallback: string | null,
  outputJson: string | null,
  outputHash: string | null,
  inputHash: string | null,
  cacheKey: string | null,
  reusedFrom: string | null,
];

/** A cache entry: its attempt's row, with the `cache_*` columns set (migration 4). */
interface CacheRow {
  key: string;
  pipeline: string;
  stage: string;
  run_id: string;
  attempt: number;
  output_json: string;
  output_hash: string;
  parts: string;
  created_at: number;
  last_used_at: number;
}

/** What `status` shows of an attempt (latestAttemptStates). */
type StateValues = [...head: AttemptHead, executor: string, reusedFrom: string | null];

type OutcomeValues = [
  stage: string,
  attempt: number,
  status: AttemptRecord['status'],
  outputJson: string | null,
  outputHash: string | null,
];

const runKeyOf = '(SELECT id FROM runs WHERE run_id = ?)';
const newestRunsFirst = 'ORDER BY started_at DESC, run_id DESC LIMIT ?';
const attemptColumns = `r.run_id, a.stage, a.attempt, a.status, a.started_at, a.ended_at,
  a.exit_code, a.error_code, a.error_message, a.host, a.pid, a.executor, a.task_id, a.fallback,
  a.output_json, a.output_hash, a.input_hash, a.cache_key, a.reused_from`;
const entryColumns = `a.cache_key AS key, a.pipeline, a.stage, r.run_id, a.attempt, a.output_json,
  a.output_hash, a.cache_parts AS parts, a.cache_created_at AS created_at,
  a.cache_used_at AS last_used_at`;

export class SqliteReader {
  readonly #sql;

  constructor(db: Database.Database) {
    this.#sql = {
      run: db.prepare('SELECT * FROM runs WHERE run_id = ?'),
      runs: db.prepare(`SELECT * FROM runs ${newestRunsFirst}`),
      runsOf: db.prepare(`SELECT * FROM runs WHERE pipeline = ? ${newestRunsFirst}`),
      attempts: db
        .prepare(
          `SELECT ${attemptColumns} FROM attempts a JOIN runs r ON r.id = a.run_key
          WHERE a.run_key = ${runKeyOf} ORDER BY a.stage, a.attempt`,
        )
        .raw(),
      stageAttempts: db
        .prepare(
          `SELECT ${attemptColumns} FROM attempts a JOIN runs r ON r.id = a.run_key
          WHERE a.run_key = ${runKeyOf} AND a.stage = ? ORDER BY a.attempt`,
        )
        .raw(),
      // max() makes the other columns those of the row holding the maximum (SQLite's bare
      // columns); GROUP BY walks attempts_by_run in stage order.
      latestAttempts: db
        .prepare(
          `SELECT ${attemptColumns}, max(a.attempt) FROM attempts a JOIN runs r ON r.id = a.run_key
          WHERE a.run_key = ${runKeyOf} GROUP BY a.stage ORDER BY a.stage`,
        )
        .raw(),
      latestStates: db
        .prepare(
          `SELECT a.stage, max(a.attempt), a.status, a.started_at, a.ended_at, a.exit_code,
            a.error_code, a.error_message, a.executor, a.reused_from FROM attempts a
          WHERE a.run_key = ${runKeyOf} GROUP BY a.stage ORDER BY a.stage`,
        )
        .raw(),
      latestOutcomes: db
        .prepare(
          `SELECT a.stage, max(a.attempt), a.status, a.output_json, a.output_hash FROM attempts a
          WHERE a.run_key = ${runKeyOf} GROUP BY a.stage ORDER BY a.stage`,
        )
        .raw(),
      // The status test repeats the partial index's own, so the index serves the query.
      latestSuccess: db
        .prepare(
          `SELECT ${attemptColumns} FROM attempts a JOIN runs r ON r.id = a.run_key
          WHERE a.pipeline = ? AND a.stage = ? AND a.status IN ('succeeded', 'cached')
          ORDER BY a.started_at DESC, a.id DESC LIMIT 1`,
        )
        .raw(),
      cacheGet: db.prepare(
        `SELECT ${entryColumns} FROM attempts a JOIN runs r ON r.id = a.run_key
          WHERE a.pipeline = ? AND a.cache_stage = ? AND a.cache_slot = ? AND a.cache_key = ?
            AND a.cache_slot IS NOT NULL`,
      ),
      // Entries are successes: a stage's are found through the partial index of successes
      // (the status test repeats its own), not by reading every entry.
      cacheLatest: db.prepare(
        `SELECT ${entryColumns} FROM attempts a INDEXED BY attempts_succeeded
          JOIN runs r ON r.id = a.run_key
          WHERE a.pipeline = ? AND a.stage = ? AND a.status IN ('succeeded', 'cached')
            AND a.cache_slot IS NOT NULL
          ORDER BY a.cache_created_at DESC, a.id DESC LIMIT 1`,
      ),
      // The entries' own index (migration 6): its size is the entries', not the history's.
      cacheKeys: db
        .prepare(
          `SELECT a.cache_key FROM attempts a INDEXED BY attempts_entries
            WHERE a.pipeline = ? AND a.cache_slot IS NOT NULL`,
        )
        .pluck(),
    };
  }

  getRun(runId: string): RunRecord | undefined {
    const row = this.#sql.run.get(runId) as RunRow | undefined;
    return row && runOf(row);
  }

  listRuns(filter: RunFilter = {}): RunRecord[] {
    const limit = filter.limit ?? 50;
    const rows = (
      filter.pipeline === undefined
        ? this.#sql.runs.all(limit)
        : this.#sql.runsOf.all(filter.pipeline, limit)
    ) as RunRow[];
    return rows.map(runOf);
  }

  attempts(runId: string, stage?: string): AttemptRecord[] {
    const rows = (
      stage === undefined
        ? this.#sql.attempts.all(runId)
        : this.#sql.stageAttempts.all(runId, stage)
    ) as AttemptValues[];
    return rows.map(attemptOf);
  }

  latestAttempts(runId: string): AttemptRecord[] {
    return (this.#sql.latestAttempts.all(runId) as AttemptValues[]).map(attemptOf);
  }

  latestAttemptStates(runId: string): AttemptState[] {
    const rows = this.#sql.latestStates.all(runId) as StateValues[];
    const states: AttemptState[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [stage, attempt, status, startedAt, endedAt, exitCode, errorCode, errorMessage] =
        rows[i]!;
      const [, , , , , , , , executor, reusedFrom] = rows[i]!;
      const state: AttemptState = { stage, attempt, status, startedAt, executor };
      if (endedAt !== null) state.endedAt = endedAt;
      if (exitCode !== null) state.exitCode = exitCode;
      if (errorCode !== null) state.errorCode = errorCode;
      if (errorMessage !== null) state.errorMessage = errorMessage;
      if (reusedFrom !== null) state.reusedFrom = reusedFrom;
      states[i] = state;
    }
    return states;
  }

  latestOutcomes(runId: string): AttemptOutcome[] {
    const rows = this.#sql.latestOutcomes.all(runId) as OutcomeValues[];
    const outcomes: AttemptOutcome[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [stage, attempt, status, outputJson, outputHash] = rows[i]!;
      const outcome: AttemptOutcome = { stage, attempt, status };
      if (outputJson !== null) outcome.outputJson = outputJson;
      if (outputHash !== null) outcome.outputHash = outputHash;
      outcomes[i] = outcome;
    }
    return outcomes;
  }

  latestSuccess(pipeline: string, stage: string): AttemptRecord | undefined {
    const row = this.#sql.latestSuccess.get(pipeline, stage) as AttemptValues | undefined;
    return row && attemptOf(row);
  }

  cacheGet(pipeline: string, stage: string, key: string): CacheEntry | undefined {
    const row = this.#sql.cacheGet.get(pipeline, entryStage(stage), cacheSlot(key), key) as
      | CacheRow
      | undefined;
    return row && cacheEntryOf(row);
  }

  cacheLatest(pipeline: string, stage: string): CacheEntry | undefined {
    const row = this.#sql.cacheLatest.get(pipeline, stage) as CacheRow | undefined;
    return row && cacheEntryOf(row);
  }

  cacheKeys(pipeline: string): Set<string> {
    return new Set(this.#sql.cacheKeys.all(pipeline) as string[]);
  }
}

function runOf(row: RunRow): RunRecord {
  const run: RunRecord = {
    runId: row.run_id,
    pipeline: row.pipeline,
    status: row.status,
    startedAt: row.started_at,
    host: row.host,
    pid: row.pid,
    runDir: row.run_dir,
    stages: JSON.parse(row.stages),
  };
  if (row.source !== null) run.source = row.source;
  if (row.ended_at !== null) run.endedAt = row.ended_at;
  if (row.options !== null) run.options = JSON.parse(row.options);
  return run;
}

function attemptOf(row: AttemptValues): AttemptRecord {
  const [runId, stage, attempt, status, startedAt, endedAt, exitCode, errorCode, errorMessage] =
    row;
  const record: AttemptRecord = {
    runId,
    stage,
    attempt,
    status,
    startedAt,
    host: row[9],
    pid: row[10],
    executor: row[11],
    taskId: row[12] ?? `${runId}:${stage}:${attempt}`,
  };
  if (endedAt !== null) record.endedAt = endedAt;
  if (exitCode !== null) record.exitCode = exitCode;
  if (errorCode !== null) record.errorCode = errorCode;
  if (errorMessage !== null) record.errorMessage = errorMessage;
  if (row[13] !== null) record.fallback = row[13];
  if (row[14] !== null) record.outputJson = row[14];
  if (row[15] !== null) record.outputHash = row[15];
  if (row[16] !== null) record.inputHash = row[16];
  if (row[17] !== null) record.cacheKey = row[17];
  if (row[18] !== null) record.reusedFrom = row[18];
  return record;
}

function cacheEntryOf(row: CacheRow): CacheEntry {
  return {
    key: row.key,
    pipeline: row.pipeline,
    stage: row.stage,
    runId: row.run_id,
    attempt: row.attempt,
    outputJson: row.output_json,
    outputHash: row.output_hash,
    parts: JSON.parse(row.parts),
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}
