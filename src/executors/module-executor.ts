import type { Executor, StageResult, StageTask } from './executor.ts';
import { HostPool } from './host-pool.ts';
import { ProcessHost } from './process-host.ts';
import { ThreadHost } from './thread-host.ts';

export interface ModuleExecutorOptions {
  /** Runs `worker: inline` modules (and modules that name no worker). */
  inline: Executor;
  /** Workers of each kind at most: the pipeline's CPU budget, rounded up. */
  poolSize: number;
  maxNestedDepth: number;
}

/**
 * Runs JavaScript / TypeScript module stages where their `worker` says: inline, in a pooled
 * worker thread, or in a pooled child process. The pools start on first use.
 */
export class ModuleExecutor implements Executor {
  readonly #options: ModuleExecutorOptions;
  #threads: HostPool | undefined;
  #processes: HostPool | undefined;

  constructor(options: ModuleExecutorOptions) {
    this.#options = options;
  }

  execute(task: StageTask, signal: AbortSignal): Promise<StageResult> {
    const worker = task.spec.kind === 'module' ? (task.spec.worker ?? 'inline') : 'inline';
    if (worker === 'thread') return this.#threadPool().execute(task, signal);
    if (worker === 'process') return this.#processPool().execute(task, signal);
    return this.#options.inline.execute(task, signal);
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
    });
    return this.#threads;
  }

  #processPool(): HostPool {
    this.#processes ??= new HostPool({
      size: this.#options.poolSize,
      maxNestedDepth: this.#options.maxNestedDepth,
      start: (key, heapLimitMb) => new ProcessHost(key, heapLimitMb),
    });
    return this.#processes;
  }
}
