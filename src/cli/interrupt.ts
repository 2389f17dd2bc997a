import { ExitCode, PipelineError } from '../errors.ts';
import type { Executor } from '../executors/executor.ts';

export interface InterruptOptions {
  /** Aborted at the first signal: the engine cancels the run. */
  controller: AbortController;
  /** Killed at the second signal. */
  executors: Iterable<Executor>;
  /** Tells the user what happens (a line on stderr). */
  notice: (message: string) => void;
  /** Runs just before a forced exit: restore the terminal. */
  beforeExit: () => void;
  /** @default process.exit */
  exit?: (code: number) => void;
  /** @default process */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

const handledSignals = ['SIGINT', 'SIGTERM'] as const;

/**
 * Ctrl-C (SIGINT) or SIGTERM, once: stop the run gracefully — nothing new starts, running
 * stages are ended, the run is recorded as cancelled (SPEC B7). Twice: kill every stage's
 * process at once and exit 130. Returns a function that removes the handlers.
 */
export function handleInterrupts(options: InterruptOptions): () => void {
  const signals = options.signals ?? process;
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      options.notice(
        `stopping (${signal}): no new stages start and running ones are being ended; press Ctrl-C again to kill them at once`,
      );
      options.controller.abort(new PipelineError('CANCELLED', `interrupted by ${signal}`));
      return;
    }
    options.notice('killing running stages');
    for (const executor of new Set(options.executors)) executor.killAll?.();
    options.beforeExit();
    (options.exit ?? ((code: number) => process.exit(code)))(ExitCode.interrupted);
  };
  for (const signal of handledSignals) signals.on(signal, onSignal);
  return () => {
    for (const signal of handledSignals) signals.off(signal, onSignal);
  };
}
