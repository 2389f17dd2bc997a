import type { Palette } from './colors.ts';
import { errorHeadline, fitWidth, formatDuration } from './format-text.ts';
import { exitOf } from './progress-plain.ts';
import type { ProgressState, StageProgress } from './progress-state.ts';

export interface LiveFrameOptions {
  palette: Palette;
  /** Terminal columns; lines are cut to fit so that a redraw knows its height. */
  width: number;
  /** @default 8 */
  maxRunning?: number;
  /** @default 3 */
  recent?: number;
}

const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * The lines of the live view at time `now`: a header with the counts and elapsed time, the
 * running stages with their elapsed time, and the last stages to finish.
 * @example
 * ⠹ example 12.3s  3/8 done · 2 running · 1 failed · 2 pending
 *   ▸ train  4.1s
 *   ✓ clean  1.2s
 */
export function renderLiveFrame(
  state: ProgressState,
  now: number,
  options: LiveFrameOptions,
): string[] {
  const { palette, width } = options;
  const maxRunning = options.maxRunning ?? 8;
  const counts = state.counts();
  const done = counts.succeeded + counts.cached + counts.skipped;
  const parts = [
    `${done}/${state.total} done`,
    palette.cyan(`${counts.running} running`),
    counts.failed > 0 ? palette.red(`${counts.failed} failed`) : `${counts.failed} failed`,
    `${counts.pending} pending`,
  ];
  if (counts.upstream_failed > 0) parts.push(`${counts.upstream_failed} upstream_failed`);
  if (counts.cancelled > 0) parts.push(`${counts.cancelled} cancelled`);
  const elapsed = state.startedAt === undefined ? 0 : now - state.startedAt;
  const icon = palette.cyan(spinner[Math.floor(elapsed / 100) % spinner.length]!);
  const lines = [
    `${icon} ${palette.bold(state.pipeline)} ${formatDuration(elapsed)}  ${parts.join(' · ')}`,
  ];

  const running = state.running();
  const shown = running.slice(0, maxRunning);
  const recent = state.recentlyFinished(options.recent ?? 3);
  let nameWidth = 0;
  for (const stage of [...shown, ...recent])
    nameWidth = Math.min(24, Math.max(nameWidth, stage.name.length));
  for (const stage of shown) lines.push(`  ${runningLine(stage, now, nameWidth, palette)}`);
  if (running.length > maxRunning)
    lines.push(palette.dim(`  … and ${running.length - maxRunning} more running`));
  for (const stage of recent) lines.push(`  ${finishedLine(stage, nameWidth, palette)}`);
  return lines.map((line) => fitWidth(line, width));
}

function runningLine(
  stage: StageProgress,
  now: number,
  nameWidth: number,
  palette: Palette,
): string {
  const name = stage.name.padEnd(nameWidth);
  if (stage.retryAt !== undefined) {
    const wait = formatDuration(Math.max(0, stage.retryAt - now));
    return `${palette.yellow('↻')} ${name}  ${palette.dim(`retry ${stage.attempt + 1} in ${wait}`)}`;
  }
  const since = stage.startedAt === undefined ? 0 : now - stage.startedAt;
  const notes = [
    stage.attempt > 1 ? `attempt ${stage.attempt}` : '',
    stage.fallback ? `fallback ${stage.fallback}` : '',
  ]
    .filter((note) => note.length > 0)
    .join(', ');
  return `${palette.cyan('▸')} ${name}  ${formatDuration(since)}${notes ? palette.dim(`  ${notes}`) : ''}`;
}

function finishedLine(stage: StageProgress, nameWidth: number, palette: Palette): string {
  const name = stage.name.padEnd(nameWidth);
  const took =
    stage.startedAt !== undefined && stage.endedAt !== undefined
      ? formatDuration(stage.endedAt - stage.startedAt)
      : '';
  switch (stage.status) {
    case 'succeeded':
    case 'cached':
      return `${palette.green('✓')} ${name}  ${took}${stage.status === 'cached' ? ' cached' : ''}`;
    case 'failed': {
      const how = exitOf(stage);
      const headline = errorHeadline(stage.error?.message ?? '');
      return `${palette.red('✗')} ${name}  ${palette.red(`failed${how ? ` (${how})` : ''}`)}: ${headline}`;
    }
    default:
      return `${palette.dim('⊘')} ${name}  ${palette.dim(stage.status)}`;
  }
}
