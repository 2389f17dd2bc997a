import type { ResourceMonitor } from '../monitor/resource-monitor.ts';
import type { Redactor } from '../secrets/redactor.ts';
import type { Executor, StageResult, StageTask } from './executor.ts';
import { HostPool } from './host-pool.ts';
import { monitorInProcess } from './monitored-executor.ts';
import { ProcessHost } from './process-host.ts';
import { ThreadHost } from './thread-host.ts';

export interface ModuleExecutorOptions {
  /** Runs `worker: inline` modules (and modules that name no worker). */
  inline: Executor;
  /** Workers of each kind at most: the pipeline's CPU budget, rounded up. */
  poolSize: number;
  maxNestedDepth: number;
  /**
   * Samples each stage: process workers over their own process tree, inline and thread
   * stages with the orchestrator's figures attributed by time. @default none
   */
  monitor?: ResourceMonitor;
  /**
   * Secrets that thread and process workers mask in what their stages log, print and throw
   * (the `inline` executor masks its own). @default none
   */
  redactor?: Redactor;
}

/**
 * Runs JavaScript / TypeScript module stages where their `worker` says: inline, in a pooled
 * worker thread, or in a pooled child process. The pools start on first use.
 */
export class ModuleExecutor implements Executor {
  readonly #options: ModuleExecutorOptions;
  /** Inline and thread stages, watched as in-process stages when there is a monitor. */
  readonly #inProcess: Executor;
  #threads: HostPool | undefined;
  #processes: HostPool | undefined;

  constructor(options: ModuleExecutorOptions) {
    this.#options = options;
    const inProcess: Executor = {
      execute: (task, signal) =>
        task.spec.kind === 'module' && task.spec.worker === 'thread'
          ? this.#threadPool().execute(task, signal)
          : options.inline.execute(task, signal),
    };
    this.#inProcess = options.monitor ? monitorInProcess(inProcess, options.monitor) : inProcess;
  }

  execute(task: StageTask, signal: AbortSignal): Promise<StageResult> {
    if (task.spec.kind === 'module' && task.spec.worker === 'process')
      return this.#processPool().execute(task, signal);
    return this.#inProcess.execute(task, signal);
  }

  /** Starts the workers that `count` stages of this kind will use, before they are ready. */
  warm(worker: 'thread' | 'process', count: number): void {
    if (count <= 0) return;
    (worker === 'thread' ? this.#threadPool() : this.#processPool()).warm(count);
  }

  killAll(): void {
    this.#threads?.killAll();
    this.#processes?.killAll();
  }

  async close(): Promise<void> {
    await Promise.all([this.#threads?.close(), this.#processes?.close()]);
  }

  #threadPool(): HostPool {
    this.#threads ??= new HostPool({
      size: this.#options.poolSize,
      maxNestedDepth: this.#options.maxNestedDepth,
      start: (key, heapLimitMb) => new ThreadHost(key, heapLimitMb),
      ...(this.#options.redactor && { redactor: this.#options.redactor }),
    });
    return this.#threads;
  }

  #processPool(): HostPool {
    this.#processes ??= new HostPool({
      size: this.#options.poolSize,
      maxNestedDepth: this.#options.maxNestedDepth,
      start: (key, heapLimitMb) => new ProcessHost(key, heapLimitMb, this.#redact()),
      ...(this.#options.monitor && { monitor: this.#options.monitor }),
      ...(this.#options.redactor && { redactor: this.#options.redactor }),
    });
    return this.#processes;
  }

  /** The masking of a process worker's raw output (a no-op while the redactor is empty). */
  #redact(): ((text: string) => string) | undefined {
    const redactor = this.#options.redactor;
    return redactor && ((text) => redactor.redact(text));
  }
}
