// Records and writes the RunStore contract suites build their cases from.
import type {
  AttemptRecord,
  CacheEntry,
  EventRecord,
  RunRecord,
  StoreWrite,
} from '../src/store/run-store.ts';

export function runRecord(runId: string, more: Partial<RunRecord> = {}): RunRecord {
  return {
    runId,
    pipeline: 'p',
    status: 'running',
    startedAt: 1_000,
    host: 'host-a',
    pid: 100,
    runDir: `/runs/${runId}`,
    stages: ['load', 'train'],
    ...more,
  };
}

export function attemptRecord(
  runId: string,
  stage: string,
  attempt: number,
  more: Partial<AttemptRecord> = {},
): AttemptRecord {
  return {
    runId,
    stage,
    attempt,
    status: 'succeeded',
    startedAt: 2_000,
    host: 'host-a',
    pid: 100,
    executor: 'inline',
    taskId: `${runId}:${stage}:${attempt}`,
    ...more,
  };
}

export function cacheEntry(key: string, more: Partial<CacheEntry> = {}): CacheEntry {
  return {
    key,
    pipeline: 'p',
    stage: 'load',
    runId: 'r1',
    attempt: 1,
    outputJson: '{"rows":3}',
    outputHash: 'sha256:out',
    parts: { stage: 'load', code: 'function sha256:c0de', upstream: { raw: 'sha256:up' } },
    createdAt: 3_000,
    lastUsedAt: 3_000,
    ...more,
  };
}

/** The succeeded attempt an entry belongs to: its key, its output. */
export function entryAttempt(entry: CacheEntry, more: Partial<AttemptRecord> = {}): AttemptRecord {
  return attemptRecord(entry.runId, entry.stage, entry.attempt, {
    endedAt: entry.createdAt,
    outputJson: entry.outputJson,
    outputHash: entry.outputHash,
    cacheKey: entry.key,
    ...more,
  });
}

export const run = (record: RunRecord): StoreWrite => ({ kind: 'run', run: record });
export const attempt = (record: AttemptRecord): StoreWrite => ({
  kind: 'attempt',
  attempt: record,
});
export const put = (entry: CacheEntry): StoreWrite => ({ kind: 'cache_put', entry });

/** An entry as a run records it: the put, then the attempt it belongs to. */
export const stored = (entry: CacheEntry): StoreWrite[] => [
  put(entry),
  attempt(entryAttempt(entry)),
];

export function event(runId: string, ts: number, more: Partial<Omit<EventRecord, 'seq'>> = {}) {
  const write: StoreWrite = { kind: 'event', event: { runId, ts, type: 'stage_started', ...more } };
  return write;
}
