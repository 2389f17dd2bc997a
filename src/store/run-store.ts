/**
 * The run store port (SPEC C1, DESIGN invariant 4): where runs, attempts, events and cache
 * entries live. SQLite is the embedded default; PostgreSQL comes later. Every adapter passes
 * the contract suite in test/store-contract.ts.
 *
 * Writes arrive in batches through `append`, one transaction each, in call order: a batch is
 * durable (or rejected whole) when its promise resolves. That is what lets the engine group
 * commits and still announce a stage's success only once it is on disk.
 */
import type { RunStatus, StageStatus } from '../graph/pipeline.ts';
import type { ResourceSample, ResourceSummaryRecord } from '../monitor/resource-sample.ts';

export interface RunRecord {
  runId: string;
  /** The pipeline's name. */
  pipeline: string;
  /** The absolute path of the file the pipeline was loaded from, when there is one. */
  source?: string;
  /** `running` until the run ends; a crashed run stays `running` with a dead `pid`. */
  status: RunStatus;
  /** Epoch milliseconds. */
  startedAt: number;
  endedAt?: number;
  host: string;
  /** The orchestrator's process id (the latest one, after a resume). */
  pid: number;
  runDir: string;
  /** Every stage of the run, in declaration order. */
  stages: readonly string[];
  /** How the run was started (selection, flags): what `resume` needs to go on with it. */
  options?: Readonly<Record<string, unknown>>;
}

/** One try of one stage; cache hits and reused outputs are attempts too (status `cached`). */
export interface AttemptRecord {
  runId: string;
  stage: string;
  /** 1 for the first try; numbering goes on across resumes. */
  attempt: number;
  status: StageStatus;
  startedAt: number;
  endedAt?: number;
  exitCode?: number;
  errorCode?: string;
  errorMessage?: string;
  host: string;
  pid: number;
  /** inline, module, command, cache … */
  executor: string;
  /** Deterministic: `{runId}:{stage}:{attempt}`. */
  taskId: string;
  /** The fallback stage that ran in this stage's place. */
  fallback?: string;
  /** The output as JSON text (FileRefs inside carry their own hashes). */
  outputJson?: string;
  /** `sha256:…` of `outputJson`. */
  outputHash?: string;
  /** `sha256:…` over the upstream output hashes this attempt consumed. */
  inputHash?: string;
  cacheKey?: string;
  /** The run whose output this attempt reused (a cache hit, `--from`, `--stage`). */
  reusedFrom?: string;
}

export type EventType =
  | 'run_started'
  | 'stage_started'
  | 'stage_retrying'
  | 'stage_fallback'
  | 'stage_finished'
  | 'stage_mapped'
  | 'run_finished';

export interface EventRecord {
  /** Monotonic across the whole store: the order things happened in. */
  seq: number;
  runId: string;
  ts: number;
  type: EventType;
  stage?: string;
  attempt?: number;
  /** Everything else the event said (status, exit code, error …), as a JSON object. */
  data?: Readonly<Record<string, unknown>>;
}

/** The last attempt of a stage, as `status` shows it (latestAttemptStates). */
export type AttemptState = Pick<
  AttemptRecord,
  | 'stage'
  | 'attempt'
  | 'status'
  | 'startedAt'
  | 'endedAt'
  | 'exitCode'
  | 'errorCode'
  | 'errorMessage'
  | 'executor'
  | 'reusedFrom'
>;

/** The last attempt of a stage, as a resume plans with it (latestOutcomes). */
export type AttemptOutcome = Pick<
  AttemptRecord,
  'stage' | 'attempt' | 'status' | 'outputJson' | 'outputHash'
>;

/** What a stage's cache key is made of: each part is a short string (a hash or a value). */
export interface CacheKeyParts {
  stage: string;
  version?: string;
  /** What the code is and its hash: `function sha256:…`, `file stages.ts sha256:…`. */
  code?: string;
  params?: string;
  command?: string;
  env?: string;
  /** Upstream stage → its output hash. */
  upstream: Readonly<Record<string, string>>;
  /** A fan-out instance's item (its place and value's hash): one key per item. */
  item?: string;
}

/**
 * A successful attempt's output kept under its cache key: an entry belongs to its attempt.
 * Its pipeline, stage, output and key are the attempt's; it lives while the attempt does and
 * no other entry takes its key (see `cache_put`).
 */
export interface CacheEntry {
  /** The attempt's `cacheKey`; unique among the entries of its pipeline and stage. */
  key: string;
  /** The attempt's run's pipeline. */
  pipeline: string;
  stage: string;
  /** The run and attempt that produced the output. */
  runId: string;
  attempt: number;
  /** The attempt's `outputJson`, as stored with the attempt. */
  outputJson: string;
  /** The attempt's `outputHash`. */
  outputHash: string;
  parts: CacheKeyParts;
  createdAt: number;
  lastUsedAt: number;
}

/**
 * A cache entry as a `cache_put` writes it: its parts as an object, or as their canonical
 * JSON when the writer has that already (stored as it is, not made again).
 */
export type CacheEntryWrite = Omit<CacheEntry, 'parts'> &
  ({ parts: CacheKeyParts; partsJson?: undefined } | { parts?: undefined; partsJson: string });

/**
 * One write of a batch; a batch applies its writes in order. `run_status`, `event` and
 * `attempt` name a run that is in the store already or earlier in the same batch: a write
 * naming any other run rejects its batch.
 */
export type StoreWrite =
  /** Inserts the run, or replaces it whole (a resume takes it over with a new pid). */
  | { kind: 'run'; run: RunRecord }
  /** Sets the run's status and end time (an absent `endedAt` clears it). */
  | { kind: 'run_status'; runId: string; status: RunStatus; endedAt?: number }
  | { kind: 'event'; event: Omit<EventRecord, 'seq'> }
  /** Inserts the attempt, or replaces the one with the same run, stage and attempt. */
  | { kind: 'attempt'; attempt: AttemptRecord }
  /**
   * Makes the attempt the entry names (`runId`, `stage`, `attempt`) an entry, or replaces its
   * entry. That attempt must be stored before the put (earlier in the batch counts) or be the
   * very next write of the batch, as a `succeeded` or `cached` attempt whose `cacheKey` and
   * `outputHash` are the entry's, of a run of the entry's pipeline; otherwise the batch
   * rejects (STORE_INVALID_WRITE). An older entry of the same key, pipeline and stage (a
   * mapped stage's instances count as the mapped stage) stops being one. An
   * `attempt` write that replaces an attempt drops the entry it held.
   */
  | { kind: 'cache_put'; entry: CacheEntryWrite }
  /**
   * Sets the `lastUsedAt` of the entry of `key` for the run's pipeline and the stage (see
   * cacheGet); nothing happens when there is none.
   */
  | { kind: 'cache_used'; runId: string; stage: string; key: string; at: number }
  /**
   * Adds metrics lines of one attempt (a line already stored is replaced) and sets how far its
   * file has been read, together: a crash never stores lines without their offset.
   */
  | {
      kind: 'metrics';
      runId: string;
      stage: string;
      attempt: number;
      records: readonly Omit<MetricRecord, 'stage' | 'attempt'>[];
      position: MetricsPosition;
    };

/** One line of a stage's metrics file (SPEC E5): a JSON object, as the stage wrote it. */
export interface MetricRecord {
  stage: string;
  attempt: number;
  /** The line's number in the attempt's part of the file, from 0. */
  line: number;
  /** When it was read (epoch ms). */
  ts: number;
  /** The JSON object text. */
  data: string;
}

/** How far an attempt's metrics file has been read. */
export interface MetricsPosition {
  /** The byte just after the last whole line stored: the next read starts here. */
  offset: number;
  /** Lines stored so far: the `line` of the next one. */
  lines: number;
}

/** What the resource monitor recorded (SPEC E1): samples as stages ran, and attempt summaries. */
export interface ResourceBatch {
  samples: readonly ResourceSample[];
  /** One per attempt; a second one for the same attempt replaces the first. */
  summaries: readonly ResourceSummaryRecord[];
}

export interface RunFilter {
  pipeline?: string;
  /** Newest first. @default 50 */
  limit?: number;
}

export interface RunStore {
  /** Commits the writes as one transaction, after every batch appended before it. */
  append(writes: readonly StoreWrite[]): Promise<void>;

  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Newest first (by start time, then run id, both descending). */
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** The run's events in sequence order, after `afterSeq`. */
  events(runId: string, afterSeq?: number): Promise<EventRecord[]>;
  /**
   * The run's attempts (of one stage, when given), ordered by stage name (UTF-8 byte order),
   * then attempt.
   */
  attempts(runId: string, stage?: string): Promise<AttemptRecord[]>;
  /**
   * The last attempt (the highest number) of each stage of the run, ordered by stage name
   * (UTF-8 byte order): what `status` and `resume` need of a 100,000-stage run, without
   * reading every try.
   */
  latestAttempts(runId: string): Promise<AttemptRecord[]>;
  /**
   * latestAttempts reduced to what `status` shows of each stage, by stage name: no output,
   * hashes or host, so that a 10,000-stage run's status reads half as much.
   */
  latestAttemptStates(runId: string): Promise<AttemptState[]>;
  /**
   * latestAttempts reduced to what a resume needs of each stage (its attempt number, status
   * and output), by stage name: for 100,000 stages, a third of the reading.
   */
  latestOutcomes(runId: string): Promise<AttemptOutcome[]>;
  /**
   * The highest attempt each stage of the run started (its `stage_started` events): one that
   * was running when the orchestrator died has no attempt row, and must not be numbered again.
   */
  startedAttempts(runId: string): Promise<Map<string, number>>;
  /**
   * The last `stage_started` or `stage_finished` event of each stage of the run, in sequence
   * order: where each stage stands, without reading the whole history.
   */
  lastStageEvents(runId: string): Promise<EventRecord[]>;
  /** The run's events of one type, in sequence order (such as every `stage_mapped`). */
  eventsOfType(runId: string, type: EventType): Promise<EventRecord[]>;
  /**
   * The newest `succeeded` or `cached` attempt of a stage in any run of the pipeline: the
   * latest `startedAt`, and of equal ones the last written.
   */
  latestSuccess(pipeline: string, stage: string): Promise<AttemptRecord | undefined>;

  /**
   * Commits a batch of resource records as one transaction, in order with `append` (their run
   * must be stored already or the batch rejects). Batch them: one call per tick at most.
   */
  appendResources(batch: ResourceBatch): Promise<void>;
  /** The run's samples (of one stage, when given), by stage, attempt, then time. */
  resourceSamples(runId: string, stage?: string): Promise<ResourceSample[]>;
  /** The run's attempt summaries (of one stage, when given), by stage then attempt. */
  resourceSummaries(runId: string, stage?: string): Promise<ResourceSummaryRecord[]>;

  /**
   * The entry of `key` among the pipeline's entries of the stage. An instance of a mapped stage
   * (`resize[3]`) looks among all the mapped stage's: an item's entry is found wherever the item
   * now is in its list.
   */
  cacheGet(pipeline: string, stage: string, key: string): Promise<CacheEntry | undefined>;
  /**
   * The newest cache entry of a stage (the latest `createdAt`, and of equal ones the one whose
   * attempt was written last): what `explain` compares against.
   */
  cacheLatest(pipeline: string, stage: string): Promise<CacheEntry | undefined>;
  /** Every cache key stored for the pipeline: a run checks this set before reading an entry. */
  cacheKeys(pipeline: string): Promise<Set<string>>;
  /**
   * Removes entries: all, or those of one pipeline; returns how many went. Their attempts stay
   * as they were (`cacheKey` included): only the entry goes.
   */
  cacheClear(pipeline?: string): Promise<number>;
  /** Removes entries last used before `before` (epoch ms), strictly; returns how many went. */
  cacheGc(before: number): Promise<number>;

  /** The run's metrics lines (of one stage, when given), by stage, attempt and line. */
  metrics(runId: string, stage?: string): Promise<MetricRecord[]>;
  /** How far an attempt's metrics file has been read; undefined before its first lines. */
  metricsPosition(
    runId: string,
    stage: string,
    attempt: number,
  ): Promise<MetricsPosition | undefined>;

  /** Waits for every append made before it, then lets the store go; later calls reject. */
  close(): Promise<void>;
}
