/**
 * Memory quantities in every format the pipeline files accept: a bare number (in a unit the
 * caller names: MB for YAML and the TypeScript API), or a string such as "512MB", "4GB",
 * "1.5GiB", "2g". Units are powers of 1024 whether or not they carry the "i", as in Docker,
 * Slurm and the JVM: "4GB" is 4096 MB.
 */

const unitMb: Readonly<Record<string, number>> = {
  b: 1 / (1024 * 1024),
  k: 1 / 1024,
  m: 1,
  g: 1024,
  t: 1024 * 1024,
};

export type MemoryUnit = 'MB' | 'GB';

/** What a memory quantity may look like, for error messages. */
export const memoryQuantityText = 'megabytes, or a size like "512MB", "4GB" or "1.5GiB"';

/**
 * Megabytes (MiB) from a memory quantity; undefined when it is not one (negative, not finite,
 * an unknown unit). `bareUnit` is the unit of a number without one.
 * @example parseMemoryMb('1.5GiB') // 1536
 */
export function parseMemoryMb(
  value: number | string,
  bareUnit: MemoryUnit = 'MB',
): number | undefined {
  const bare = bareUnit === 'GB' ? 1024 : 1;
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? value * bare : undefined;
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgt])(i?b)?|(b))?\s*$/i.exec(value);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] ?? match[4];
  return unit === undefined ? amount * bare : amount * unitMb[unit.toLowerCase()]!;
}
