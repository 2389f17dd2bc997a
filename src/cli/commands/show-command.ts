import { readFileSync } from 'node:fs';
import { outputRowAt, outputText, pushOutputRow } from '../../durable/output-file.ts';
import { InputError } from '../../errors.ts';
import type { ResourceSummaryRecord } from '../../monitor/resource-sample.ts';
import type { CliIo } from '../cli-io.ts';
import { resourceJson } from '../resource-json.ts';
import { withWorkspaceStore } from '../workspace-store.ts';
import { workspaceOf } from './run-command.ts';
import { findRunDir, isStageOfRun } from './run-logs.ts';

/**
 * `gpipe show RUN_ID STAGE`: the stage's `output.json`. Read from the run directory (found also
 * after the project was moved); made from the run store when the file is missing (it is
 * written just after the commit that counts).
 */
export async function showCommand(
  runId: string,
  stage: string,
  options: { workspace?: string },
  io: CliIo,
): Promise<number> {
  const workspaceRoot = workspaceOf(options, io);
  const text = await withWorkspaceStore(workspaceRoot, async (store) => {
    const run = await store.getRun(runId);
    if (!run) throw new InputError(`no run '${runId}' in this workspace (see gpipe runs)`);
    // A fan-out instance (`resize[3]`) is shown as its mapped stage's own stages are.
    if (!isStageOfRun(run, stage)) {
      throw new InputError(
        `run '${runId}' has no stage '${stage}' (its stages: ${run.stages.slice(0, 10).join(', ')}${run.stages.length > 10 ? ', …' : ''})`,
      );
    }
    const stageDir = `${findRunDir(run, workspaceRoot)}/${stage}`;
    const resources = (await store.resourceSummaries(runId, stage)).at(-1);
    try {
      return withResources(readFileSync(`${stageDir}/output.json`, 'utf8'), resources);
    } catch {
      // not written (yet): the store has it
    }
    const attempts = await store.attempts(runId, stage);
    const done = attempts.filter((a) => a.status === 'succeeded' || a.status === 'cached').at(-1);
    if (!done) {
      const last = attempts.at(-1);
      throw new InputError(
        `stage '${stage}' of run ${runId} has no output: ${last ? attemptState(last.status) : 'it never ran'}`,
      );
    }
    const values: unknown[] = [];
    pushOutputRow(values, done, undefined);
    return withResources(outputText(outputRowAt(values, 0), '[]'), resources);
  });
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return 0;
}

/**
 * The output file's text with the stage's resource figures as a first key, `resources`, next
 * to `_meta` (the file itself stays as the run wrote it). Text as it is when not an object.
 */
function withResources(text: string, record: ResourceSummaryRecord | undefined): string {
  if (!record || !text.startsWith('{')) return text;
  const { runId: _run, stage: _stage, attempt, ...summary } = record;
  const json = JSON.stringify({ attempt, ...resourceJson(summary) }, null, 2);
  return `{\n  "resources": ${json.replaceAll('\n', '\n  ')},${text.slice(1)}`;
}

/** How a stage without an output stands, in words: `it failed`, `it was cancelled`. */
function attemptState(status: string): string {
  switch (status) {
    case 'failed':
      return 'it failed';
    case 'running':
      return 'it is still running';
    case 'upstream_failed':
      return 'an upstream stage failed';
    default:
      return `it was ${status}`;
  }
}
