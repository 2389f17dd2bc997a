/** The metrics tables of the SQLite run store (migration 2): the write and the read side. */
import type Database from 'better-sqlite3';
import type { MetricRecord, MetricsPosition, StoreWrite } from '../run-store.ts';

export type MetricsWrite = Extract<StoreWrite, { kind: 'metrics' }>;

/** Applies `metrics` writes; the run key comes from the writer, which knows the runs. */
export class MetricsWriter {
  readonly #insert: Database.Statement;
  readonly #position: Database.Statement;

  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      'INSERT OR REPLACE INTO metrics (run_key, stage, attempt, line, ts, data) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#position = db.prepare(
      'INSERT OR REPLACE INTO metrics_positions (run_key, stage, attempt, byte_offset, lines) VALUES (?, ?, ?, ?, ?)',
    );
  }

  apply(runKey: number, write: MetricsWrite): void {
    for (const record of write.records) {
      this.#insert.run(runKey, write.stage, write.attempt, record.line, record.ts, record.data);
    }
    this.#position.run(
      runKey,
      write.stage,
      write.attempt,
      write.position.offset,
      write.position.lines,
    );
  }
}

export class MetricsReader {
  readonly #all: Database.Statement;
  readonly #ofStage: Database.Statement;
  readonly #position: Database.Statement;

  constructor(db: Database.Database) {
    const select = `SELECT m.stage, m.attempt, m.line, m.ts, m.data FROM metrics m
      JOIN runs r ON r.id = m.run_key WHERE r.run_id = ?`;
    this.#all = db.prepare(`${select} ORDER BY m.stage, m.attempt, m.line`);
    this.#ofStage = db.prepare(`${select} AND m.stage = ? ORDER BY m.attempt, m.line`);
    this.#position = db.prepare(
      `SELECT p.byte_offset AS offset, p.lines FROM metrics_positions p
        JOIN runs r ON r.id = p.run_key WHERE r.run_id = ? AND p.stage = ? AND p.attempt = ?`,
    );
  }

  metrics(runId: string, stage?: string): MetricRecord[] {
    return (
      stage === undefined ? this.#all.all(runId) : this.#ofStage.all(runId, stage)
    ) as MetricRecord[];
  }

  position(runId: string, stage: string, attempt: number): MetricsPosition | undefined {
    return this.#position.get(runId, stage, attempt) as MetricsPosition | undefined;
  }
}
