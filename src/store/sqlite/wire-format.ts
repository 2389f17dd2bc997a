/**
 * Run-store writes as they travel to the writer thread: one flat array of primitives per
 * batch, each write a kind tag followed by its fields in column order. Structured clone of a
 * flat array costs a fraction of cloning one object per write (no property names, no object
 * shapes to rebuild), and the writer feeds the fields to its inserts as they come.
 *
 * Clone copies every string anew, so the two a batch repeats most go as numbers: a write's
 * run id is `sameRun` when it is the run id of the write before it in the batch, and an event's
 * type is its place in `eventTypes`.
 */
import { PipelineError } from '../../errors.ts';
import type { AttemptRecord, CacheEntryWrite, EventType, StoreWrite } from '../run-store.ts';

/** In place of a run id: the run of the write before, in the same batch. */
export const sameRun = 0;

export const eventTypes: readonly EventType[] = [
  'run_started',
  'stage_started',
  'stage_retrying',
  'stage_fallback',
  'stage_finished',
  'stage_mapped',
  'run_finished',
];
const eventTypeCodes = new Map(eventTypes.map((type, code) => [type, code]));

export const wireKind = {
  /** runId, ts, type, stage, attempt, data (JSON) */
  event: 0,
  /** runId, then the attempts table's columns from `stage` to `reused_from` */
  attempt: 1,
  /**
   * A cache entry of an attempt stored before it: runId, stage, attempt, key, pipeline,
   * outputHash, parts (JSON), createdAt, lastUsedAt
   */
  cachePut: 2,
  /** runId, stage, key, at */
  cacheUsed: 3,
  /** the run record as JSON */
  run: 4,
  /** runId, status, endedAt */
  runStatus: 5,
  /** runId, the write as JSON (rare and already batched: no columns of its own) */
  metrics: 6,
  /**
   * A `cache_put` and, right after it, the attempt it names: one attempt row with its entry.
   * The attempt's values, then the entry's parts (JSON), createdAt, lastUsedAt and pipeline.
   */
  attemptWithEntry: 7,
} as const;

/** How many values each kind takes, its tag included. */
export const wireLength: readonly number[] = [7, 20, 10, 5, 2, 4, 3, 24];

/** Encodes a batch; throws a PipelineError (STORE_INVALID_WRITE) for a write of no known kind. */
export function encodeWrites(writes: readonly StoreWrite[]): unknown[] {
  const values: unknown[] = [];
  let lastRun: string | undefined;
  const runRef = (runId: string): string | typeof sameRun => {
    if (runId === lastRun) return sameRun;
    lastRun = runId;
    return runId;
  };
  for (let w = 0; w < writes.length; w++) {
    const write = writes[w]!;
    switch (write.kind) {
      case 'event': {
        const e = write.event;
        values.push(
          wireKind.event,
          runRef(e.runId),
          e.ts,
          eventTypeCodes.get(e.type) ?? e.type,
          e.stage ?? null,
          e.attempt ?? null,
          e.data === undefined ? null : dataJson(e.data),
        );
        break;
      }
      case 'attempt':
        pushAttempt(values, wireKind.attempt, write.attempt, runRef(write.attempt.runId));
        break;
      case 'cache_put': {
        const c = write.entry;
        const next = writes[w + 1];
        if (next?.kind === 'attempt' && isAttemptOf(c, next.attempt)) {
          // The recorder's order: the entry, then its attempt. One row, no UPDATE.
          pushAttempt(values, wireKind.attemptWithEntry, next.attempt, runRef(c.runId));
          values.push(
            c.partsJson ?? JSON.stringify(c.parts),
            c.createdAt,
            c.lastUsedAt,
            c.pipeline,
          );
          w++;
          break;
        }
        values.push(
          wireKind.cachePut,
          runRef(c.runId),
          c.stage,
          c.attempt,
          c.key,
          c.pipeline,
          c.outputHash,
          c.partsJson ?? JSON.stringify(c.parts),
          c.createdAt,
          c.lastUsedAt,
        );
        break;
      }
      case 'cache_used':
        values.push(wireKind.cacheUsed, runRef(write.runId), write.stage, write.key, write.at);
        break;
      case 'run':
        values.push(wireKind.run, JSON.stringify(write.run));
        break;
      case 'run_status':
        values.push(wireKind.runStatus, runRef(write.runId), write.status, write.endedAt ?? null);
        break;
      case 'metrics':
        values.push(wireKind.metrics, runRef(write.runId), JSON.stringify(write));
        break;
      default:
        throw new PipelineError(
          'STORE_INVALID_WRITE',
          `unknown run store write kind '${String((write as { kind?: unknown }).kind)}'`,
        );
    }
  }
  return values;
}

/** JSON of frozen data objects, which writers share between many events (see recorder.ts). */
const sharedJson = new WeakMap<object, string>();

function dataJson(data: Record<string, unknown>): string {
  if (!Object.isFrozen(data)) return JSON.stringify(data);
  let text = sharedJson.get(data);
  if (text === undefined) {
    text = JSON.stringify(data);
    sharedJson.set(data, text);
  }
  return text;
}

/**
 * Whether the entry can be the attempt's: the same attempt, a success, under the attempt's
 * cache key and with its output. Any other pair goes as two writes, and the entry is refused
 * unless its attempt was stored before it.
 */
function isAttemptOf(entry: CacheEntryWrite, attempt: AttemptRecord): boolean {
  return (
    entry.runId === attempt.runId &&
    entry.stage === attempt.stage &&
    entry.attempt === attempt.attempt &&
    entry.key === attempt.cacheKey &&
    entry.outputHash === attempt.outputHash &&
    attempt.outputJson !== undefined &&
    (attempt.status === 'succeeded' || attempt.status === 'cached')
  );
}

function pushAttempt(
  values: unknown[],
  kind: number,
  a: AttemptRecord,
  runId: string | typeof sameRun,
): void {
  values.push(
    kind,
    runId,
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
    // Stored only when it is not the deterministic one the reader makes up again.
    a.taskId === `${a.runId}:${a.stage}:${a.attempt}` ? null : a.taskId,
    a.fallback ?? null,
    a.outputJson ?? null,
    a.outputHash ?? null,
    a.inputHash ?? null,
    a.cacheKey ?? null,
    a.reusedFrom ?? null,
  );
}
