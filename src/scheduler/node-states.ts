import { isTerminalStatus, type StageStatus, stageStatuses } from '../graph/pipeline.ts';

/** The scheduler's node states, one byte each; every code from FIRST_TERMINAL on is final. */
export const PENDING = 0;
export const READY = 1;
export const RUNNING = 2;
/** Between two attempts: holds no resources, not yet terminal. */
export const WAITING = 3;
/** A mapped stage whose instances have begun: holds nothing itself, not yet terminal. */
export const MAPPING = 4;
export const SUCCEEDED = 5;
export const FAILED = 6;
export const SKIPPED = 7;
export const UPSTREAM_FAILED = 8;
export const CANCELLED = 9;
export const CACHED = 10;
export const FIRST_TERMINAL = SUCCEEDED;

/** By code: PENDING and READY are pending; RUNNING, WAITING and MAPPING running; then the terminal ones in stageStatuses' order. */
export const statusNames: readonly StageStatus[] = [
  'pending',
  'pending',
  'running',
  'running',
  'running',
  ...stageStatuses.filter(isTerminalStatus),
];
export const terminalCodes: Readonly<Record<TerminalStatus, number>> = {
  succeeded: SUCCEEDED,
  failed: FAILED,
  skipped: SKIPPED,
  upstream_failed: UPSTREAM_FAILED,
  cancelled: CANCELLED,
  cached: CACHED,
};

export type TerminalStatus = Exclude<StageStatus, 'pending' | 'running'>;

/** Which end of an instance or input decides a mapped stage's own: a failure above all. */
export function severity(code: number): number {
  return code === FAILED ? 3 : code === CANCELLED ? 2 : code === UPSTREAM_FAILED ? 1 : 0;
}

export function isSuccess(code: number): boolean {
  return code === SUCCEEDED || code === CACHED;
}
