/**
 * Takes a run's resource records to the run store: the monitor's samples as they come, each
 * attempt's summary from the result its event carries. Written in batches (at most one
 * transaction a second while the run goes, and one at the end), never one per sample. A
 * failed write costs the figures, not the run: it becomes a warning.
 */
import type { ResourceMonitor } from '../monitor/resource-monitor.ts';
import type { ResourceSample, ResourceSummaryRecord } from '../monitor/resource-sample.ts';
import type { RunEvent } from '../scheduler/events.ts';
import type { RunStore } from '../store/run-store.ts';

export interface ResourceRecorderOptions {
  store: RunStore;
  runId: string;
  /** Its samples of this run are stored; without one, only the summaries results carry. */
  monitor?: ResourceMonitor;
  /** Time between two writes while the run goes. @default 1000 */
  flushMs?: number;
}

export class ResourceRecorder {
  readonly #store: RunStore;
  readonly #runId: string;
  readonly #flushMs: number;
  readonly #unsubscribe: (() => void) | undefined;
  #samples: ResourceSample[] = [];
  #summaries: ResourceSummaryRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writes: Promise<void> = Promise.resolve();
  failure: Error | undefined;

  constructor(options: ResourceRecorderOptions) {
    this.#store = options.store;
    this.#runId = options.runId;
    this.#flushMs = options.flushMs ?? 1000;
    this.#unsubscribe = options.monitor?.subscribe((samples) => {
      for (const sample of samples) if (sample.runId === this.#runId) this.#samples.push(sample);
      this.#schedule();
    });
  }

  /** Sees every event of the run: the attempts' results carry their summaries. */
  observe(event: RunEvent): void {
    if (
      event.event !== 'stage_finished' &&
      event.event !== 'stage_retrying' &&
      event.event !== 'stage_fallback'
    )
      return;
    const resources = event.result?.resources;
    if (!resources) return;
    this.#summaries.push({
      runId: this.#runId,
      stage: event.stage,
      attempt: event.attempt,
      ...resources,
    });
    this.#schedule();
  }

  /** Writes what is left and waits for every write; stops listening to the monitor. */
  async drain(): Promise<void> {
    this.#unsubscribe?.();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flush();
    await this.#writes;
  }

  #schedule(): void {
    // Unref'd: the run's end drains what is left.
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#flushMs).unref();
  }

  #flush(): void {
    if (this.#samples.length === 0 && this.#summaries.length === 0) return;
    const batch = { samples: this.#samples, summaries: this.#summaries };
    this.#samples = [];
    this.#summaries = [];
    this.#writes = this.#writes.then(() =>
      this.#store.appendResources(batch).catch((error: unknown) => {
        this.failure ??= error as Error;
      }),
    );
  }
}
