import type Database from 'better-sqlite3';

const none: readonly unknown[] = [];

/**
 * Buffers rows for one table and inserts them several per statement: at tens of thousands of
 * rows a second, the cost of each call into SQLite outweighs the work of the row itself.
 */
export class MultiRowInsert {
  readonly #db: Database.Database;
  /** `INSERT INTO t (a, b)` or `INSERT OR REPLACE INTO t (a, b)`. */
  readonly #head: string;
  readonly #columns: number;
  readonly #rowsPerStatement: number;
  /** By number of rows: the full one, and the shorter ones a flush needs. */
  readonly #statements = new Map<number, Database.Statement>();
  readonly #beforeInsert: (() => void) | undefined;
  #values: unknown[] = [];

  /** `beforeInsert`: runs in each flush, just before the rows go in. */
  constructor(
    db: Database.Database,
    head: string,
    columns: number,
    rowsPerStatement: number,
    beforeInsert?: () => void,
  ) {
    this.#db = db;
    this.#head = head;
    this.#columns = columns;
    this.#rowsPerStatement = rowsPerStatement;
    this.#beforeInsert = beforeInsert;
  }

  /** Adds one row: exactly one value per column, in the head's order. */
  add(row: readonly unknown[]): void {
    const values = this.#values;
    for (let i = 0; i < row.length; i++) values.push(row[i]);
    if (values.length === this.#columns * this.#rowsPerStatement) this.flush();
  }

  /**
   * Adds one row made of `head`, then `count` values of `source` from `start`, then `tail`: a
   * row taken straight from a wire batch, without an array of its own.
   */
  addFrom(
    head: readonly unknown[],
    source: readonly unknown[],
    start: number,
    count: number,
    tail: readonly unknown[] = none,
  ): void {
    const values = this.#values;
    for (let i = 0; i < head.length; i++) values.push(head[i]);
    for (let i = start; i < start + count; i++) values.push(source[i]);
    for (let i = 0; i < tail.length; i++) values.push(tail[i]);
    if (values.length === this.#columns * this.#rowsPerStatement) this.flush();
  }

  /** Inserts the rows added so far. */
  flush(): void {
    const values = this.#values;
    if (values.length === 0) return;
    // Cleared first: a failing insert must not leave its rows for the next batch.
    this.#values = [];
    this.#beforeInsert?.();
    this.#statement(values.length / this.#columns).run(values);
  }

  /** Drops the rows added but not inserted (their batch failed). */
  discard(): void {
    this.#values = [];
  }

  #statement(rows: number): Database.Statement {
    let statement = this.#statements.get(rows);
    if (!statement) {
      const row = `(${'?, '.repeat(this.#columns - 1)}?)`;
      const sql = `${this.#head} VALUES ${Array(rows).fill(row).join(', ')}`;
      statement = this.#db.prepare(sql);
      this.#statements.set(rows, statement);
    }
    return statement;
  }
}
