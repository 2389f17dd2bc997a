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

/** Whether an error code is an environment error: `ENV_…`, or one of environmentErrnos. */
export function isEnvironmentError(code: string): boolean {
  return code.startsWith('ENV_') || environmentErrnos.has(code);
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
