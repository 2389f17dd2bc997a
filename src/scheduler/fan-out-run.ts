import type { SerializedError } from '../errors.ts';
import type { StageResult } from '../executors/executor.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { Clock } from './clock.ts';
import type { RunEvent } from './events.ts';
import { fanOutError } from './fan-out-errors.ts';
import { FanOutItems } from './fan-out-items.ts';
import { linkItemFiles } from './mapped-files.ts';
import type { PriorStage } from './run-types.ts';
import type { Scheduler } from './scheduler.ts';

export interface FanOutRunSetting {
  pipeline: ValidPipeline;
  scheduler: Scheduler;
  /** By node, shared with the run. */
  outputs: unknown[];
  attempts: number[];
  clock: Clock;
  emit: ((event: RunEvent) => void) | undefined;
  previous: ReadonlyMap<string, PriorStage> | undefined;
  /** Where the mapped stages' files are gathered for the stages downstream (mapped-files.ts). */
  runDir: string;
}

/**
 * A run's side of its mapped stages: instance names and items, instances reused from an
 * earlier run, and the events of each mapped stage, which runs from its first instance's start
 * to its last instance's end and then reports its collected output (or why it failed).
 */
export class FanOutRun {
  readonly items: FanOutItems;
  readonly #setting: FanOutRunSetting;
  /** Mapped stages whose first instance started in this run, with when. */
  readonly #since = new Map<number, number>();
  /** Failed instances by mapped stage, for its error. */
  readonly #failed = new Map<number, string[]>();
  /** Lists mapped since the last `announceMapped`: template, over, items, … */
  #mapped: number[] = [];

  constructor(setting: FanOutRunSetting) {
    this.#setting = setting;
    this.items = new FanOutItems(setting.pipeline, setting.scheduler, setting.outputs);
  }

  /**
   * Instance `i` is about to start for the first time: it numbers its attempts on from an
   * earlier run's, and one that succeeded there is reused at once (a resume re-runs only the
   * failed and unfinished items). Returns what that made terminal, or undefined when it runs.
   */
  reuse(i: number): number[] | undefined {
    const { attempts, scheduler, outputs, emit, clock } = this.#setting;
    if (attempts[i] !== undefined) return undefined;
    const name = this.items.nameOf(i);
    const prior = this.#setting.previous?.get(name);
    attempts[i] = prior?.attempts ?? 0;
    if (prior?.status !== 'succeeded' && prior?.status !== 'cached') return undefined;
    this.started(scheduler.templateOf(i));
    outputs[i] = prior.output;
    const changed = scheduler.succeed(i, prior.status);
    emit?.({
      event: 'stage_finished',
      stage: name,
      attempt: prior.attempts,
      status: prior.status,
      ts: clock.now(),
      reused: true,
    });
    return changed;
  }

  /**
   * The scheduler's `onMapped`: kept until `announceMapped`, so that the event comes after the
   * finish of the stage whose list it is and before any of the instances starts.
   */
  readonly mapped = (template: number, over: number, items: number): void => {
    if (this.#setting.emit) this.#mapped.push(template, over, items);
  };

  /** Says `stage_mapped` for each list mapped since the last call. */
  announceMapped(): void {
    const mapped = this.#mapped;
    const emit = this.#setting.emit;
    if (mapped.length === 0 || !emit) return;
    this.#mapped = [];
    const ts = this.#setting.clock.now();
    const stages = this.#setting.pipeline.stages;
    for (let k = 0; k < mapped.length; k += 3) {
      emit({
        event: 'stage_mapped',
        stage: stages[mapped[k]!]!.name,
        over: this.items.nameOf(mapped[k + 1]!),
        items: mapped[k + 2]!,
        ts,
      });
    }
  }

  /** A mapped stage runs from its first instance on (said once per run). */
  started(template: number): void {
    if (this.#since.has(template)) return;
    const { attempts, clock, emit, pipeline } = this.#setting;
    const ts = clock.now();
    this.#since.set(template, ts);
    const attempt = ++attempts[template]!;
    emit?.({ event: 'stage_started', stage: pipeline.stages[template]!.name, attempt, ts });
  }

  /**
   * Links the items' files under the mapped stage's artifacts. In-process functions are left
   * out: their items seldom write files, and a stat each would cost a 100,000-item map 0.3 s.
   */
  #gatherFiles(template: number): void {
    const stage = this.#setting.pipeline.stages[template]!;
    if (stage.task.kind === 'inline') return;
    try {
      linkItemFiles(this.#setting.runDir, stage.name, this.items.instanceNames(template));
    } catch {
      // A disk that refuses a link refuses the stages' own files too, which says so.
    }
  }

  itemFailed(template: number, name: string): void {
    const failed = this.#failed.get(template) ?? [];
    if (failed.length === 0) this.#failed.set(template, failed);
    failed.push(name);
  }

  /**
   * A mapped stage ended: on success its output is its instances' outputs in order; a failure
   * names the failed items, or the output that was not a list. Returns its error, if any.
   */
  ended(template: number): SerializedError | undefined {
    const { scheduler, clock, outputs, pipeline, attempts } = this.#setting;
    const status = scheduler.status(template);
    const ts = clock.now();
    let result: StageResult | undefined;
    if (status === 'succeeded' || status === 'failed') this.started(template);
    const startedAt = this.#since.get(template) ?? ts;
    if (status === 'succeeded') {
      outputs[template] = this.items.collect(template);
      result = { status: 'succeeded', output: outputs[template], startedAt, endedAt: ts };
      this.#gatherFiles(template);
    } else if (status === 'failed') {
      const source = scheduler.notAListSource(template);
      const error = fanOutError(
        pipeline.stages[template]!,
        this.#failed.get(template) ?? [],
        source < 0 ? undefined : { name: this.items.nameOf(source), output: outputs[source] },
      );
      result = { status: 'failed', error, startedAt, endedAt: ts };
    }
    this.#setting.emit?.({
      event: 'stage_finished',
      stage: pipeline.stages[template]!.name,
      attempt: attempts[template] ?? 0,
      status,
      ts,
      ...(result && { executor: 'fan-out', result }),
      ...(result?.error && { error: result.error }),
    });
    return result?.error;
  }
}
