/**
 * `gpipe metrics RUN_ID STAGE` (SPEC E5): the metrics lines a stage wrote to its
 * `GP_METRICS_FILE` (or through `context.metric`), as a table with a sparkline per numeric
 * series, or `--json` (one object per line, with its attempt, line and time).
 */
import { InputError } from '../../errors.ts';
import type { MetricRecord } from '../../store/run-store.ts';
import type { CliIo } from '../cli-io.ts';
import { noSuchRun, runNamed } from '../run-named.ts';
import { sparkline } from '../sparkline.ts';
import { formatTable, withWorkspaceStore } from '../workspace-store.ts';
import { workspaceOf } from './run-command.ts';
import { isStageOfRun } from './run-logs.ts';

export interface MetricsCommandOptions {
  json?: boolean;
  workspace?: string;
}

export async function metricsCommand(
  runName: string,
  stage: string,
  options: MetricsCommandOptions,
  io: CliIo,
): Promise<number> {
  let runId = runName;
  const records = await withWorkspaceStore(workspaceOf(options, io), async (store) => {
    const run = await runNamed(store, runName);
    if (!run) throw noSuchRun(runName);
    runId = run.runId;
    // Read from the run store, not the run directory: a moved project's metrics are there too.
    // A fan-out item (`square[0]`) keeps its own metrics, under its own name.
    if (!isStageOfRun(run, stage)) {
      throw new InputError(
        `run '${run.runId}' has no stage '${stage}' (its stages: ${run.stages.slice(0, 10).join(', ')}${run.stages.length > 10 ? ', …' : ''})`,
      );
    }
    return store.metrics(run.runId, stage);
  });
  const rows = records.map((record) => ({ record, data: parseObject(record) }));
  if (options.json) {
    let out = '';
    for (const { record, data } of rows) {
      out += `${JSON.stringify({ attempt: record.attempt, line: record.line, ts: new Date(record.ts).toISOString(), ...data })}\n`;
    }
    io.stdout.write(out);
    return 0;
  }
  if (rows.length === 0) {
    io.stdout.write(`stage '${stage}' of run ${runId} has no metrics (see GP_METRICS_FILE)\n`);
    return 0;
  }
  const keys = [...new Set(rows.flatMap(({ data }) => Object.keys(data)))];
  const table = formatTable(
    ['attempt', ...keys],
    rows.map(({ record, data }) => [String(record.attempt), ...keys.map((k) => cell(data[k]))]),
  );
  const series = keys.flatMap((key) => {
    const values = rows.map(({ data }) => data[key]).filter((v) => typeof v === 'number');
    if (values.length === 0) return [];
    const first = values[0]!;
    const last = values.at(-1)!;
    return [
      [
        key,
        sparkline(values),
        `${format(first)} → ${format(last)}  (min ${format(Math.min(...values))}, max ${format(Math.max(...values))}, ${values.length} points)`,
      ],
    ];
  });
  const lines = [...table];
  if (series.length > 0) lines.push('', ...formatTable(['series', 'trend', ''], series));
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

function parseObject(record: MetricRecord): Record<string, unknown> {
  return JSON.parse(record.data) as Record<string, unknown>;
}

function cell(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return format(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}
