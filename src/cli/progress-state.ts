import type { SerializedError } from '../errors.ts';
import { isTerminalStatus, type RunStatus, type StageStatus } from '../graph/pipeline.ts';
import type { StageSample } from '../monitor/stage-sample.ts';
import type { RunEvent } from '../scheduler/events.ts';

/** What the progress views know of one stage, built from the run's events. */
export interface StageProgress {
  name: string;
  status: StageStatus;
  /** The attempt now running or last run; 0 for a stage that never started. */
  attempt: number;
  /** When the current (or last) attempt started, epoch ms. */
  startedAt?: number;
  /** When the stage became terminal. */
  endedAt?: number;
  /** Set between two attempts: when the next one is due. */
  retryAt?: number;
  /** The fallback running (or that ran) in this stage's place. */
  fallback?: string;
  exitCode?: number;
  error?: SerializedError;
  /** The monitor's latest figures while it runs. */
  sample?: { cpuPercent: number; rssMb: number };
}

/** A mapped stage's instances (`prefix[i]`, `prefix[i][j]`), counted together. */
export interface StageGroup {
  prefix: string;
  /**
   * Its items: those `stage_mapped` announced, or the members seen when more (a nested
   * fan-out's inner lists are announced as their items end).
   */
  total: number;
  done: number;
  /** Done before the run started (a resume): in the bar, not in the rate. */
  doneBefore: number;
  /** When its first member started. */
  startedAt?: number;
}

/**
 * The state of a run as its events tell it. Feed it every event in order; the renderers read it.
 * Knows stages only once an event names them; `total` comes from `run_started`.
 */
export class ProgressState {
  runId = '';
  pipeline = '';
  total = 0;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  status: RunStatus = 'running';
  readonly #stages = new Map<string, StageProgress>();
  readonly #running = new Set<StageProgress>();
  /** Stages finished before the run started (resumed, reused): no part of its rate. */
  reused = 0;
  readonly #groups = new Map<string, GroupCount>();
  /** Terminal stages, in the order they ended. */
  readonly #finished: StageProgress[] = [];
  /** Stages by status, kept as statuses change so that a frame never walks every stage. */
  readonly #counts: Record<StageStatus, number> = {
    pending: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    skipped: 0,
    upstream_failed: 0,
    cancelled: 0,
    cached: 0,
  };

  apply(event: RunEvent): StageProgress | undefined {
    switch (event.event) {
      case 'run_started':
        this.runId = event.runId;
        this.pipeline = event.pipeline;
        this.total = event.stages;
        this.startedAt = event.ts;
        this.reused = event.reused ?? 0;
        return undefined;
      case 'run_finished':
        this.runId = event.runId;
        this.status = event.status;
        this.finishedAt = event.ts;
        return undefined;
      case 'stage_mapped': {
        const group = this.#group(event.stage);
        group.announced += event.items;
        const more = Math.max(0, group.announced - group.total);
        group.total += more;
        this.total += more;
        return undefined;
      }
      case 'stage_started': {
        const stage = this.#stage(event.stage);
        this.#setStatus(stage, 'running');
        stage.attempt = event.attempt;
        stage.startedAt = event.ts;
        delete stage.retryAt;
        if (event.fallback !== undefined) stage.fallback = event.fallback;
        const group = this.#groupOf(stage.name);
        if (group && group.startedAt === undefined) group.startedAt = event.ts;
        return stage;
      }
      case 'stage_retrying': {
        const stage = this.#stage(event.stage);
        stage.attempt = event.attempt;
        stage.retryAt = event.ts + event.delayMs;
        stage.error = event.error;
        setExitCode(stage, event.exitCode);
        return stage;
      }
      case 'stage_fallback': {
        const stage = this.#stage(event.stage);
        stage.fallback = event.fallback;
        stage.error = event.error;
        setExitCode(stage, event.exitCode);
        return stage;
      }
      case 'stage_finished': {
        const stage = this.#stage(event.stage);
        if (!isTerminalStatus(stage.status)) {
          this.#finished.push(stage);
          const group = this.#groupOf(stage.name);
          if (group) {
            group.done++;
            if (event.reused) group.doneBefore++;
          }
        }
        this.#setStatus(stage, event.status);
        delete stage.sample;
        stage.attempt = event.attempt;
        stage.endedAt = event.ts;
        delete stage.retryAt;
        if (event.error) stage.error = event.error;
        setExitCode(stage, event.exitCode);
        if (event.fallback !== undefined) stage.fallback = event.fallback;
        return stage;
      }
    }
  }

  /** The monitor's latest figures of a running stage. */
  applySample(sample: StageSample): void {
    const stage = this.#stages.get(sample.stage);
    if (stage?.status === 'running') {
      stage.sample = { cpuPercent: sample.cpuPercent, rssMb: sample.rssMb };
    }
  }

  /** Fan-outs of at least two items, in the order they were first announced or seen. */
  groups(): StageGroup[] {
    return [...this.#groups.values()].filter((group) => group.total >= 2);
  }

  /** The fan-out a stage is an item of (`resize` of `resize[3]`), if any. */
  groupOf(name: string): StageGroup | undefined {
    return this.#groupOf(name);
  }

  stage(name: string): StageProgress | undefined {
    return this.#stages.get(name);
  }

  /** Stages running or waiting for their next attempt, longest-running first. */
  running(): StageProgress[] {
    return [...this.#running].sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
  }

  /** The last `count` stages to end, most recent last. */
  recentlyFinished(count: number): StageProgress[] {
    return this.#finished.slice(-count);
  }

  /** How many stages are in each status; stages no event has named yet count as pending. */
  counts(): Record<StageStatus, number> {
    const counts = { ...this.#counts };
    counts.pending += Math.max(0, this.total - this.#stages.size);
    return counts;
  }

  #stage(name: string): StageProgress {
    let stage = this.#stages.get(name);
    if (!stage) {
      stage = { name, status: 'pending', attempt: 0 };
      this.#stages.set(name, stage);
      this.#counts.pending++;
      const prefix = groupPrefix(name);
      // Fan-out instances (`resize[3]`) are stages that `run_started` could not count: they
      // count once `stage_mapped` announces them, or else as they are seen.
      if (prefix !== undefined) {
        const group = this.#group(prefix);
        group.seen++;
        if (group.seen > group.total) {
          group.total = group.seen;
          this.total++;
        }
      }
      if (this.#stages.size > this.total) this.total = this.#stages.size;
    }
    return stage;
  }

  #group(prefix: string): GroupCount {
    let group = this.#groups.get(prefix);
    if (!group) {
      group = { prefix, total: 0, done: 0, doneBefore: 0, seen: 0, announced: 0 };
      this.#groups.set(prefix, group);
    }
    return group;
  }

  #groupOf(name: string): StageGroup | undefined {
    const prefix = groupPrefix(name);
    return prefix === undefined ? undefined : this.#groups.get(prefix);
  }

  #setStatus(stage: StageProgress, status: StageStatus): void {
    this.#counts[stage.status]--;
    this.#counts[status]++;
    stage.status = status;
    if (status === 'running') this.#running.add(stage);
    else this.#running.delete(stage);
  }
}

/** What a group knows beyond what it shows. */
interface GroupCount extends StageGroup {
  /** Members named by an event so far. */
  seen: number;
  /** Items `stage_mapped` announced so far. */
  announced: number;
}

/** `train` of `train[3]` and of `train[3][1]`; undefined for a name without an index. */
export function groupPrefix(name: string): string | undefined {
  if (!name.endsWith(']')) return undefined;
  const open = name.indexOf('[');
  return open > 0 ? name.slice(0, open) : undefined;
}

function setExitCode(stage: StageProgress, exitCode: number | undefined): void {
  if (exitCode === undefined) delete stage.exitCode;
  else stage.exitCode = exitCode;
}
