/**
 * `gpipe logs RUN_ID [STAGE]` (SPEC E2, E4): a stage's `stage.log` (a mapped stage's: its
 * items' logs), or every stage's interleaved by time with `[stage]` prefixes; `--stderr` and
 * `--since` filter; `-f` follows the logs until the stage (or, without STAGE, the run) has
 * ended, picking up fan-out items as they start; `--json` prints each line as a JSON object.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../../config/duration.ts';
import { isAlive } from '../../durable/run-lookup.ts';
import { type StageState, stageStates } from '../../durable/run-state.ts';
import { InputError } from '../../errors.ts';
import { type LineFormat, LogMerge } from '../../logs/log-merge.ts';
import type { LogLine } from '../../logs/stage-log-line.ts';
import type { RunRecord, RunStore } from '../../store/run-store.ts';
import type { CliIo } from '../cli-io.ts';
import { noSuchRun, runNamed } from '../run-named.ts';
import { withWorkspaceStore } from '../workspace-store.ts';
import { FollowedLogs } from './followed-logs.ts';
import { workspaceOf } from './run-command.ts';
import {
  findRunDir,
  isItemOf,
  isStageOfRun,
  RunStageNames,
  runDirMissing,
  stageLogOf,
  whyNoLog,
} from './run-logs.ts';

export interface LogsCommandOptions {
  follow?: boolean;
  json?: boolean;
  stderr?: boolean;
  since?: string;
  workspace?: string;
}

/** How often `-f` looks for new lines. */
const followIntervalMs = 200;
/**
 * How long `-f` waits for a run to be in the store: a run's first commit can come after its
 * first stage has started writing (and its id is on the screen).
 */
const runAppearsWithinMs = 5000;

export async function logsCommand(
  runId: string,
  stage: string | undefined,
  options: LogsCommandOptions,
  io: CliIo,
): Promise<number> {
  const since = options.since === undefined ? undefined : parseSince(options.since, Date.now());
  const workspaceRoot = workspaceOf(options, io);
  await withWorkspaceStore(workspaceRoot, async (store) => {
    const run = await findRun(store, runId, options.follow === true);
    if (!run) throw noSuchRun(runId);
    if (stage !== undefined && !isStageOfRun(run, stage)) {
      throw new InputError(
        `run '${run.runId}' has no stage '${stage}' (its stages: ${run.stages.slice(0, 10).join(', ')}${run.stages.length > 10 ? ', …' : ''})`,
      );
    }
    const runDir = findRunDir(run, workspaceRoot);
    const keep = (line: LogLine) =>
      (!options.stderr || line.stream === 'stderr') &&
      (since === undefined || (!Number.isNaN(line.time) && line.time >= since));
    let printed = false;
    const print = (lines: string[]) => {
      if (lines.length === 0) return;
      printed = true;
      io.stdout.write(`${lines.join('\n')}\n`);
    };
    // Every stage's lines as `[stage] line`; one stage's as they are, its fan-out items' as
    // `[stage[0]] line`; all interleaved by time. Items are picked up as they start.
    const logs = new FollowedLogs(new LogMerge([], keep, options.json ? jsonLine : undefined));
    const shown: string[] = [];
    const names = new RunStageNames(run);
    const addNew = async () => {
      await names.read(store);
      for (const name of names.takeNew()) {
        if (stage !== undefined && name !== stage && !isItemOf(name, stage)) continue;
        shown.push(name);
        const prefix = name === stage ? '' : `[${name}] `;
        logs.add(name, { path: stageLogOf(runDir, name), prefix, stage: name });
      }
    };
    await addNew();
    logs.drainAll(print);
    if (options.follow) {
      for (;;) {
        const ended = await hasEnded(store, run, stage, names);
        await addNew();
        // After the end, one more read of every log: what the stages wrote last.
        if (ended) {
          logs.drainAll(print);
          break;
        }
        logs.drainChanged(print, names);
        await sleep(followIntervalMs);
      }
    }
    if (printed || shown.some((name) => existsSync(stageLogOf(runDir, name)))) return;
    // No log at all (an empty one is no news): say why rather than print nothing.
    const what =
      stage === undefined
        ? `run ${run.runId} has no logs`
        : `stage '${stage}' of run ${run.runId} has no log`;
    // Logs that are lost are an error; a stage that wrote none (cached, never ran) is not.
    if (!existsSync(runDir)) throw new InputError(`${what}: ${runDirMissing(run, workspaceRoot)}`);
    const items = shown.filter((name) => name !== stage);
    const why =
      stage === undefined
        ? `none of its stages wrote one (${names.statusCounts(shown)})`
        : whyNoLog(
            await stageState(store, run, stage, names),
            items.length,
            names.statusCounts(items),
          );
    io.stderr.write(`${what}: ${why}\n`);
  });
  return 0;
}

/** A line as `--json` prints it; `ts` in ms since the epoch as `status --json`, or null. */
const jsonLine: LineFormat = (log, _raw, line) =>
  JSON.stringify({
    ts: Number.isNaN(line.time) ? null : line.time,
    stage: log.stage,
    stream: line.stream,
    line: line.text,
  });

/** Whether the stage (or every stage, without one) is done, or the run is over. */
async function hasEnded(
  store: RunStore,
  run: RunRecord,
  stage: string | undefined,
  names: RunStageNames,
): Promise<boolean> {
  const now = await store.getRun(run.runId);
  if (now?.status !== 'running' || !isAlive(now)) return true;
  if (stage === undefined) return false;
  // The stage is judged by its newest events (items found on the way wait in `names`).
  await names.read(store);
  const state = await stageState(store, now, stage, names);
  return state !== undefined && state.status !== 'running' && state.status !== 'pending';
}

/** Where one stage stands: its last stage event and its attempts (stageStates). */
async function stageState(
  store: RunStore,
  run: RunRecord,
  stage: string,
  names: RunStageNames,
): Promise<StageState | undefined> {
  const event = names.lastEvents.get(stage);
  const attempts = await store.attempts(run.runId, stage);
  return stageStates({ ...run, stages: [stage] }, event ? [event] : [], attempts)[0];
}

/** `--since`: a duration back from now (`5m`, `90s`, `2h`) or an ISO time. */
export function parseSince(text: string, now: number): number {
  const duration = parseDuration(text);
  if (duration !== undefined) return now - duration;
  const time = Date.parse(text);
  if (/^\d{4}-\d\d-\d\d/.test(text) && !Number.isNaN(time)) return time;
  throw new InputError(
    `--since: expected a duration such as 5m or 2h, or an ISO time such as 2026-12-01T20:00:00Z, got '${text}'`,
  );
}

/** The run; with `follow`, one that is just starting is waited for a moment. */
async function findRun(
  store: RunStore,
  runId: string,
  follow: boolean,
): Promise<RunRecord | undefined> {
  const giveUpAt = Date.now() + (follow ? runAppearsWithinMs : 0);
  for (;;) {
    const run = await runNamed(store, runId);
    if (run || Date.now() >= giveUpAt) return run;
    await sleep(followIntervalMs / 2);
  }
}
