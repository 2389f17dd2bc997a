import { displayStatus } from '../../durable/run-lookup.ts';
import { type StageState, stageStates } from '../../durable/run-state.ts';
import { isTerminalStatus, type StageStatus } from '../../graph/pipeline.ts';
import type { ResourceSummary, ResourceSummaryRecord } from '../../monitor/resource-sample.ts';
import type { EventRecord, RunRecord } from '../../store/run-store.ts';
import type { CliIo } from '../cli-io.ts';
import { errorHeadline, formatDuration } from '../format-text.ts';
import { resourceJson } from '../resource-json.ts';
import { latestRun, noSuchRun, runNamed } from '../run-named.ts';
import { formatBytes, formatCpuSeconds } from '../stage-table.ts';
import { formatTable, withWorkspaceStore } from '../workspace-store.ts';
import { workspaceOf } from './run-command.ts';

/** `gpipe status [RUN_ID]`: every stage of a run (default: the latest) with its status. */
export async function statusCommand(
  runId: string | undefined,
  options: { json?: boolean; workspace?: string },
  io: CliIo,
): Promise<number> {
  const { run, stages } = await withWorkspaceStore(workspaceOf(options, io), async (store) => {
    const run = await runNamed(store, runId ?? latestRun);
    if (!run) throw noSuchRun(runId ?? latestRun);
    const [events, attempts, summaries, mapped] = await Promise.all([
      store.lastStageEvents(run.runId),
      store.latestAttemptStates(run.runId),
      store.resourceSummaries(run.runId),
      store.eventsOfType(run.runId, 'stage_mapped'),
    ]);
    const states = withItems(stageStates(run, events, attempts), mapped);
    return { run, stages: withResources(states, summaries) };
  });
  if (options.json) {
    const json = stages.map(({ summary, ...stage }) =>
      summary ? { ...stage, resources: resourceJson(summary) } : stage,
    );
    io.stdout.write(`${JSON.stringify({ ...run, status: displayStatus(run), stages: json })}\n`);
    return 0;
  }
  io.stdout.write(`${[...header(run), '', ...table(stages)].join('\n')}\n`);
  return 0;
}

type StageRow = StageState & ItemCount & { summary?: ResourceSummary };

/** A mapped stage's items: announced by its `stage_mapped` events, and how many ended. */
interface ItemCount {
  items?: number;
  itemsDone?: number;
}

/**
 * Each mapped stage with its items counted; instances follow their stage (stageStates). An item
 * is done once it ended on its own: one interrupted or cancelled runs again on resume.
 */
export function withItems(
  stages: readonly StageState[],
  mapped: readonly EventRecord[],
): (StageState & ItemCount)[] {
  const items = new Map<string, number>();
  // A resume announces its lists again: the latest announcement of each list counts.
  const lists = new Map<string, { stage: string; items: number }>();
  for (const event of mapped) {
    const over = String(event.data?.over ?? '');
    lists.set(`${event.stage}\u0000${over}`, {
      stage: event.stage ?? '',
      items: Number(event.data?.items ?? 0),
    });
  }
  for (const list of lists.values())
    items.set(list.stage, (items.get(list.stage) ?? 0) + list.items);
  if (items.size === 0) return [...stages];
  const done = new Map<string, number>();
  for (const state of stages) {
    const bracket = state.stage.indexOf('[');
    if (bracket <= 0 || !isTerminalStatus(state.status as StageStatus)) continue;
    if (state.status === 'interrupted' || state.status === 'cancelled') continue;
    const template = state.stage.slice(0, bracket);
    done.set(template, (done.get(template) ?? 0) + 1);
  }
  return stages.map((state) => {
    const total = items.get(state.stage);
    return total === undefined
      ? state
      : { ...state, items: total, itemsDone: done.get(state.stage) ?? 0 };
  });
}

/** Each stage with the resource summary of its latest summarised attempt. */
function withResources(
  stages: readonly (StageState & ItemCount)[],
  summaries: readonly ResourceSummaryRecord[],
): StageRow[] {
  const latest = new Map<string, ResourceSummaryRecord>();
  // By stage, then attempt: the last one of a stage is its latest.
  for (const summary of summaries) latest.set(summary.stage, summary);
  return stages.map((stage) => {
    const record = latest.get(stage.stage);
    if (!record) return stage;
    const { runId: _run, stage: _stage, attempt: _attempt, ...summary } = record;
    return { ...stage, summary };
  });
}

function header(run: RunRecord): string[] {
  const took =
    run.endedAt === undefined ? '' : `, took ${formatDuration(run.endedAt - run.startedAt)}`;
  const lines = [
    `run ${run.runId}: pipeline '${run.pipeline}', ${displayStatus(run)}${took}`,
    `started ${new Date(run.startedAt).toISOString()} on ${run.host} (pid ${run.pid})`,
    `directory ${run.runDir}`,
  ];
  if (run.source !== undefined) lines.push(`file ${run.source}`);
  return lines;
}

function table(stages: readonly StageRow[]): string[] {
  const rows = stages.map((stage) => [
    stage.stage,
    stage.status,
    String(stage.attempts),
    stage.startedAt !== undefined && stage.endedAt !== undefined
      ? formatDuration(stage.endedAt - stage.startedAt)
      : '-',
    stage.exitCode === undefined ? '-' : String(stage.exitCode),
    stage.summary ? formatBytes(stage.summary.peakRssBytes) : '-',
    stage.summary ? formatCpuSeconds(stage.summary.cpuSeconds) : '-',
    stage.summary ? `${stage.summary.avgCpuPercent}%` : '-',
    stage.summary ? ioText(stage.summary) : '-',
    detail(stage),
  ]);
  return formatTable(
    [
      'STAGE',
      'STATUS',
      'ATTEMPTS',
      'DURATION',
      'EXIT',
      'PEAK RSS',
      'CPU-S',
      'AVG CPU',
      'READ/WRITE',
      'DETAIL',
    ],
    rows,
  );
}

function ioText(summary: ResourceSummary): string {
  return `${formatBytes(summary.readBytes)}/${formatBytes(summary.writeBytes)}`;
}

function detail(stage: StageState & ItemCount): string {
  const items = stage.items === undefined ? '' : `${stage.itemsDone}/${stage.items} items done`;
  if (stage.errorMessage !== undefined)
    return `${items ? `${items}; ` : ''}${stage.errorCode}: ${errorHeadline(stage.errorMessage)}`;
  if (items) return items;
  if (stage.reusedFrom !== undefined) return `output of run ${stage.reusedFrom}`;
  return '';
}
