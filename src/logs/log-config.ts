/**
 * The pipeline log's settings (`[pipeline.log_config]` of a TOML pipeline, as the seed writes
 * them, loguru-style): `level`, `rotation = "10 GB"` (a size; or a time such as "1 day"),
 * `retention = 30` (days; or "30 days", or "10 files" for a count).
 */
import { parseDuration } from '../config/duration.ts';

export const logLevels = [
  'TRACE',
  'DEBUG',
  'INFO',
  'SUCCESS',
  'WARNING',
  'ERROR',
  'CRITICAL',
] as const;
export type LogLevel = (typeof logLevels)[number];

export type Rotation = { bytes: number } | { ms: number };
export type Retention = { days: number } | { files: number };

export const rotationText = 'a size such as "10 GB" or "500 MB", or a time such as "1 day"';
export const retentionText = 'a number of days (30, "30 days") or of files ("10 files")';

const sizeUnits: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

const timeUnits: Readonly<Record<string, number>> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/** A number alone is bytes (loguru's reading); undefined when the value is neither form. */
export function parseRotation(value: string | number): Rotation | undefined {
  if (typeof value === 'number') return value > 0 ? { bytes: value } : undefined;
  const size = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)\s*$/i.exec(value);
  if (size) {
    const bytes = Number(size[1]) * sizeUnits[size[2]!.toLowerCase()]!;
    return bytes > 0 ? { bytes } : undefined;
  }
  const ms = parseTime(value);
  return ms !== undefined && ms > 0 ? { ms } : undefined;
}

/** A number alone is days (the seed's `retention = 30`). */
export function parseRetention(value: string | number): Retention | undefined {
  if (typeof value === 'number') return value >= 0 ? { days: value } : undefined;
  const files = /^\s*(\d+)\s*files?\s*$/i.exec(value);
  if (files) return { files: Number(files[1]) };
  const ms = parseTime(value);
  return ms !== undefined ? { days: ms / timeUnits.day! } : undefined;
}

/** "1 day", "2 weeks", "12 hours", or a short duration ("12h", "30m"). */
function parseTime(text: string): number | undefined {
  const long = /^\s*(\d+(?:\.\d+)?)\s*(second|minute|hour|day|week)s?\s*$/i.exec(text);
  if (long) return Number(long[1]) * timeUnits[long[2]!.toLowerCase()]!;
  return parseDuration(text);
}
