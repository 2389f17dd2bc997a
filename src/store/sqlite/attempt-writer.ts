/**
 * Writes attempts and the cache entries they hold (migration 4): an entry is a set of
 * `cache_*` columns on the successful attempt that made it, found by its pipeline, its stage
 * (an instance's mapped stage) and its slot (cache-slot.ts, migration 6), then its full key.
 * Keys are unique among the entries of a pipeline's stage: an entry put under a key another
 * attempt there holds takes the key over, and the other attempt stops being an entry.
 */
import type Database from 'better-sqlite3';
import { PipelineError } from '../../errors.ts';
import { cacheSlot, entryStage } from './cache-slot.ts';
import { MultiRowInsert } from './multi-row-insert.ts';

/** The run a write names, as the writer knows it. */
export interface KnownRun {
  key: number;
  pipeline: string;
}

/** Attempt columns a wire write carries, `stage` to `reused_from` (wire-format.ts). */
const attemptValues = 18;
/** Where the stage and the cache key are among them. */
const stageAt = 0;
const keyAt = 16;
const noEntry: readonly unknown[] = [null, null, null, null];
const dropEntry =
  'SET cache_parts = NULL, cache_created_at = NULL, cache_used_at = NULL, cache_slot = NULL';

export class AttemptWriter {
  readonly #db: Database.Database;
  readonly #rows: MultiRowInsert;
  /**
   * The slots of the entries among the buffered rows, and where each is found: its pipeline,
   * stage, slot and key, one after the other.
   */
  #slots: number[] = [];
  #places: unknown[] = [];
  /** By number of keys: statements that read, or take, keys off the attempts holding them. */
  readonly #helds = new Map<number, Database.Statement>();
  readonly #releases = new Map<number, Database.Statement>();
  readonly #sql;

  constructor(db: Database.Database, rowsPerStatement: number) {
    this.#db = db;
    this.#rows = new MultiRowInsert(
      db,
      `INSERT OR REPLACE INTO attempts (run_key, pipeline, stage, attempt, status, started_at,
        ended_at, exit_code, error_code, error_message, host, pid, executor, task_id, fallback,
        output_json, output_hash, input_hash, cache_key, reused_from, cache_parts,
        cache_created_at, cache_used_at, cache_slot)`,
      24,
      rowsPerStatement,
      () => this.#releaseBuffered(),
    );
    this.#sql = {
      putEntry: db.prepare(
        `UPDATE attempts SET cache_parts = ?, cache_created_at = ?, cache_used_at = ?,
          cache_slot = ? WHERE run_key = ? AND stage = ? AND attempt = ? AND cache_key = ?
          AND output_hash = ? AND output_json IS NOT NULL AND status IN ('succeeded', 'cached')`,
      ),
      used: db.prepare(
        `UPDATE attempts SET cache_used_at = ? WHERE pipeline = ? AND cache_stage = ?
          AND cache_slot = ? AND cache_key = ?`,
      ),
      clearAll: db.prepare(`UPDATE attempts ${dropEntry} WHERE cache_slot IS NOT NULL`),
      clearPipeline: db.prepare(
        `UPDATE attempts ${dropEntry} WHERE cache_slot IS NOT NULL AND pipeline = ?`,
      ),
      gc: db.prepare(
        `UPDATE attempts ${dropEntry} WHERE cache_slot IS NOT NULL AND cache_used_at < ?`,
      ),
    };
  }

  /** An attempt (wire kind `attempt`); replacing one that held an entry drops the entry. */
  add(run: KnownRun, values: readonly unknown[], start: number): void {
    this.#rows.addFrom([run.key, run.pipeline], values, start, attemptValues, noEntry);
  }

  /** An attempt with its entry (wire kind `attemptWithEntry`), in the same row insert. */
  addWithEntry(run: KnownRun, values: readonly unknown[], start: number): void {
    const entryAt = start + attemptValues;
    checkPipeline(run, values[entryAt + 3] as string, values[start + keyAt] as string);
    const key = values[start + keyAt] as string;
    const slot = cacheSlot(key);
    // Rows of one key in one statement would both keep it: the earlier one goes in first.
    if (this.#slots.includes(slot)) this.#rows.flush();
    this.#slots.push(slot);
    this.#places.push(run.pipeline, entryStage(values[start + stageAt] as string), slot, key);
    this.#rows.addFrom([run.key, run.pipeline], values, start, attemptValues + 3, [slot]);
  }

  /**
   * An entry of an attempt of run `runId` stored before it (wire kind `cachePut`): stage,
   * attempt, key, pipeline, outputHash, parts, createdAt, lastUsedAt from `start`.
   */
  put(run: KnownRun, runId: string, values: readonly unknown[], start: number): void {
    const [stage, attempt, key, pipeline, outputHash, parts, createdAt, usedAt] = values.slice(
      start,
      start + 8,
    );
    checkPipeline(run, pipeline as string, key as string);
    this.#rows.flush();
    const slot = cacheSlot(key as string);
    this.#release([run.pipeline, entryStage(stage as string), slot, key]);
    const { changes } = this.#sql.putEntry.run(
      parts,
      createdAt,
      usedAt,
      slot,
      run.key,
      stage,
      attempt,
      key,
      outputHash,
    );
    if (changes === 0) {
      throw new PipelineError(
        'STORE_INVALID_WRITE',
        `cache entry '${String(key)}' names attempt ${String(attempt)} of stage '${String(stage)}' of run '${runId}', which is not stored as a success under that key with that output hash: put an entry after its attempt, or right before it in the same batch`,
      );
    }
  }

  /** Sets an entry's last use; nothing happens when no attempt there holds the key. */
  used(run: KnownRun, stage: string, key: string, at: number): void {
    this.#rows.flush();
    this.#sql.used.run(at, run.pipeline, entryStage(stage), cacheSlot(key), key);
  }

  /** Drops every entry, or those of one pipeline; the attempts stay. Returns how many went. */
  clear(pipeline: string | undefined): number {
    this.#rows.flush();
    const sql = this.#sql;
    return (pipeline === undefined ? sql.clearAll.run() : sql.clearPipeline.run(pipeline)).changes;
  }

  /** Drops the entries last used before `before`; returns how many went. */
  gc(before: number): number {
    this.#rows.flush();
    return this.#sql.gc.run(before).changes;
  }

  flush(): void {
    this.#rows.flush();
  }

  /** Drops what is buffered (its batch failed). */
  discard(): void {
    this.#rows.discard();
    this.#slots = [];
    this.#places = [];
  }

  /**
   * Before buffered entries go in, the attempts holding their keys until now let them go. Keys
   * are new far more often than not: a read of the slots settles that at a third of the cost
   * of an UPDATE taking every key in its WHERE.
   */
  #releaseBuffered(): void {
    const places = this.#places;
    if (places.length === 0) return;
    this.#slots = [];
    this.#places = [];
    const n = places.length / 4;
    const where: unknown[] = [];
    for (let i = 0; i < places.length; i += 4) where.push(places[i], places[i + 1], places[i + 2]);
    const held = this.#heldOf(n).all(where) as [string, string, number, string][];
    if (held.length === 0) return;
    const release: unknown[] = [];
    for (const [pipeline, stage, slot, key] of held) {
      for (let i = 0; i < places.length; i += 4) {
        if (places[i + 3] !== key || places[i] !== pipeline || places[i + 1] !== stage) continue;
        release.push(pipeline, stage, slot, key);
        break;
      }
    }
    if (release.length > 0) this.#release(release);
  }

  /** By number of places: the entries held at any of them (pipeline, stage, slot). */
  #heldOf(n: number): Database.Statement {
    let statement = this.#helds.get(n);
    if (!statement) {
      const rows = Array(n).fill('(?, ?, ?)').join(', ');
      statement = this.#db
        .prepare(
          `SELECT pipeline, cache_stage, cache_slot, cache_key FROM attempts
            WHERE (pipeline, cache_stage, cache_slot) IN (VALUES ${rows})
              AND cache_slot IS NOT NULL`,
        )
        .raw();
      this.#helds.set(n, statement);
    }
    return statement;
  }

  /**
   * `values`: places (pipeline, stage, slot, key) one after the other. Takes each key off the
   * attempt holding it there.
   */
  #release(values: readonly unknown[]): void {
    const n = values.length / 4;
    let statement = this.#releases.get(n);
    if (!statement) {
      const places = Array(n)
        .fill('(pipeline = ? AND cache_stage = ? AND cache_slot = ? AND cache_key = ?)')
        .join(' OR ');
      statement = this.#db.prepare(`UPDATE attempts ${dropEntry} WHERE ${places}`);
      this.#releases.set(n, statement);
    }
    statement.run(values);
  }
}

function checkPipeline(run: KnownRun, pipeline: string, key: string): void {
  if (pipeline === run.pipeline) return;
  throw new PipelineError(
    'STORE_INVALID_WRITE',
    `cache entry '${key}' says pipeline '${pipeline}', but its run is of pipeline '${run.pipeline}'`,
  );
}
