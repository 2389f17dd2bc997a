/**
 * The table `gpipe run` prints at its end (SPEC E1, issue 6): each stage's status, duration,
 * peak RSS, CPU-seconds and cache use, the longest ones first, and the run's critical path.
 * Pure.
 */
import type { RunReport, StageTiming } from '../durable/stage-timeline.ts';
import { formatMemoryMb } from '../graph/resources.ts';
import type { ResourceSummary } from '../monitor/resource-sample.ts';
import type { Palette } from './colors.ts';
import { formatDuration, plural } from './format-text.ts';
import { formatTable } from './workspace-store.ts';

export interface StageTableOptions {
  palette: Palette;
  /** Stages shown, the longest first; the rest are counted. @default 15 */
  top?: number;
  /** Stages of the critical path named before the middle is elided. @default 8 */
  pathStages?: number;
}

export function renderStageTable(report: RunReport, options: StageTableOptions): string[] {
  const { palette } = options;
  const top = options.top ?? 15;
  const ran = report.stages
    .map((timing, order) => ({ timing, order }))
    .sort((a, b) => (b.timing.durationMs ?? -1) - (a.timing.durationMs ?? -1) || a.order - b.order);
  const shown = ran.slice(0, top).map(({ timing }) => row(timing));
  const lines = formatTable(['STAGE', 'STATUS', 'DURATION', 'PEAK RSS', 'CPU-S', 'CACHE'], shown);
  lines[0] = palette.dim(lines[0]!);
  const hidden = ran.length - shown.length;
  if (hidden > 0) lines.push(palette.dim(`… ${plural(hidden, 'more stage')} (shorter)`));
  const path = report.criticalPath;
  if (path.stages.length > 0) {
    const most = options.pathStages ?? 8;
    const names =
      path.stages.length <= most
        ? path.stages
        : [
            ...path.stages.slice(0, most / 2),
            `… ${path.stages.length - most} more …`,
            ...path.stages.slice(-most / 2),
          ];
    lines.push(
      `critical path: ${formatDuration(path.ms)} over ${plural(path.stages.length, 'stage')}: ${names.join(' → ')}`,
    );
  }
  return lines;
}

function row(timing: StageTiming): string[] {
  const resources = timing.resources;
  return [
    timing.stage,
    timing.status,
    timing.durationMs === undefined ? '-' : formatDuration(timing.durationMs),
    resources ? formatBytes(resources.peakRssBytes) : '-',
    resources ? formatCpuSeconds(resources.cpuSeconds) : '-',
    timing.cached ? 'hit' : timing.reused ? 'reuse' : '-',
  ];
}

export function formatBytes(bytes: number): string {
  return formatMemoryMb(bytes / (1024 * 1024));
}

export function formatCpuSeconds(seconds: number): string {
  return seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1);
}

/** One line of a stage's figures: what `status` and `show` print. */
export function describeResources(resources: ResourceSummary): string {
  const parts = [
    `peak RSS ${formatBytes(resources.peakRssBytes)}`,
    `CPU ${formatCpuSeconds(resources.cpuSeconds)}s (avg ${resources.avgCpuPercent}%)`,
    `read ${formatBytes(resources.readBytes)}`,
    `written ${formatBytes(resources.writeBytes)}`,
  ];
  if (resources.peakGpuMemoryMb !== undefined)
    parts.push(`peak GPU memory ${formatMemoryMb(resources.peakGpuMemoryMb)}`);
  return parts.join(', ');
}
