/**
 * Turns the measured runs into the results table (Markdown, printed as is), checks the issue's
 * targets against it, and reports the 10k → 100k scaling of ours.
 */
import { type CaseResult, median } from './case-io.ts';

export type Group = 'A' | 'B';

/** One case after all its runs: medians, or why there are none. */
export interface Row {
  group: Group;
  impl: string;
  label: string;
  shape: string;
  stages: number;
  runs: number;
  wallMs?: number;
  warmMs?: number;
  rssMb?: number;
  startRssMb?: number;
  verified?: boolean;
  /** 'not installed (…)', an error, or a remark. */
  message?: string;
}

/** What one run of a case reported. */
export type Measured = CaseResult;

export function summarise(base: Omit<Row, 'runs'>, runs: readonly Measured[], error?: string): Row {
  const row: Row = { ...base, runs: runs.length };
  if (runs.length > 0) {
    row.stages = runs[0]!.stages;
    row.wallMs = median(runs.map((r) => r.wallMs));
    const warm = runs.flatMap((r) => (r.warmMs === undefined ? [] : [r.warmMs]));
    if (warm.length > 0) row.warmMs = median(warm);
    const rss = runs.map((r) => r.maxRssKb).filter((kb) => kb >= 0);
    if (rss.length > 0) row.rssMb = median(rss) / 1024;
    const start = runs.flatMap((r) => (r.startRssKb === undefined ? [] : [r.startRssKb]));
    if (start.length > 0) row.startRssMb = median(start) / 1024;
    row.verified = runs.every((r) => r.verified);
    const notes = [...new Set(runs.flatMap((r) => (r.note ? [r.note] : [])))];
    if (!row.verified)
      row.message = `NOT VERIFIED${notes.length > 0 ? `: ${notes.join('; ')}` : ''}`;
  }
  if (error !== undefined) row.message = row.message ? `${row.message}; ${error}` : error;
  return row;
}

export interface TargetCheck {
  target: string;
  shape: string;
  impl: string;
  figure: string;
  met: boolean | undefined;
}

const fmt = (value: number | undefined, digits = 1): string =>
  value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);

const usPerStage = (row: Row): number | undefined =>
  row.wallMs === undefined ? undefined : (row.wallMs * 1000) / row.stages;

function find(rows: readonly Row[], group: Group, impl: string, shape: string): Row | undefined {
  const row = rows.find((r) => r.group === group && r.impl === impl && r.shape === shape);
  return row?.wallMs === undefined ? undefined : row;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/** Implementations whose rows are ours, and the peers each is compared with. */
const peersOf: Record<Group, Record<string, readonly string[]>> = {
  A: { ours: ['dask', 'bare'], 'ours-api': ['dask', 'bare'] },
  B: { ours: ['ninja', 'make'], 'ours-node': ['ninja', 'make'], 'ours-tmpfs': ['ninja', 'make'] },
};

/** Every target of the issue that applies to this row. */
export function targetsOf(rows: readonly Row[], row: Row): TargetCheck[] {
  const checks: TargetCheck[] = [];
  if (row.wallMs === undefined) return checks;
  const check = (target: string, figure: string, met: boolean | undefined) =>
    checks.push({ target, shape: row.shape, impl: row.impl, figure, met });
  if (row.group === 'A' && row.impl === 'ours') {
    if (row.shape === 'chain-1k')
      check('chain-1k ≤ 5 ms', `${fmt(row.wallMs)} ms`, row.wallMs <= 5);
    if (row.shape.startsWith('layered-100k')) {
      const us = usPerStage(row)!;
      check('≤ 5 µs/stage on layered-100k', `${fmt(us, 2)} µs/stage`, us <= 5);
    }
    const dask = find(rows, 'A', 'dask', row.shape);
    const speedup = ratio(dask?.wallMs, row.wallMs);
    check(
      '≥ 10× faster than dask',
      speedup === undefined ? 'no dask' : `${fmt(speedup)}×`,
      speedup === undefined ? undefined : speedup >= 10,
    );
    const bare = find(rows, 'A', 'bare', row.shape);
    const rss = ratio(row.rssMb, bare?.rssMb);
    check(
      'peak RSS ≤ 2× bare loop',
      rss === undefined ? 'no bare' : `${fmt(rss, 2)}×`,
      rss === undefined ? undefined : rss <= 2,
    );
  }
  if (row.group === 'B' && row.impl.startsWith('ours')) {
    const pairs: [string, string][] = [
      ['layered-10k', 'ninja'],
      ['chain-1k', 'make'],
    ];
    for (const [shape, peer] of pairs) {
      if (row.shape !== shape) continue;
      const r = ratio(row.wallMs, find(rows, 'B', peer, shape)?.wallMs);
      check(
        `${shape} ≤ 1.2× ${peer}`,
        r === undefined ? `no ${peer}` : `${fmt(r, 2)}×`,
        r === undefined ? undefined : r <= 1.2,
      );
    }
  }
  return checks;
}

const mark = (met: boolean | undefined): string =>
  met === undefined ? '?' : met ? '✓ met' : '✗ missed';

function ratioCell(rows: readonly Row[], row: Row): string {
  const peers = peersOf[row.group][row.impl];
  if (!peers || row.wallMs === undefined) return '';
  const parts: string[] = [];
  for (const peer of peers) {
    const r = ratio(row.wallMs, find(rows, row.group, peer, row.shape)?.wallMs);
    if (r !== undefined) parts.push(`${fmt(r, 2)}× ${peer}`);
  }
  return parts.join(' · ');
}

function rssCell(row: Row): string {
  if (row.rssMb === undefined) return '—';
  return row.startRssMb === undefined
    ? fmt(row.rssMb)
    : `${fmt(row.rssMb)} (+${fmt(row.rssMb - row.startRssMb)})`;
}

export function renderTable(rows: readonly Row[], requestedRuns: number): string {
  const header = [
    'case',
    'shape',
    'stages',
    'wall ms (median)',
    'warm ms',
    'stages/s',
    'µs/stage',
    'peak RSS MB (+ over start)',
    'ours ÷ peer (wall)',
    'targets',
  ];
  const body: string[][] = [];
  for (const row of rows) {
    const targets = targetsOf(rows, row)
      .map((t) => `${mark(t.met)}: ${t.target} (${t.figure})`)
      .join('; ');
    const us = usPerStage(row);
    const cells =
      row.wallMs === undefined
        ? [
            row.label,
            row.shape,
            String(row.stages),
            row.message ?? 'no result',
            '',
            '',
            '',
            '',
            '',
            '',
          ]
        : [
            row.message ? `${row.label} — ${row.message}` : row.label,
            row.shape,
            String(row.stages),
            row.runs < requestedRuns
              ? `${fmt(row.wallMs)} (${row.runs} run${row.runs === 1 ? '' : 's'})`
              : fmt(row.wallMs),
            fmt(row.warmMs),
            us === undefined ? '—' : Math.round(1e6 / us).toLocaleString('en-US'),
            fmt(us, 2),
            rssCell(row),
            ratioCell(rows, row),
            targets,
          ];
    body.push(cells);
  }
  return alignedMarkdown(header, body);
}

/** A Markdown table with padded columns (as biome formats it, and readable in a terminal). */
function alignedMarkdown(header: readonly string[], body: readonly string[][]): string {
  const widths = header.map((h, c) =>
    Math.max(3, h.length, ...body.map((cells) => cells[c]!.length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export function renderTargets(rows: readonly Row[]): string {
  const checks = rows.flatMap((row) => targetsOf(rows, row));
  if (checks.length === 0) return '(no targets apply to the cases run)';
  return checks
    .map((t) => `- ${mark(t.met)} — ${t.target} [${t.impl}, ${t.shape}]: ${t.figure}`)
    .join('\n');
}

/** ours' µs per stage at 10k against 100k (cold, and warm when measured). */
export function renderScaling(rows: readonly Row[]): string | undefined {
  const small = find(rows, 'A', 'ours', 'layered-10k');
  const large = find(rows, 'A', 'ours', 'layered-100k');
  if (!small || !large) return undefined;
  const a = usPerStage(small)!;
  const b = usPerStage(large)!;
  let line = `Scaling of ours (in-process, exec only): layered-10k ${fmt(a, 2)} µs/stage → layered-100k ${fmt(b, 2)} µs/stage (×${fmt(b / a, 2)} per stage; 1.00 = linear)`;
  if (small.warmMs !== undefined && large.warmMs !== undefined) {
    const wa = (small.warmMs * 1000) / small.stages;
    const wb = (large.warmMs * 1000) / large.stages;
    line += `; warm ${fmt(wa, 2)} → ${fmt(wb, 2)} µs/stage (×${fmt(wb / wa, 2)})`;
  }
  return line;
}
