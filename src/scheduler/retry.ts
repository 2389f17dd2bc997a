import type { SerializedError } from '../errors.ts';
import type { RetryPolicy } from '../graph/pipeline.ts';

/**
 * Whether a failed attempt should be tried again. `retryOn` matches the error's code or name,
 * or the command's exit code; without it every retryable error is retried.
 */
export function shouldRetry(
  policy: RetryPolicy | undefined,
  attempt: number,
  error: SerializedError,
  exitCode: number | undefined,
): boolean {
  if (!policy || attempt >= policy.maxAttempts || !error.retryable) return false;
  if (!policy.retryOn) return true;
  return policy.retryOn.some((want) =>
    typeof want === 'number' ? want === exitCode : want === error.code || want === error.name,
  );
}

/**
 * The delay before attempt `attempt + 1`: `delay` (fixed) or `delay · 2^(attempt-1)` capped at
 * `maxDelay` (exponential), spread by ±`jitter` with `random` in [0, 1).
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const base =
    policy.backoff === 'fixed'
      ? policy.delayMs
      : Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (attempt - 1));
  const spread = policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * (1 + spread)));
}
