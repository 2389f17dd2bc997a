/**
 * An executor whose results carry no secret: a failed stage's error message and stack (which
 * may quote the secret it failed with) are masked before the engine, the run store, the
 * events and the terminal see them. The stage itself ran with the real values.
 */
import type { Executor, StageResult } from '../executors/executor.ts';
import type { Redactor } from './redactor.ts';

export function redactingExecutor(executor: Executor, redactor: Redactor): Executor {
  return {
    execute: async (task, signal) => redactResult(await executor.execute(task, signal), redactor),
    ...(executor.killAll && { killAll: () => executor.killAll!() }),
    ...(executor.close && { close: () => executor.close!() }),
  };
}

/** `result` with its error's message and stack masked (a worker masks its own results too). */
export function redactResult(result: StageResult, redactor: Redactor): StageResult {
  if (result.error === undefined) return result;
  const error = { ...result.error, message: redactor.redact(result.error.message) };
  if (error.stack !== undefined) error.stack = redactor.redact(error.stack);
  return { ...result, error };
}
