import { serializeError } from '../errors.ts';
import type { ResourceMonitor } from '../monitor/resource-monitor.ts';
import type { Redactor } from '../secrets/redactor.ts';
import type { RunStageMessage } from '../workers/stage-protocol.ts';
import { whenAborted } from './abort-listeners.ts';
import type { Executor, StageResult, StageTask } from './executor.ts';
import type { StageHostHandle, StartStageHost } from './stage-host-handle.ts';

interface Waiter {
  key: string;
  heapLimitMb: number | undefined;
  resolve(host: StageHostHandle): void;
  unsubscribe(): void;
}

/**
 * Runs module stages on a pool of warm workers (threads or processes), one stage per worker at
 * a time, at most `size` workers. A worker that died, timed out or was cancelled is replaced;
 * a healthy one is reused, its modules still loaded.
 */
export class HostPool implements Executor {
  readonly #size: number;
  readonly #start: StartStageHost;
  readonly #maxNestedDepth: number;
  readonly #monitor: ResourceMonitor | undefined;
  readonly #redactor: Redactor | undefined;
  readonly #idle: StageHostHandle[] = [];
  readonly #busy = new Set<StageHostHandle>();
  readonly #waiters: Waiter[] = [];
  #count = 0;

  constructor(options: {
    size: number;
    start: StartStageHost;
    maxNestedDepth: number;
    /** Watches each stage over its worker's process (process workers only). @default none */
    monitor?: ResourceMonitor;
    /** Its secrets go to the workers with each stage, for them to mask. @default none */
    redactor?: Redactor;
  }) {
    this.#size = Math.max(1, options.size);
    this.#start = options.start;
    this.#maxNestedDepth = options.maxNestedDepth;
    this.#monitor = options.monitor;
    this.#redactor = options.redactor;
  }

  async execute(task: StageTask, signal: AbortSignal): Promise<StageResult> {
    const startedAt = Date.now();
    if (signal.aborted) return aborted(signal, startedAt);
    const heapLimitMb = task.spec.kind === 'module' ? task.spec.heapLimitMb : undefined;
    const key = String(heapLimitMb ?? '');
    const host = await this.#acquire(key, heapLimitMb, signal);
    if (!host) return aborted(signal, startedAt);
    const pid = host.pid;
    const gpuIds = task.resources?.gpuIds;
    const watch =
      pid === undefined
        ? undefined
        : this.#monitor?.watchWorker(task, pid, gpuIds ? { gpuIds } : {});
    let unsubscribe: (() => void) | undefined;
    const abort = new Promise<StageResult>((resolve) => {
      unsubscribe = whenAborted(signal, () => resolve(aborted(signal, startedAt)));
    });
    let result: StageResult;
    try {
      result = await Promise.race([host.run(this.#message(task)), abort]);
    } catch (error) {
      result = { status: 'failed', error: serializeError(error), startedAt, endedAt: Date.now() };
    }
    unsubscribe!();
    // Before the worker can take another stage: the figures at exit are this stage's.
    const resources = watch?.finish().summary;
    if (pid !== undefined) result = { ...result, pid, ...(resources && { resources }) };
    // A timeout or cancellation ends the worker: the stage's code may never yield.
    if (signal.aborted) host.destroy();
    this.#release(host);
    return result;
  }

  /** The message that runs `task`; it carries secrets only where there are some. */
  #message(task: StageTask): RunStageMessage {
    const message: RunStageMessage = { type: 'run', task, maxNestedDepth: this.#maxNestedDepth };
    if (this.#redactor && !this.#redactor.isEmpty) message.secrets = this.#redactor.values;
    return message;
  }

  /** Ends every worker at once (a second Ctrl-C). */
  killAll(): void {
    for (const host of [...this.#busy, ...this.#idle]) host.destroy(true);
  }

  async close(): Promise<void> {
    for (const host of this.#idle.splice(0)) host.destroy();
    this.#count = this.#busy.size;
  }

  /**
   * Starts up to `count` workers ahead of the stages that will need them, so that the first
   * stages do not pay (nor spend their timeout on) a worker's start.
   */
  warm(count: number): void {
    for (let i = 0; i < count && this.#count < this.#size; i++) {
      this.#count++;
      this.#idle.push(this.#start('', undefined));
    }
  }

  #acquire(
    key: string,
    heapLimitMb: number | undefined,
    signal: AbortSignal,
  ): Promise<StageHostHandle | undefined> {
    this.#dropDead();
    const index = this.#idle.findIndex((host) => host.key === key);
    if (index >= 0) return Promise.resolve(this.#lend(this.#idle.splice(index, 1)[0]!));
    if (this.#count < this.#size) {
      this.#count++;
      return Promise.resolve(this.#lend(this.#start(key, heapLimitMb)));
    }
    const other = this.#idle.shift();
    if (other) {
      other.destroy();
      return Promise.resolve(this.#lend(this.#start(key, heapLimitMb)));
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { key, heapLimitMb, resolve, unsubscribe: () => false };
      this.#waiters.push(waiter);
      waiter.unsubscribe = whenAborted(signal, () => {
        const at = this.#waiters.indexOf(waiter);
        if (at < 0) return;
        this.#waiters.splice(at, 1);
        resolve(undefined);
      });
    });
  }

  /** Idle workers that died meanwhile (a failed start, a kill from outside). */
  #dropDead(): void {
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      if (this.#idle[i]!.usable) continue;
      this.#idle.splice(i, 1);
      this.#count--;
    }
  }

  #lend(host: StageHostHandle): StageHostHandle {
    this.#busy.add(host);
    host.setBusy(true);
    return host;
  }

  #release(host: StageHostHandle): void {
    this.#busy.delete(host);
    const waiter = this.#waiters.shift();
    waiter?.unsubscribe();
    if (host.usable && (!waiter || waiter.key === host.key)) {
      if (waiter) {
        waiter.resolve(this.#lend(host));
        return;
      }
      host.setBusy(false);
      this.#idle.push(host);
      return;
    }
    if (host.usable) host.destroy(); // another heap limit is waited for
    if (waiter) waiter.resolve(this.#lend(this.#start(waiter.key, waiter.heapLimitMb)));
    else this.#count--;
  }
}

function aborted(signal: AbortSignal, startedAt: number): StageResult {
  return {
    status: 'failed',
    error: serializeError(signal.reason),
    startedAt,
    endedAt: Date.now(),
  };
}
