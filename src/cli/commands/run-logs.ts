/**
 * Where `gpipe logs` finds a run's stage logs: its run directory (also after the project was
 * moved), the fan-out items of its stages as they start, and, where a stage has no log, why.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runDirOf, stateLayout } from '../../durable/layout.ts';
import type { StageState } from '../../durable/run-state.ts';
import type { EventRecord, RunRecord, RunStore } from '../../store/run-store.ts';

/** A stage of the run, or a fan-out item of one (`square[0]`, `upper[1][2]`), as `show` takes. */
export function isStageOfRun(run: RunRecord, name: string): boolean {
  const template = /^(.+?)(\[\d+\])+$/.exec(name)?.[1];
  return run.stages.includes(name) || (template !== undefined && run.stages.includes(template));
}

/** Whether `name` is a fan-out item of `stage`: `square[0]` of `square`, `upper[1][2]` of `upper[1]`. */
export function isItemOf(name: string, stage: string): boolean {
  return (
    name.length > stage.length &&
    name.startsWith(stage) &&
    /^(\[\d+\])+$/.test(name.slice(stage.length))
  );
}

export function stageLogOf(runDir: string, stage: string): string {
  return join(runDir, stage, 'stage.log');
}

/**
 * The run's directory. The store keeps it absolute: after the project was moved or renamed,
 * it is where this workspace keeps its runs. Where it is in neither place, the stored one (a
 * run just starting may not have made it yet).
 */
export function findRunDir(run: RunRecord, workspaceRoot: string): string {
  if (existsSync(run.runDir)) return run.runDir;
  const here = runDirOf(stateLayout(workspaceRoot), run.runId);
  return existsSync(here) ? here : run.runDir;
}

/**
 * The stages of a run that may have a log, read as they come: its declared stages, then each
 * fan-out item once it has started. Each read after the first asks only for the events stored
 * since, so following a 100,000-stage run does not read its whole history five times a second.
 */
export class RunStageNames {
  /** Each stage's last `stage_started` or `stage_finished` event: where it stands. */
  readonly lastEvents = new Map<string, EventRecord>();
  /** The stages whose last event is `stage_started`: those whose logs may grow. */
  readonly running = new Set<string>();
  readonly #run: RunRecord;
  readonly #known = new Set<string>();
  readonly #fresh: string[] = [];
  /** Stages with events since the last takeChanged (none for the first read: it is read all). */
  readonly #changed = new Set<string>();
  #seq = -1;

  constructor(run: RunRecord) {
    this.#run = run;
  }

  /** Reads what stages started or finished since the last read. */
  async read(store: RunStore): Promise<void> {
    let events: EventRecord[];
    const first = this.#seq < 0;
    if (first) {
      for (const stage of this.#run.stages) this.#note(stage);
      events = await store.lastStageEvents(this.#run.runId);
      this.#seq = 0;
    } else {
      events = await store.events(this.#run.runId, this.#seq);
    }
    for (const event of events) {
      this.#seq = Math.max(this.#seq, event.seq);
      if (event.stage === undefined) continue;
      if (event.type !== 'stage_started' && event.type !== 'stage_finished') continue;
      this.lastEvents.set(event.stage, event);
      if (event.type === 'stage_started') this.running.add(event.stage);
      else this.running.delete(event.stage);
      if (!first) this.#changed.add(event.stage);
      this.#note(event.stage);
    }
  }

  /** The stages that started or finished since the last call (after the first read). */
  takeChanged(): string[] {
    const changed = [...this.#changed];
    this.#changed.clear();
    return changed;
  }

  /** The stages read and not taken before: declared ones first, then items as they started. */
  takeNew(): string[] {
    return this.#fresh.splice(0);
  }

  #note(name: string): void {
    if (this.#known.has(name)) return;
    this.#known.add(name);
    this.#fresh.push(name);
  }

  /** How the stages of `names` stand, counted: `2 cached, 1 never ran`. */
  statusCounts(names: readonly string[]): string {
    const counts = new Map<string, number>();
    for (const name of names) {
      const event = this.lastEvents.get(name);
      const status =
        event === undefined
          ? 'never ran'
          : event.type === 'stage_started'
            ? 'running'
            : String(event.data?.status ?? 'finished');
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    return [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  }
}

/** Why a stage has no log, as it ends "stage 'x' of run R has no log: …". */
export function whyNoLog(state: StageState | undefined, items: number, counts: string): string {
  if (items > 0) return `none of its ${items} items wrote one (${counts})`;
  if (state === undefined) return 'it never ran';
  const from = state.reusedFrom;
  switch (state.status) {
    case 'cached':
      if (state.executor === 'reuse' && from) return `its output was reused from run ${from}`;
      return from ? `it was cached (output of run ${from})` : 'it was cached';
    case 'pending':
      return 'it never ran';
    case 'running':
      return 'it has written nothing yet';
    case 'upstream_failed':
      return 'it never ran: an upstream stage failed';
    case 'skipped':
      return 'it was skipped';
    case 'succeeded':
      return state.executor === 'fan-out' ? 'it had no items' : 'it wrote nothing';
    default:
      return `it ${state.status === 'failed' ? 'failed' : `was ${state.status}`} before it wrote anything`;
  }
}

/** That the run's directory is gone, and where it was looked for (findRunDir). */
export function runDirMissing(run: RunRecord, workspaceRoot: string): string {
  const here = runDirOf(stateLayout(workspaceRoot), run.runId);
  const places = here === run.runDir ? here : `${run.runDir} and ${here}`;
  return `its run directory is not there (looked in ${places})`;
}
