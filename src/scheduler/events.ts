import type { SerializedError } from '../errors.ts';
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
    }
  | { event: 'stage_started'; stage: string; attempt: number; ts: number; fallback?: string }
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
    }
  | {
      event: 'stage_retrying';
      stage: string;
      attempt: number;
      delayMs: number;
      ts: number;
      exitCode?: number;
      error: SerializedError;
    }
  | {
      event: 'run_finished';
      runId: string;
      status: RunStatus;
      stages: Record<string, StageStatus>;
      ts: number;
    };
