/**
 * The SQLite run store's schema, versioned from the first release: an ordered list of
 * migrations, each applied once in its own transaction and recorded in `schema_migrations`.
 * A migration is never edited once released; a change is a new migration at the end.
 */
import type Database from 'better-sqlite3';
import { InputError } from '../../errors.ts';
import { cacheSlot } from './cache-slot.ts';

export interface Migration {
  version: number;
  /** What it does, for the record. */
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, attempts, events and cache entries',
    // Attempts and events point at their run by its integer key: index entries stay a few
    // bytes instead of a run id each. Attempts repeat the run's pipeline so that
    // latestSuccess is one index probe. Times are epoch milliseconds; JSON columns are TEXT.
    sql: `
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL UNIQUE,
        pipeline TEXT NOT NULL,
        source TEXT,
        status TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        run_dir TEXT NOT NULL,
        stages TEXT NOT NULL,
        options TEXT
      );
      CREATE INDEX runs_by_start ON runs (started_at, run_id);
      CREATE INDEX runs_by_pipeline ON runs (pipeline, started_at, run_id);

      CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        run_key INTEGER NOT NULL,
        pipeline TEXT NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        exit_code INTEGER,
        error_code TEXT,
        error_message TEXT,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        executor TEXT NOT NULL,
        task_id TEXT, -- NULL when it is the deterministic {runId}:{stage}:{attempt}
        fallback TEXT,
        output_json TEXT,
        output_hash TEXT,
        input_hash TEXT,
        cache_key TEXT,
        reused_from TEXT
      );
      CREATE UNIQUE INDEX attempts_by_run ON attempts (run_key, stage, attempt);
      CREATE INDEX attempts_succeeded ON attempts (pipeline, stage, started_at)
        WHERE status IN ('succeeded', 'cached');

      -- AUTOINCREMENT: a seq is never handed out twice, even after the newest rows go.
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_key INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        type TEXT NOT NULL,
        stage TEXT,
        attempt INTEGER,
        data TEXT
      );
      -- Entries are (run_key, seq): seq is the rowid every index entry ends with.
      CREATE INDEX events_by_run ON events (run_key);

      CREATE TABLE cache_entries (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        pipeline TEXT NOT NULL,
        stage TEXT NOT NULL,
        run_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        output_json TEXT NOT NULL,
        output_hash TEXT NOT NULL,
        parts TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL
      );
      -- Entries end with the id, the tie-break of cacheLatest.
      CREATE INDEX cache_by_stage ON cache_entries (pipeline, stage, created_at);
      -- Holds the key, so cacheKeys reads this index alone.
      CREATE INDEX cache_by_pipeline ON cache_entries (pipeline, key);
      CREATE INDEX cache_by_last_use ON cache_entries (last_used_at);
    `,
  },
  {
    version: 2,
    name: 'metrics lines and how far each metrics file was read',
    sql: `
      CREATE TABLE metrics (
        run_key INTEGER NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        line INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_key, stage, attempt, line)
      ) WITHOUT ROWID;
      CREATE TABLE metrics_positions (
        run_key INTEGER NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        byte_offset INTEGER NOT NULL,
        lines INTEGER NOT NULL,
        PRIMARY KEY (run_key, stage, attempt)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: 'resource samples and per-attempt resource summaries',
    // Samples are many and written in bulk: a rowid table with one index, read by attempt.
    // Summaries are one per attempt, replaced if an attempt is summarised again. An attempt's
    // sample at exit usually comes in the batch of its summary: it is kept in the summary's
    // final_* columns then, so that a short stage costs one row, not three B-tree inserts.
    sql: `
      CREATE TABLE resource_samples (
        run_key INTEGER NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        cpu_percent REAL NOT NULL,
        rss_bytes INTEGER NOT NULL,
        read_bytes INTEGER NOT NULL,
        write_bytes INTEGER NOT NULL,
        net_rx_bytes INTEGER NOT NULL,
        net_tx_bytes INTEGER NOT NULL,
        gpus TEXT,
        final INTEGER NOT NULL
      );
      CREATE INDEX resource_samples_by_attempt ON resource_samples (run_key, stage, attempt);

      CREATE TABLE resource_summaries (
        run_key INTEGER NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        source TEXT NOT NULL,
        samples INTEGER NOT NULL,
        peak_rss_bytes INTEGER NOT NULL,
        cpu_seconds REAL NOT NULL,
        avg_cpu_percent REAL NOT NULL,
        read_bytes INTEGER NOT NULL,
        write_bytes INTEGER NOT NULL,
        net_rx_bytes INTEGER NOT NULL,
        net_tx_bytes INTEGER NOT NULL,
        peak_gpu_memory_mb REAL,
        final_ts INTEGER,
        final_cpu_percent REAL,
        final_rss_bytes INTEGER,
        final_read_bytes INTEGER,
        final_write_bytes INTEGER,
        final_net_rx_bytes INTEGER,
        final_net_tx_bytes INTEGER,
        final_gpus TEXT,
        PRIMARY KEY (run_key, stage, attempt)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: 'cache entries folded into the attempts that made them',
    // An entry is a successful attempt's output under its key: the attempt row holds the
    // entry's own columns, set while it is an entry. A separate table wrote each output twice
    // and kept four indexes, two on random 71-character keys (a page dirtied per entry). Now
    // the one index is on cache_slot (cache-slot.ts), a small hash of the key, set on entries
    // only; a lookup is `cache_slot = ? AND cache_key = ?`. An entry whose attempt is not a
    // stored success with the entry's output cannot be kept, and goes.
    sql: `
      ALTER TABLE attempts ADD COLUMN cache_parts TEXT;
      ALTER TABLE attempts ADD COLUMN cache_created_at INTEGER;
      ALTER TABLE attempts ADD COLUMN cache_used_at INTEGER;
      ALTER TABLE attempts ADD COLUMN cache_slot INTEGER;
      UPDATE attempts SET cache_key = e.key, cache_parts = e.parts,
          cache_created_at = e.created_at, cache_used_at = e.last_used_at,
          cache_slot = cache_slot(e.key)
        FROM (
          SELECT c.key, c.parts, c.created_at, c.last_used_at, c.stage, c.attempt,
            c.output_hash, r.id AS run_key
          FROM cache_entries c JOIN runs r ON r.run_id = c.run_id
        ) AS e
        WHERE attempts.run_key = e.run_key AND attempts.stage = e.stage
          AND attempts.attempt = e.attempt AND attempts.status IN ('succeeded', 'cached')
          AND attempts.output_json IS NOT NULL AND attempts.output_hash = e.output_hash;
      DROP TABLE cache_entries;
      CREATE INDEX attempts_by_cache_slot ON attempts (cache_slot) WHERE cache_slot IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: 'an index of the cache entries alone',
    // A run starts by reading its pipeline's cache keys. Through the index of successes that
    // read walked every success the pipeline ever had (cached reruns included) to find the
    // entries among them; this index holds the entries alone. Its inserts are appends (one
    // pipeline, rising rowids), so the writer hardly notices them.
    sql: `
      CREATE INDEX attempts_entries ON attempts (pipeline) WHERE cache_slot IS NOT NULL;
    `,
  },
  {
    version: 6,
    name: 'cache entries found by pipeline and stage',
    // Slots are random: each commit of new entries dirtied pages all over an index the size of
    // every entry (a 100,000-stage run: 1.57 s of inserts against 1.07 s without it). Entries
    // are now found by pipeline, stage and slot, so that a run's entries go in near each
    // other; keys are unique within a pipeline's stage, no longer across pipelines. Instances of
    // a mapped stage are found under the mapped stage (cache_stage), wherever an item moves.
    sql: `
      ALTER TABLE attempts ADD COLUMN cache_stage TEXT GENERATED ALWAYS AS (
        CASE WHEN instr(stage, '[') > 0 THEN substr(stage, 1, instr(stage, '[') - 1) ELSE stage END
      ) VIRTUAL;
      DROP INDEX attempts_by_cache_slot;
      DROP INDEX attempts_entries;
      CREATE INDEX attempts_entries ON attempts (pipeline, cache_stage, cache_slot)
        WHERE cache_slot IS NOT NULL;
    `,
  },
  {
    version: 7,
    name: 'events stored a page at a time',
    // A row per event cost the writer a fifth of a 100,000-stage run's commit time (200,000
    // rows); a page holds the events of a run that one batch wrote, as a JSON array of
    // [ts, type, stage, attempt, data] numbered from first_seq (event-page-writer.ts).
    // event_seq holds the next number, so that none is handed out twice. Old events become
    // pages of one, under the numbers they had.
    sql: `
      CREATE TABLE event_pages (
        first_seq INTEGER PRIMARY KEY,
        run_key INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        events TEXT NOT NULL
      );
      CREATE INDEX event_pages_by_run ON event_pages (run_key, last_seq);
      CREATE TABLE event_seq (next INTEGER NOT NULL);
      INSERT INTO event_seq SELECT max(
        coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),
        coalesce((SELECT max(seq) FROM events), 0)) + 1;
      INSERT INTO event_pages (first_seq, run_key, last_seq, events)
        SELECT seq, run_key, seq, json_array(json_array(ts, type, stage, attempt, json(data)))
        FROM events ORDER BY seq;
      DROP TABLE events;
    `,
  },
];

export const latestSchemaVersion = migrations[migrations.length - 1]!.version;

/** The schema version recorded in the database: 0 for a new one. */
export function schemaVersion(db: Database.Database): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  if (!table) return 0;
  const row = db.prepare('SELECT max(version) AS version FROM schema_migrations').get() as {
    version: number | null;
  };
  return row.version ?? 0;
}

/**
 * Brings the database to `latestSchemaVersion`. Safe against another process migrating the
 * same file at once: each step re-reads the version under the write lock.
 */
export function migrate(db: Database.Database, file: string): void {
  const latest = latestSchemaVersion;
  const found = schemaVersion(db);
  if (found > latest) throw newerSchemaError(file, found, latest);
  if (found === latest) return;
  if (found === 0) refuseForeignDatabase(db, file);
  // Migration 4 computes the slots of the entries it moves.
  db.function('cache_slot', { deterministic: true }, (key) => cacheSlot(String(key)));
  for (const migration of migrations) {
    db.transaction(() => {
      db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
      );
      const current = schemaVersion(db);
      if (current > latest) throw newerSchemaError(file, current, latest);
      if (current >= migration.version) return;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
        migration.version,
        Date.now(),
      );
    }).immediate();
  }
}

/** A database with tables but no migrations of ours is another program's: never touched. */
function refuseForeignDatabase(db: Database.Database, file: string): void {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck()
    .all() as string[];
  const foreign = tables.filter((name) => name !== 'schema_migrations');
  if (foreign.length === 0) return;
  throw new InputError(
    `${file}: not a gpipe run store (it holds tables such as '${foreign[0]}' and no gpipe schema); move it away or give another workspace with -w`,
  );
}

function newerSchemaError(file: string, found: number, latest: number): InputError {
  return new InputError(
    `${file}: the run store has schema version ${found}, newer than the ${latest} this gpipe knows; use a newer gpipe or another store`,
  );
}
