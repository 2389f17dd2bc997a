import { isAbsolute, join, relative, sep } from 'node:path';
import { stageStatuses } from '../graph/pipeline.ts';
import type { RunResult } from '../scheduler/engine.ts';
import type { Palette } from './colors.ts';
import { formatDuration } from './format-text.ts';
import { exitOf } from './progress-plain.ts';

export interface SummaryOptions {
  palette: Palette;
  /** Wall time of the run in milliseconds. */
  wallMs: number;
  /** Paths under this directory are shown relative to it. */
  cwd: string;
  /** Lines of a failed stage's error message to show. @default 6 */
  errorLines?: number;
  /** Whether a file exists: a failed stage's log is named only when it does. */
  exists?: (path: string) => boolean;
}

/**
 * The few lines printed when a run ends, in every human mode: run id, status, counts, wall
 * time, each failed stage with the start of its error, and where the logs are.
 * @example
 * ✗ run 20261122_101500_ab12cd failed after 3.2s: 2 succeeded, 1 failed, 1 upstream_failed
 *   ✗ train (exit 3): command exited with code 3; last output:
 *       ValueError: bad input
 *     log: .gpipe/runs/20261122_101500_ab12cd/train/stage.log
 * logs: .gpipe/runs/20261122_101500_ab12cd/{stage}/stage.log
 */
export function renderSummary(result: RunResult, options: SummaryOptions): string[] {
  const { palette } = options;
  const outcomes = Object.entries(result.stages);
  const counts = stageStatuses
    .map(
      (status) =>
        [status, outcomes.filter(([, outcome]) => outcome.status === status).length] as const,
    )
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${count} ${status}`);
  const wall = formatDuration(options.wallMs);
  const head =
    result.status === 'succeeded'
      ? `${palette.green('✓')} run ${result.runId} succeeded in ${wall}`
      : result.status === 'failed'
        ? `${palette.red('✗')} run ${result.runId} ${palette.red('failed')} after ${wall}`
        : `${palette.yellow('⊘')} run ${result.runId} ${palette.yellow(result.status)} after ${wall}`;
  const lines = [`${head}: ${counts.length > 0 ? counts.join(', ') : 'no stages'}`];

  const maxLines = options.errorLines ?? 6;
  for (const [name, outcome] of outcomes) {
    if (outcome.status !== 'failed') continue;
    const how = exitOf(outcome);
    const message = (outcome.error?.message ?? 'failed').trimEnd().split('\n');
    const shown = message.slice(0, maxLines);
    lines.push(`  ${palette.red('✗')} ${name}${how ? ` (${how})` : ''}: ${shown[0]}`);
    for (const line of shown.slice(1)) lines.push(`      ${line}`);
    if (message.length > maxLines)
      lines.push(palette.dim(`      … ${message.length - maxLines} more lines`));
    const log = join(result.runDir, outcome.fallback ?? name, 'stage.log');
    if (options.exists?.(log)) lines.push(`    log: ${displayPath(log, options.cwd)}`);
  }
  lines.push(
    palette.dim(`logs: ${displayPath(result.runDir, options.cwd)}${sep}{stage}${sep}stage.log`),
  );
  return lines;
}

/** A path relative to `cwd` when it lies under it, else absolute. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === ''
    ? '.'
    : rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)
      ? path
      : rel;
}
