/**
 * The resource monitor's sampling interval as YAML (`execution.monitor_interval`) and TOML
 * (`[pipeline] monitor_interval`) write it: one schema, one message, one parser.
 */
import * as z from 'zod';
import { parseDuration } from './duration.ts';

const monitorIntervalText =
  'must be false or 0 (off), or an interval of at least 10ms: seconds or a duration like "500ms", "1s" or "5s"';

/**
 * `monitor_interval` in milliseconds: false and 0 turn the monitor off, true is the default
 * second. Undefined when it is no interval or under 10 ms (sampling /proc that often would cost
 * more than the stages).
 */
export function parseMonitorInterval(value: boolean | number | string): number | undefined {
  if (typeof value === 'boolean') return value ? 1000 : 0;
  const ms = parseDuration(value);
  if (ms === undefined || (ms > 0 && ms < 10)) return undefined;
  return ms;
}

/** The key's schema, described for `gpipe schema` (`what` names what is sampled). */
export function monitorIntervalSchema(what: string) {
  return z
    .union([z.boolean(), z.number(), z.string()], { error: monitorIntervalText })
    .refine((value) => parseMonitorInterval(value) !== undefined, { error: monitorIntervalText })
    .optional()
    .describe(
      `Time between two resource samples of a running ${what} (seconds or a duration like "500ms"); 0 or false turns the monitor off. Default: 1s.`,
    );
}
