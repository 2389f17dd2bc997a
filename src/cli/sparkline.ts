const bars = '▁▂▃▄▅▆▇█';

/**
 * A terminal sparkline of a series, at most `width` characters: longer series are averaged
 * into buckets. A flat series is drawn at the bottom.
 */
export function sparkline(values: readonly number[], width = 40): string {
  if (values.length === 0) return '';
  const buckets = Math.min(width, values.length);
  const points: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * values.length) / buckets);
    const to = Math.floor(((b + 1) * values.length) / buckets);
    let sum = 0;
    for (let i = from; i < to; i++) sum += values[i]!;
    points.push(sum / (to - from));
  }
  const low = Math.min(...points);
  const span = Math.max(...points) - low;
  return points
    .map((p) => bars[span === 0 ? 0 : Math.round(((p - low) / span) * (bars.length - 1))])
    .join('');
}
