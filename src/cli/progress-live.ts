import type { Palette } from './colors.ts';
import { errorHeadline, fitWidth, formatDuration } from './format-text.ts';
import { progressBar } from './progress-bar.ts';
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
  /** A run of this many stages or more gets a progress bar with rate and ETA. @default 20 */
  barFrom?: number;
  /** @default 3 */
  maxGroups?: number;
}

const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * The lines of the live view at time `now`: a header with the counts and elapsed time, a
 * progress bar with rate and ETA for a long run and for each fan-out (`name[i]` stages), the
 * running stages with their elapsed time (and CPU / RSS when the monitor reports them), and the
 * last stages to finish.
 * @example
 * ⠹ example 12.3s  3/8 done · 2 running · 1 failed · 2 pending
 *   ▸ train  4.1s  cpu 97% · rss 312 MB
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
  const terminal = state.total - counts.pending - counts.running;
  if (state.total >= (options.barFrom ?? 20)) {
    const bar = progressBar({
      done: terminal,
      total: state.total,
      doneBefore: state.reused,
      startedAt: state.startedAt,
      now,
    });
    lines.push(`  ${bar}`);
  }
  // Fan-outs, `name[…]`: a bar each over the items announced, those still going first.
  const groups = state.groups();
  const going = groups.filter((group) => group.done < group.total);
  const shownGroups = [...going, ...groups.filter((group) => group.done >= group.total)];
  for (const group of shownGroups.slice(0, options.maxGroups ?? 3)) {
    const bar = progressBar({
      done: group.done,
      total: group.total,
      doneBefore: group.doneBefore,
      startedAt: group.startedAt,
      now,
      cells: 10,
    });
    lines.push(`  ${palette.dim(`${group.prefix}[…]`)} ${bar}`);
  }

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
  const sample = stage.sample
    ? palette.dim(
        `  cpu ${Math.round(stage.sample.cpuPercent)}% · rss ${formatRss(stage.sample.rssMb)}`,
      )
    : '';
  return `${palette.cyan('▸')} ${name}  ${formatDuration(since)}${sample}${notes ? palette.dim(`  ${notes}`) : ''}`;
}

function formatRss(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${Math.round(mb)} MB`;
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
