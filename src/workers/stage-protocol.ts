/**
 * The messages between the orchestrator and a thread or process worker that runs module
 * stages: one StageTask in, one StageResult out, one stage at a time per worker.
 */
import type { StageResult, StageTask } from '../executors/executor.ts';

export interface RunStageMessage {
  type: 'run';
  task: StageTask;
  maxNestedDepth: number;
  /**
   * The run's secret values, which the worker masks in what it writes and returns, as the
   * orchestrator does; absent when the run has none, so that such a run sends no more.
   */
  secrets?: readonly string[];
}

export interface StageDoneMessage {
  type: 'done';
  result: StageResult;
}

/** The worker's side of a channel: a thread's parentPort or a child process's IPC. */
export interface HostChannel {
  post(message: StageDoneMessage): void;
  onMessage(listener: (message: RunStageMessage) => void): void;
}
