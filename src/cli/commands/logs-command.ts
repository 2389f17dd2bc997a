/**
 * `gpipe logs RUN_ID [STAGE]` (SPEC E2, E4): a stage's `stage.log`, or every stage's
 * interleaved by time with `[stage]` prefixes; `--stderr` and `--since` filter; `-f` follows
 * the log until the stage (or, without STAGE, the run) has ended.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../../config/duration.ts';
import { isAlive } from '../../durable/run-lookup.ts';
import { stageStates } from '../../durable/run-state.ts';
import { InputError } from '../../errors.ts';
import { LogMerge } from '../../logs/log-merge.ts';
import { type LogLine, parseLogLine } from '../../logs/stage-log-line.ts';
import { TailReader } from '../../logs/tail-reader.ts';
import type { EventRecord, RunRecord, RunStore } from '../../store/run-store.ts';
import type { CliIo } from '../cli-io.ts';
import { withWorkspaceStore } from '../workspace-store.ts';
import { workspaceOf } from './run-command.ts';

export interface LogsCommandOptions {
  follow?: boolean;
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
  await withWorkspaceStore(workspaceOf(options, io), async (store) => {
    const run = await findRun(store, runId, options.follow === true);
    if (!run) throw new InputError(`no run '${runId}' in this workspace (see gpipe runs)`);
    if (stage !== undefined && !run.stages.includes(stage)) {
      throw new InputError(
        `run '${runId}' has no stage '${stage}' (its stages: ${run.stages.slice(0, 10).join(', ')}${run.stages.length > 10 ? ', …' : ''})`,
      );
    }
    const logOf = (name: string) => join(run.runDir, name, 'stage.log');
    const keep = (line: LogLine) =>
      (!options.stderr || line.stream === 'stderr') &&
      (since === undefined || (!Number.isNaN(line.time) && line.time >= since));
    const print = (lines: string[]) => {
      if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
    };
    // One stage's log as it is; every stage's interleaved by time, each line `[stage] line`.
    const printNew =
      stage === undefined
        ? mergedPrinter(run.stages, logOf, keep, print)
        : stagePrinter(new TailReader(logOf(stage)), keep, print);
    printNew();
    if (!options.follow) return;
    const stageEvents = stage === undefined ? undefined : new StageEvents(stage);
    for (;;) {
      const ended = await hasEnded(store, run, stageEvents);
      // One more read after the end: what the stage wrote last.
      printNew();
      if (ended) return;
      await sleep(followIntervalMs);
    }
  });
  return 0;
}

/** Bytes of one stage's log held at a time when it is printed alone. */
const chunkBytes = 4 * 1024 * 1024;

/** Prints the new lines of one log, a chunk at a time: a large log is never held whole. */
function stagePrinter(
  reader: TailReader,
  keep: (line: LogLine) => boolean,
  print: (lines: string[]) => void,
): () => void {
  return () => {
    for (;;) {
      const out: string[] = [];
      const read = reader.read((line) => {
        if (keep(parseLogLine(line))) out.push(line);
      }, chunkBytes);
      print(out);
      if (read === 0) return;
    }
  };
}

/** Prints the new lines of every stage's log, merged by time, each as `[stage] line`. */
function mergedPrinter(
  stages: readonly string[],
  logOf: (stage: string) => string,
  keep: (line: LogLine) => boolean,
  print: (lines: string[]) => void,
): () => void {
  const merge = new LogMerge(
    stages.map((stage) => ({ path: logOf(stage), prefix: `[${stage}] ` })),
    keep,
  );
  return () => merge.drain(print);
}

/** Whether the stage (or every stage, without one) is done, or the run is over. */
async function hasEnded(store: RunStore, run: RunRecord, stageEvents: StageEvents | undefined) {
  const now = await store.getRun(run.runId);
  if (now?.status !== 'running' || !isAlive(now)) return true;
  if (stageEvents === undefined) return false;
  const { stage } = stageEvents;
  const [events, attempts] = await Promise.all([
    stageEvents.read(store, run.runId),
    store.attempts(run.runId, stage),
  ]);
  const [state] = stageStates({ ...now, stages: [stage] }, events, attempts);
  return state !== undefined && state.status !== 'running' && state.status !== 'pending';
}

/**
 * The events of one stage of a run, read as they come: each read asks only for the events
 * stored since the last one, so following a stage of a 100,000-stage run does not read the
 * whole history five times a second.
 */
class StageEvents {
  readonly stage: string;
  readonly #events: EventRecord[] = [];
  #seq = 0;

  constructor(stage: string) {
    this.stage = stage;
  }

  async read(store: RunStore, runId: string): Promise<readonly EventRecord[]> {
    for (const event of await store.events(runId, this.#seq)) {
      this.#seq = event.seq;
      if (event.stage === this.stage) this.#events.push(event);
    }
    return this.#events;
  }
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
    const run = await store.getRun(runId);
    if (run || Date.now() >= giveUpAt) return run;
    await sleep(followIntervalMs / 2);
  }
}
