/**
 * Writes events a page at a time (migration 7): each run of consecutive events of one run in
 * a batch becomes one row, its events a JSON array numbered from `first_seq`. A row costs the
 * writer far more than its bytes: the 200,000 event rows of a 100,000-stage run took a fifth
 * of its commit time; its few hundred pages take next to none.
 */
import type Database from 'better-sqlite3';
import { eventTypes } from './wire-format.ts';

/** Each event type as JSON, by its code on the wire. */
const typeJson = eventTypes.map((type) => JSON.stringify(type));

export class EventPageWriter {
  readonly #sql;
  /** Pages of the batch, made but not yet stored: run key, then events as JSON texts. */
  #pages: { runKey: number; events: string[] }[] = [];

  constructor(db: Database.Database) {
    this.#sql = {
      next: db.prepare('SELECT next FROM event_seq').pluck(),
      setNext: db.prepare('UPDATE event_seq SET next = ?'),
      insert: db.prepare(
        'INSERT INTO event_pages (first_seq, run_key, last_seq, events) VALUES (?, ?, ?, ?)',
      ),
    };
  }

  /**
   * An event: ts, type (its code, or its name), stage, attempt and data (JSON text), nulls for
   * the absent ones.
   */
  add(runKey: number, values: readonly unknown[], start: number): void {
    const type = values[start + 1];
    const stage = values[start + 2];
    const data = values[start + 4];
    const typeText = typeof type === 'number' ? typeJson[type] : JSON.stringify(type);
    const text = `[${values[start] as number},${typeText},${
      stage === null ? 'null' : JSON.stringify(stage)
    },${values[start + 3] ?? 'null'},${data ?? 'null'}]`;
    const page = this.#pages[this.#pages.length - 1];
    if (page?.runKey === runKey) page.events.push(text);
    else this.#pages.push({ runKey, events: [text] });
  }

  /** Stores the pages made so far, numbered after every event stored before them. */
  flush(): void {
    const pages = this.#pages;
    if (pages.length === 0) return;
    this.#pages = [];
    // Read in the transaction: another process may have stored events since our last one.
    let next = this.#sql.next.get() as number;
    for (const { runKey, events } of pages) {
      const last = next + events.length - 1;
      this.#sql.insert.run(next, runKey, last, `[${events.join(',')}]`);
      next = last + 1;
    }
    this.#sql.setNext.run(next);
  }

  /** Drops what is not stored yet (its batch failed). */
  discard(): void {
    this.#pages = [];
  }
}
