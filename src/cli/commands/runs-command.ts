import { existsSync } from 'node:fs';
import { stateLayout } from '../../durable/layout.ts';
import { displayStatus } from '../../durable/run-lookup.ts';
import { InputError } from '../../errors.ts';
import type { CliIo } from '../cli-io.ts';
import { formatDuration } from '../format-text.ts';
import { formatTable, withWorkspaceStore } from '../workspace-store.ts';
import { workspaceOf } from './run-command.ts';

export interface RunsCommandOptions {
  pipeline?: string;
  limit?: string;
  json?: boolean;
  workspace?: string;
}

/** `gpipe runs`: the workspace's runs, newest first. */
export async function runsCommand(options: RunsCommandOptions, io: CliIo): Promise<number> {
  const limit = options.limit === undefined ? 20 : positiveInteger(options.limit);
  const workspaceRoot = workspaceOf(options, io);
  // A workspace where nothing has run has no runs to list: an empty list, not an error.
  const runs = existsSync(stateLayout(workspaceRoot).dbFile)
    ? await withWorkspaceStore(workspaceRoot, (store) =>
        store.listRuns({
          ...(options.pipeline !== undefined && { pipeline: options.pipeline }),
          limit,
        }),
      )
    : [];
  if (options.json) {
    const rows = runs.map((run) => ({
      ...run,
      stages: run.stages.length,
      status: displayStatus(run),
    }));
    io.stdout.write(`${JSON.stringify(rows)}\n`);
    return 0;
  }
  if (runs.length === 0) {
    io.stdout.write('no runs yet\n');
    return 0;
  }
  const rows = runs.map((run) => [
    run.runId,
    run.pipeline,
    displayStatus(run),
    new Date(run.startedAt).toISOString().replace('T', ' ').slice(0, 19),
    run.endedAt === undefined ? '-' : formatDuration(run.endedAt - run.startedAt),
    String(run.stages.length),
  ]);
  const header = ['RUN', 'PIPELINE', 'STATUS', 'STARTED (UTC)', 'DURATION', 'STAGES'];
  io.stdout.write(`${formatTable(header, rows).join('\n')}\n`);
  return 0;
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new InputError(`--limit ${text}: must be a whole number ≥ 1`);
  }
  return value;
}
