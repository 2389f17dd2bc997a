import { formatDuration } from './format-text.ts';

/**
 * A progress bar with its rate and an estimate of the time left, from the stages done since
 * `startedAt` (the rate counts only work done in this run).
 * @example `[██████░░░░░░░░░░░░░░] 30% 300/1000 · 24.1/s · ETA 29.0s`
 */
export function progressBar(options: {
  done: number;
  total: number;
  /** Done before the run started: counted in the bar, not in the rate. */
  doneBefore?: number;
  startedAt: number | undefined;
  now: number;
  /** Cells of the bar. @default 20 */
  cells?: number;
}): string {
  const { done, total } = options;
  const cells = options.cells ?? 20;
  const fraction = total === 0 ? 1 : Math.min(1, done / total);
  const full = Math.round(fraction * cells);
  const bar = `[${'█'.repeat(full)}${'░'.repeat(cells - full)}]`;
  return `${bar} ${Math.floor(fraction * 100)}% ${progressFigures(options)}`;
}

/**
 * The figures of a progress bar without the bar: done of total, the rate of this run and the
 * time left, as plain lines show a fan-out's progress.
 * @example `300/1000 · 24.1/s · ETA 29.0s`
 */
export function progressFigures(options: {
  done: number;
  total: number;
  doneBefore?: number;
  startedAt: number | undefined;
  now: number;
}): string {
  const { done, total, now } = options;
  const parts = [`${done}/${total}`];
  const seconds = options.startedAt === undefined ? 0 : (now - options.startedAt) / 1000;
  const doneNow = done - (options.doneBefore ?? 0);
  if (seconds > 0 && doneNow > 0) {
    const rate = doneNow / seconds;
    parts.push(`${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)}/s`);
    if (done < total) parts.push(`ETA ${formatDuration(((total - done) / rate) * 1000)}`);
  }
  return parts.join(' · ');
}
