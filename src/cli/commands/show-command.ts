import { readFileSync } from 'node:fs';
import { outputRowAt, outputText, pushOutputRow } from '../../durable/output-file.ts';
import { InputError } from '../../errors.ts';
import type { ResourceSummaryRecord } from '../../monitor/resource-sample.ts';
import type { CliIo } from '../cli-io.ts';
import { resourceJson } from '../resource-json.ts';
import { noSuchRun, runNamed } from '../run-named.ts';
import { withWorkspaceStore } from '../workspace-store.ts';
import { workspaceOf } from './run-command.ts';
import { findRunDir, isStageOfRun } from './run-logs.ts';

export interface ShowCommandOptions {
  json?: boolean;
  workspace?: string;
}

/**
 * `gpipe show RUN_ID STAGE`: the stage's `output.json`. Read from the run directory (found also
 * after the project was moved); made from the run store when the file is missing (it is
 * written just after the commit that counts). `--json`: the same document on one line.
 */
export async function showCommand(
  runName: string,
  stage: string,
  options: ShowCommandOptions,
  io: CliIo,
): Promise<number> {
  const workspaceRoot = workspaceOf(options, io);
  let runId = runName;
  const { text, resources } = await withWorkspaceStore(workspaceRoot, async (store) => {
    const run = await runNamed(store, runName);
    if (!run) throw noSuchRun(runName);
    runId = run.runId;
    // A fan-out instance (`resize[3]`) is shown as its mapped stage's own stages are.
    if (!isStageOfRun(run, stage)) {
      throw new InputError(
        `run '${run.runId}' has no stage '${stage}' (its stages: ${run.stages.slice(0, 10).join(', ')}${run.stages.length > 10 ? ', …' : ''})`,
      );
    }
    const stageDir = `${findRunDir(run, workspaceRoot)}/${stage}`;
    const resources = (await store.resourceSummaries(run.runId, stage)).at(-1);
    try {
      return { text: readFileSync(`${stageDir}/output.json`, 'utf8'), resources };
    } catch {
      // not written (yet): the store has it
    }
    const attempts = await store.attempts(run.runId, stage);
    const done = attempts.filter((a) => a.status === 'succeeded' || a.status === 'cached').at(-1);
    if (!done) {
      const last = attempts.at(-1);
      throw new InputError(
        `stage '${stage}' of run ${run.runId} has no output: ${last ? attemptState(last.status) : 'it never ran'}`,
      );
    }
    const values: unknown[] = [];
    pushOutputRow(values, done, undefined);
    return { text: outputText(outputRowAt(values, 0), '[]'), resources };
  });
  const out = options.json
    ? jsonLine(text, resources, `stage '${stage}' of run ${runId}`)
    : withResources(text, resources);
  io.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
  return 0;
}

/**
 * The output file's text with the stage's resource figures as a first key, `resources`, next
 * to `_meta` (the file itself stays as the run wrote it). Text as it is when not an object.
 */
function withResources(text: string, record: ResourceSummaryRecord | undefined): string {
  if (!record || !text.startsWith('{')) return text;
  const json = JSON.stringify(resourcesOf(record), null, 2);
  return `{\n  "resources": ${json.replaceAll('\n', '\n  ')},${text.slice(1)}`;
}

/** `--json`: the document `withResources` prints, compact, on one line. */
function jsonLine(text: string, record: ResourceSummaryRecord | undefined, what: string): string {
  let output: unknown;
  try {
    output = JSON.parse(text);
  } catch (error) {
    // Written atomically by the run: one that does not parse was changed since.
    throw new InputError(`${what}: its output.json is not JSON (${(error as Error).message})`);
  }
  if (!record || typeof output !== 'object' || output === null || Array.isArray(output)) {
    return JSON.stringify(output);
  }
  return JSON.stringify({ resources: resourcesOf(record), ...output });
}

/** The resource figures `show` prints: the attempt they are of, then the summary. */
function resourcesOf(record: ResourceSummaryRecord): object {
  const { runId: _run, stage: _stage, attempt, ...summary } = record;
  return { attempt, ...resourceJson(summary) };
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
