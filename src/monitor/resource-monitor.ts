/**
 * The resource monitor (SPEC E1): one sampler for every running stage of this process. Each
 * tick reads /proc once, whatever the number of stages, and serves both the samples (every
 * `intervalMs`) and the memory limits (every `memoryIntervalMs`, for stages that have one).
 *
 * - Command and Python stages: their whole process tree (root, descendants, process group):
 *   CPU from utime+stime deltas (reaped children's time included), summed RSS, storage IO
 *   from /proc/PID/io. At exit, wait4's rusage (from the native spawner) makes CPU-seconds,
 *   peak RSS and IO exact, and gives a stage shorter than one interval its one sample.
 * - Inline and module stages run in this process: they get the orchestrator's own figures
 *   attributed by time, once they have run for a whole interval (shorter ones get none). At
 *   each tick the orchestrator's CPU time (all its threads, process.cpuUsage) and storage IO
 *   since the last tick are split among the in-process stages in proportion to how long each
 *   ran in that time, those that ended in between included (see in-process-share.ts); RSS is the
 *   whole orchestrator's. The orchestrator's own work (scheduling, store writes) is in those
 *   figures. A start or end reads only the clock: 100,000 one-microsecond stages must not pay
 *   a system call each.
 * - Network bytes are host-wide (/proc/net/dev, loopback left out): Linux counts no traffic
 *   per process. GPUs: the stage's leased devices, from nvidia-smi polled in the background.
 *
 * Samples go to subscribers in one array per tick; each attempt's summary is returned by
 * `finish`. With `intervalMs` 0 nothing is sampled and memory limits alone are watched.
 */
import { AttemptWatch } from './attempt-watch.ts';
import { GpuPoller } from './gpu-usage.ts';
import { type NetworkCounters, readHostNetwork } from './host-network.ts';
import { InProcessShare } from './in-process-share.ts';
import {
  type ProcessInfo,
  type ProcessIo,
  type ProcessUsage,
  readProcessTable,
  readProcessUsage,
  readTreeIo,
} from './process-tree.ts';
import { ProcessWatch } from './process-watch.ts';
import type { AttemptKey, ResourceSample } from './resource-sample.ts';
import type {
  ExitUsage,
  ProcessWatchOptions,
  ResourceMonitorOptions,
  WatchEnd,
  WatchHandle,
} from './watch-options.ts';

export type {
  ExitUsage,
  MemoryExceeded,
  ProcessWatchOptions,
  ResourceMonitorOptions,
  WatchEnd,
  WatchHandle,
} from './watch-options.ts';

const noWatch: WatchHandle = { finish: () => ({ peakRssBytes: 0 }) };

export class ResourceMonitor {
  readonly #intervalMs: number;
  readonly #memoryIntervalMs: number;
  readonly #readTable: () => readonly ProcessInfo[] | undefined;
  readonly #readIo: (pids: readonly number[]) => ProcessIo;
  readonly #readUsage: (pid: number) => ProcessUsage | undefined;
  readonly #readNetwork: () => NetworkCounters;
  #lastNetwork: NetworkCounters | undefined;
  readonly #now: () => number;
  readonly #gpus: GpuPoller;
  readonly #processes = new Set<ProcessWatch>();
  readonly #inProcess: InProcessShare;
  readonly #listeners = new Set<(samples: readonly ResourceSample[]) => void>();
  #limited = 0;
  #gpuWatches = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerMs = 0;

  constructor(options: ResourceMonitorOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#memoryIntervalMs = options.memoryIntervalMs ?? 250;
    this.#readTable = options.readTable ?? readProcessTable;
    this.#readIo = options.readIo ?? readTreeIo;
    this.#readUsage = options.readUsage ?? readProcessUsage;
    this.#readNetwork = options.readNetwork ?? readHostNetwork;
    this.#now = options.now ?? Date.now;
    this.#inProcess = new InProcessShare({
      readOwnCpuUs: options.readOwnCpuUs ?? readOwnCpuUs,
      readOwnRss: options.readOwnRss ?? process.memoryUsage.rss,
      readIo: this.#readIo,
      now: this.#now,
    });
    this.#gpus = new GpuPoller({
      intervalMs: this.#intervalMs || 1000,
      ...(options.nvidiaSmi !== undefined && { command: options.nvidiaSmi }),
    });
  }

  /** Whether stages are sampled (not only watched for memory limits). */
  get sampling(): boolean {
    return this.#intervalMs > 0;
  }

  /** Calls `listener` with each batch of samples; returns the unsubscribe function. */
  subscribe(listener: (samples: readonly ResourceSample[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Watches the process tree of `rootPid`, a stage attempt's own process. */
  watchProcess(key: AttemptKey, rootPid: number, options: ProcessWatchOptions = {}): WatchHandle {
    const limitBytes = options.memoryLimitBytes;
    if (!this.sampling && limitBytes === undefined) return noWatch;
    const entry = this.#addProcess(key, rootPid, options, undefined);
    return { finish: (exit) => this.#finishProcess(entry, exit) };
  }

  #addProcess(
    key: AttemptKey,
    rootPid: number,
    options: ProcessWatchOptions,
    base: ProcessUsage | undefined,
  ): ProcessWatch {
    const gpuIds = this.sampling ? (options.gpuIds ?? []) : [];
    const entry = new ProcessWatch(
      key,
      rootPid,
      options,
      gpuIds,
      this.#now(),
      this.#network(),
      base,
    );
    this.#processes.add(entry);
    if (entry.limitBytes !== undefined) this.#limited++;
    if (entry.gpuIds.length > 0 && this.#gpuWatches++ === 0) this.#gpus.start();
    this.#schedule();
    return entry;
  }

  /**
   * Watches a stage running in `pid`, a worker process that ran stages before and will after
   * (a `worker: process` module): its tree is sampled as a command's, but counted from now —
   * CPU-seconds and IO are what the worker's tree used during the stage — and the sample at
   * exit is taken from the worker, alive, when the stage ends.
   */
  watchWorker(
    key: AttemptKey,
    pid: number,
    options: { gpuIds?: readonly number[] } = {},
  ): WatchHandle {
    if (!this.sampling) return noWatch;
    // Only the worker itself is read here (the whole host's /proc costs milliseconds): what
    // a descendant left running by an earlier stage used before now is not taken off.
    const base = this.#readUsage(pid) ?? { cpuTicks: 0, rssBytes: 0, readBytes: 0, writeBytes: 0 };
    const entry = this.#addProcess(key, pid, options, base);
    return {
      finish: () => {
        const now = this.#readUsage(pid);
        if (now && this.#processes.has(entry)) entry.readWorker(now);
        return this.#finishProcess(entry, undefined);
      },
    };
  }

  /** Watches a stage running in this process (inline, module): figures attributed by time. */
  watchInProcess(key: AttemptKey): WatchHandle {
    if (!this.sampling) return noWatch;
    const now = this.#now();
    const watch = new AttemptWatch(key, 'orchestrator', now, this.#network());
    this.#inProcess.add(watch, now);
    this.#schedule();
    return new InProcessHandle(this, watch);
  }

  /** One tick: every watched stage read, the due ones sampled (the timer calls it; tests may). */
  tick(): void {
    const now = this.#now();
    const batch: ResourceSample[] = [];
    const table = this.#processes.size > 0 ? this.#readTable() : undefined;
    const net = this.sampling ? this.#readNetwork() : undefined;
    if (net) this.#lastNetwork = net;
    for (const entry of this.#processes) {
      const due = net !== undefined && this.#isDue(entry.watch, now);
      // A tree with nothing alive has ended (its exit sample is coming) or not yet started.
      const alive = table !== undefined && entry.read(table, due ? this.#readIo : undefined);
      if (due && alive) batch.push(entry.watch.sample(now, net, this.#gpus.readings(entry.gpuIds)));
    }
    if (net && this.#inProcess.size > 0) {
      this.#inProcess.tick();
      for (const watch of this.#inProcess.watches()) {
        if (this.#isDue(watch, now)) batch.push(watch.sample(now, net, []));
      }
    } else {
      this.#inProcess.idle();
    }
    this.#emit(batch);
    if (this.#processes.size + this.#inProcess.size === 0) this.#stopTimer();
  }

  /** Stops the timer and the GPU polling; watches still open get no more samples. */
  close(): void {
    this.#stopTimer();
    this.#gpus.stop();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#timerMs = 0;
  }

  #finishProcess(entry: ProcessWatch, exit: ExitUsage | undefined): WatchEnd {
    if (!this.#processes.delete(entry)) return { peakRssBytes: entry.watch.peakRssBytes };
    if (entry.limitBytes !== undefined) this.#limited--;
    if (entry.gpuIds.length > 0 && --this.#gpuWatches === 0) this.#gpus.stop();
    this.#schedule();
    const watch = entry.watch;
    const peakRssBytes = watch.peakRssBytes;
    if (!this.sampling) return { peakRssBytes };
    entry.readExit(exit);
    return this.#finishWatch(watch, entry.gpuIds, peakRssBytes);
  }

  /** The end of an in-process watch (through its handle). */
  finishInProcess(watch: AttemptWatch): WatchEnd {
    // Shorter than an interval, its figures would be the orchestrator's bookkeeping around it;
    // and a pipeline of 100,000 such stages must not pay a store row for each.
    if (!this.#inProcess.end(watch) || watch.samples === 0) {
      return { peakRssBytes: watch.peakRssBytes };
    }
    return this.#finishWatch(watch, [], watch.peakRssBytes);
  }

  #finishWatch(watch: AttemptWatch, gpuIds: readonly number[], peakRssBytes: number): WatchEnd {
    const now = this.#now();
    const net = this.#network();
    this.#emit([watch.sample(now, net, this.#gpus.readings(gpuIds), true)]);
    return { peakRssBytes, summary: watch.summary(now) };
  }

  #isDue(watch: AttemptWatch, now: number): boolean {
    // A tenth of an interval early is on time: timers fire a little late or early.
    return now - watch.lastSampleAt >= this.#intervalMs * 0.9;
  }

  /**
   * The host's counters as the last tick read them (read now only before the first tick):
   * starts and ends of stages do not pay a read each. Network figures have a tick's precision.
   */
  #network(): NetworkCounters {
    if (!this.sampling) return zeroNetwork;
    this.#lastNetwork ??= this.#readNetwork();
    return this.#lastNetwork;
  }

  #emit(batch: readonly ResourceSample[]): void {
    if (batch.length === 0) return;
    for (const listener of this.#listeners) listener(batch);
  }

  /** One timer at the shortest period any watch needs; none while nothing is watched. */
  #schedule(): void {
    const watching = this.#processes.size + this.#inProcess.size > 0;
    let period = 0;
    if (watching) {
      if (this.sampling) period = this.#intervalMs;
      if (this.#limited > 0)
        period = period === 0 ? this.#memoryIntervalMs : Math.min(period, this.#memoryIntervalMs);
    }
    if (period === this.#timerMs) return;
    // Nothing watched: the next tick stops the timer, so that stages following one another
    // do not stop and restart it (and put off its first tick) each time.
    if (period === 0) return;
    this.#stopTimer();
    this.#timerMs = period;
    // Unref'd: the stages keep the orchestrator alive, not the sampling.
    if (period > 0) this.#timer = setInterval(() => this.tick(), period).unref();
  }
}

const zeroNetwork: NetworkCounters = { rxBytes: 0, txBytes: 0 };

function readOwnCpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * The handle of an in-process watch: a class, not a closure per stage (under tsx every
 * closure made also has its name defined, a cost 100,000 one-microsecond stages notice).
 */
class InProcessHandle implements WatchHandle {
  readonly #monitor: ResourceMonitor;
  readonly #watch: AttemptWatch;

  constructor(monitor: ResourceMonitor, watch: AttemptWatch) {
    this.#monitor = monitor;
    this.#watch = watch;
  }

  finish(): WatchEnd {
    return this.#monitor.finishInProcess(this.#watch);
  }
}
