const units: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Milliseconds from a number of seconds or a duration string: `90`, `"90s"`, `"1.5m"`,
 * `"2h"`, `"250ms"`, `"1h30m"`. Undefined when the text is not a duration.
 */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g);
  let total = 0;
  let consumed = '';
  for (const [whole, amount, unit] of parts) {
    total += Number(amount) * units[unit!]!;
    consumed += whole.replace(/\s+/g, '');
  }
  return consumed.length > 0 && consumed === text.replace(/\s+/g, '') ? total : undefined;
}
