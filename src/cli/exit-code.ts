import { ExitCode, resourceErrorCodes } from '../errors.ts';
import type { RunResult } from '../scheduler/engine.ts';

/**
 * System error codes that mean the machine refused (permissions, a full or read-only disk, no
 * file descriptors left) rather than that a stage or its configuration is wrong.
 */
export const environmentErrnos: ReadonlySet<string> = new Set([
  'EACCES',
  'EPERM',
  'ENOSPC',
  'EROFS',
  'EDQUOT',
  'EMFILE',
  'ENFILE',
]);

/**
 * SQLite's codes for the same: a file it may not open or write (a read-only state.db, -wal or
 * -shm, or their folder), a full disk, a failing one.
 */
const environmentSqliteCodes = /^SQLITE_(READONLY|CANTOPEN|PERM|FULL|IOERR)/;

/**
 * Whether an error code is an environment error: `ENV_…`, one of environmentErrnos, or of
 * environmentSqliteCodes.
 */
export function isEnvironmentError(code: string): boolean {
  return (
    code.startsWith('ENV_') || environmentErrnos.has(code) || environmentSqliteCodes.test(code)
  );
}

/** Codes of the run store failing, whatever the reason: their `cause` says which it was. */
const storeFailureCodes: ReadonlySet<string> = new Set(['STORE_FAILED', 'STORE_WRITER']);

/**
 * Whether an error is an environment error by its code (isEnvironmentError) or, for a run
 * store's failure (storeFailureCodes), by its cause's: the machine refused the store.
 */
export function isEnvironmentFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return false;
  if (isEnvironmentError(code)) return true;
  return storeFailureCodes.has(code) && isEnvironmentFailure((error as Error).cause);
}

/**
 * The exit code a finished run leaves: 0 succeeded, 130 cancelled; for a failed run 5 when a
 * stage failed for its environment (isEnvironmentError), else 4 when one ran out of a resource
 * (TIMEOUT, MEMORY_LIMIT), else 3.
 */
export function exitCodeOfRun(result: RunResult): number {
  if (result.status === 'succeeded') return ExitCode.ok;
  if (result.status === 'cancelled') return ExitCode.interrupted;
  const codes = Object.values(result.stages)
    .filter((outcome) => outcome.status === 'failed')
    .map((outcome) => outcome.error?.code ?? '');
  if (codes.some(isEnvironmentError)) return ExitCode.environment;
  if (codes.some((code) => resourceErrorCodes.has(code))) return ExitCode.resource;
  return ExitCode.stageFailed;
}
