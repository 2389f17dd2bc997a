import type { RunEvent } from '../scheduler/events.ts';
import type { Palette } from './colors.ts';
import { errorHeadline, formatClockTime, formatDuration, plural } from './format-text.ts';
import { progressFigures } from './progress-bar.ts';
import type { StageGroup, StageProgress } from './progress-state.ts';

/** Options of the plain renderer. */
export interface PlainLineOptions {
  palette: Palette;
  /** @default local `HH:MM:SS` */
  clockTime?: (ts: number) => string;
  /** The fan-out of the stage the event is about, after the event: its progress is shown. */
  group?: StageGroup;
}

/**
 * The one line a transition prints when the output is not a terminal (a pipe, a CI log), or
 * undefined for an event that prints none. `stage` is the stage's state after the event,
 * whose `startedAt` gives a finished stage its duration.
 * @example `12:01:03 ✓ clean (1.2s)` · `12:01:04 ✗ train failed (exit 3): …`
 */
export function formatPlainLine(
  event: RunEvent,
  stage: StageProgress | undefined,
  options: PlainLineOptions,
): string | undefined {
  const { palette } = options;
  const time = palette.dim((options.clockTime ?? formatClockTime)(event.ts));
  switch (event.event) {
    case 'run_started': {
      const resumed = event.resumed ? 'resumed' : undefined;
      const reused = event.reused ? `${event.reused} already done` : undefined;
      return `${time} ${palette.bold(`run ${event.runId}`)}: pipeline '${event.pipeline}', ${plural(event.stages, 'stage')}${details([resumed, reused])}`;
    }
    case 'run_finished':
      return undefined; // the summary follows
    case 'stage_mapped':
      return `${time} ${palette.cyan('⋯')} ${event.stage} mapped over ${event.over}: ${plural(event.items, 'item')}`;
    case 'stage_started': {
      const attempt = event.attempt > 1 ? `attempt ${event.attempt}` : undefined;
      const fallback = event.fallback === undefined ? undefined : `fallback ${event.fallback}`;
      return `${time} ${palette.cyan('▸')} ${event.stage} started${details([attempt, fallback])}`;
    }
    case 'stage_retrying':
      return `${time} ${palette.yellow('↻')} ${event.stage} retry ${event.attempt + 1} in ${formatDuration(event.delayMs)}: ${failure(event)}`;
    case 'stage_fallback':
      return `${time} ${palette.yellow('⤷')} ${event.stage} failed, running its fallback ${event.fallback}: ${failure(event)}`;
    case 'stage_finished': {
      if (event.reused) return undefined; // counted in the run_started line
      const took =
        stage?.startedAt === undefined ? undefined : formatDuration(event.ts - stage.startedAt);
      const via = event.fallback === undefined ? '' : ` via fallback ${event.fallback}`;
      const progress = options.group ? fanOutProgress(options.group, event.ts, palette) : '';
      switch (event.status) {
        case 'succeeded':
        case 'cached':
          return `${time} ${palette.green('✓')} ${event.stage}${event.status === 'cached' ? ' cached' : ''}${via}${details([took])}${progress}`;
        case 'failed':
          return `${time} ${palette.red('✗')} ${event.stage} failed${details([exitOf(event), took])}${progress}: ${failure(event)}`;
        default:
          return `${time} ${palette.dim('⊘')} ${event.stage} ${event.status}${progress}`;
      }
    }
  }
}

/** ` · resize[…] 37/100 · 12/s · ETA 5.2s`: where a fan-out stands once one of its items ended. */
function fanOutProgress(group: StageGroup, now: number, palette: Palette): string {
  const figures = progressFigures({ ...group, startedAt: group.startedAt, now });
  return palette.dim(` · ${group.prefix}[…] ${figures}`);
}

function failure(event: { error?: { message: string } }): string {
  return errorHeadline(event.error?.message ?? '');
}

/** How a stage ended, when that says more than "failed": `timeout`, `exit 3`. */
export function exitOf(event: { exitCode?: number; error?: { code: string } }): string | undefined {
  if (event.error?.code === 'TIMEOUT' || event.error?.code === 'CANCELLED')
    return event.error.code.toLowerCase();
  return event.exitCode === undefined ? undefined : `exit ${event.exitCode}`;
}

function details(parts: readonly (string | undefined)[]): string {
  const present = parts.filter((part) => part !== undefined);
  return present.length === 0 ? '' : ` (${present.join(', ')})`;
}
