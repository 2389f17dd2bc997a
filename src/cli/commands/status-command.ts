import { displayStatus } from '../../durable/run-lookup.ts';
import { type StageState, stageStates } from '../../durable/run-state.ts';
import { InputError } from '../../errors.ts';
import type { RunRecord } from '../../store/run-store.ts';
import type { CliIo } from '../cli-io.ts';
import { errorHeadline, formatDuration } from '../format-text.ts';
import { formatTable, withWorkspaceStore } from '../workspace-store.ts';
import { workspaceOf } from './run-command.ts';

/** `gpipe status [RUN_ID]`: every stage of a run (default: the latest) with its status. */
export async function statusCommand(
  runId: string | undefined,
  options: { json?: boolean; workspace?: string },
  io: CliIo,
): Promise<number> {
  const { run, stages } = await withWorkspaceStore(workspaceOf(options, io), async (store) => {
    const run =
      runId === undefined ? (await store.listRuns({ limit: 1 }))[0] : await store.getRun(runId);
    if (!run) {
      throw new InputError(
        runId === undefined
          ? 'no runs yet'
          : `no run '${runId}' in this workspace (see gpipe runs)`,
      );
    }
    const [events, attempts] = await Promise.all([
      store.lastStageEvents(run.runId),
      store.latestAttempts(run.runId),
    ]);
    return { run, stages: stageStates(run, events, attempts) };
  });
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ ...run, status: displayStatus(run), stages })}\n`);
    return 0;
  }
  io.stdout.write(`${[...header(run), '', ...table(stages)].join('\n')}\n`);
  return 0;
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

function table(stages: readonly StageState[]): string[] {
  const rows = stages.map((stage) => [
    stage.stage,
    stage.status,
    String(stage.attempts),
    stage.startedAt !== undefined && stage.endedAt !== undefined
      ? formatDuration(stage.endedAt - stage.startedAt)
      : '-',
    stage.exitCode === undefined ? '-' : String(stage.exitCode),
    detail(stage),
  ]);
  return formatTable(['STAGE', 'STATUS', 'ATTEMPTS', 'DURATION', 'EXIT', 'DETAIL'], rows);
}

function detail(stage: StageState): string {
  if (stage.errorMessage !== undefined)
    return `${stage.errorCode}: ${errorHeadline(stage.errorMessage)}`;
  if (stage.reusedFrom !== undefined) return `output of run ${stage.reusedFrom}`;
  return '';
}
