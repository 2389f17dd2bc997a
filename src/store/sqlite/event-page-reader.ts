/**
 * Reads the events stored a page at a time (event-page-writer.ts): a page's events are a JSON
 * array of `[ts, type, stage, attempt, data]`, the first numbered `first_seq`, each next one
 * a number higher.
 */
import type Database from 'better-sqlite3';
import type { EventRecord, EventType } from '../run-store.ts';

type PageEvent = [
  ts: number,
  type: EventType,
  stage: string | null,
  attempt: number | null,
  data: Record<string, unknown> | null,
];

type PageRow = [firstSeq: number, events: string];

const runKeyOf = '(SELECT id FROM runs WHERE run_id = ?)';

export class EventPageReader {
  readonly #sql;

  constructor(db: Database.Database) {
    this.#sql = {
      pages: db
        .prepare(
          `SELECT first_seq, events FROM event_pages
            WHERE run_key = ${runKeyOf} AND last_seq > ? ORDER BY last_seq`,
        )
        .raw(),
      // A page without the type's name in its text holds no event of that type.
      pagesWith: db
        .prepare(
          `SELECT first_seq, events FROM event_pages
            WHERE run_key = ${runKeyOf} AND instr(events, ?) > 0 ORDER BY last_seq`,
        )
        .raw(),
    };
  }

  events(runId: string, afterSeq = 0): EventRecord[] {
    const events: EventRecord[] = [];
    for (const [first, text] of this.#sql.pages.all(runId, afterSeq) as PageRow[]) {
      const page = JSON.parse(text) as PageEvent[];
      for (let k = Math.max(0, afterSeq - first + 1); k < page.length; k++)
        events.push(eventOf(runId, first + k, page[k]!));
    }
    return events;
  }

  eventsOfType(runId: string, type: EventType): EventRecord[] {
    const events: EventRecord[] = [];
    const rows = this.#sql.pagesWith.all(runId, JSON.stringify(type)) as PageRow[];
    for (const [first, text] of rows) {
      const page = JSON.parse(text) as PageEvent[];
      for (let k = 0; k < page.length; k++)
        if (page[k]![1] === type) events.push(eventOf(runId, first + k, page[k]!));
    }
    return events;
  }

  /** The highest attempt of each stage's `stage_started` events. */
  startedAttempts(runId: string): Map<string, number> {
    const started = new Map<string, number>();
    for (const [, text] of this.#sql.pages.all(runId, 0) as PageRow[]) {
      for (const [, type, stage, attempt] of JSON.parse(text) as PageEvent[]) {
        if (type !== 'stage_started' || stage === null || attempt === null) continue;
        if (attempt > (started.get(stage) ?? 0)) started.set(stage, attempt);
      }
    }
    return started;
  }

  /** The last `stage_started` or `stage_finished` event of each stage, in sequence order. */
  lastStageEvents(runId: string): EventRecord[] {
    const rows = this.#sql.pages.all(runId, 0) as PageRow[];
    const seen = new Set<string>();
    const last: EventRecord[] = [];
    // From the newest back: the first event of a stage met is its last, and the only one kept.
    for (let p = rows.length - 1; p >= 0; p--) {
      const [first, text] = rows[p]!;
      const page = JSON.parse(text) as PageEvent[];
      for (let k = page.length - 1; k >= 0; k--) {
        const [, type, stage] = page[k]!;
        if (stage === null || (type !== 'stage_started' && type !== 'stage_finished')) continue;
        if (seen.has(stage)) continue;
        seen.add(stage);
        last.push(eventOf(runId, first + k, page[k]!));
      }
    }
    return last.reverse();
  }
}

function eventOf(runId: string, seq: number, [ts, type, stage, attempt, data]: PageEvent) {
  const event: EventRecord = { seq, runId, ts, type };
  if (stage !== null) event.stage = stage;
  if (attempt !== null) event.attempt = attempt;
  if (data !== null) event.data = data;
  return event;
}
