import type { SerializedError } from '../errors.ts';
import type { StageResult } from '../executors/executor.ts';
import type { RunStatus, StageStatus } from '../graph/pipeline.ts';

/** What a run reports as it goes: the `--json` stream, the progress view, later the run store. */
export type RunEvent =
  | {
      event: 'run_started';
      runId: string;
      pipeline: string;
      stages: number;
      /** Where the run's files go: `{stage}/stage.log`, `{stage}/artifacts/`. */
      runDir: string;
      ts: number;
      /** Set when this goes on with an earlier run of the same id. */
      resumed?: boolean;
      /** Stages finished before the run started (resumed, or reused from earlier runs). */
      reused?: number;
    }
  | { event: 'stage_started'; stage: string; attempt: number; ts: number; fallback?: string }
  | {
      /**
       * Mapped stage `stage` gets `items` instances more: the list it maps over became known
       * (for a nested fan-out, one inner list). Said before any of those instances starts, so
       * that views know a fan-out's size from the start.
       */
      event: 'stage_mapped';
      stage: string;
      /** The stage or instance whose output list is mapped (`list`, `words[3]`). */
      over: string;
      items: number;
      ts: number;
    }
  | {
      event: 'stage_finished';
      stage: string;
      attempt: number;
      status: StageStatus;
      ts: number;
      exitCode?: number;
      error?: SerializedError;
      /** Set when a fallback ran in this stage's place. */
      fallback?: string;
      /** The stage was finished before the run started: nothing ran now. */
      reused?: true;
      /** The executor kind of what ran (the stage's, or its fallback's). */
      executor?: string;
      /** The attempt's own result, when one ran: outputs and timings for the run store. */
      result?: StageResult;
    }
  | {
      /** The stage failed all its attempts; its fallback runs next, in its place. */
      event: 'stage_fallback';
      stage: string;
      attempt: number;
      fallback: string;
      ts: number;
      exitCode?: number;
      error: SerializedError;
      executor?: string;
      /** The failed attempt's own result. */
      result?: StageResult;
    }
  | {
      event: 'stage_retrying';
      stage: string;
      attempt: number;
      delayMs: number;
      ts: number;
      exitCode?: number;
      error: SerializedError;
      executor?: string;
      /** The failed attempt's own result. */
      result?: StageResult;
    }
  | {
      event: 'run_finished';
      runId: string;
      status: RunStatus;
      stages: Record<string, StageStatus>;
      ts: number;
    };
