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
 *   ran in that time, those that ended in between included (see #shareOwnUsage); RSS is the
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
import {
  type ProcessInfo,
  type ProcessIo,
  type ProcessUsage,
  processTreeOf,
  readProcessTable,
  readProcessUsage,
  readTreeIo,
  ticksPerSecond,
} from './process-tree.ts';
import type { AttemptKey, ResourceSample, ResourceSummary } from './resource-sample.ts';

export interface ResourceMonitorOptions {
  /** Time between two samples of a running stage; 0 turns sampling off. @default 1000 */
  intervalMs?: number;
  /** Time between two checks of a stage with a memory limit. @default 250 */
  memoryIntervalMs?: number;
  /** The nvidia-smi to poll for GPU figures. @default 'nvidia-smi' on PATH */
  nvidiaSmi?: string;
  /** Reads the process table. @default readProcessTable */
  readTable?: () => readonly ProcessInfo[] | undefined;
  /** @default readTreeIo */
  readIo?: (pids: readonly number[]) => ProcessIo;
  /** Reads one process (a reused worker's figures at a stage's start and end). @default readProcessUsage */
  readUsage?: (pid: number) => ProcessUsage | undefined;
  /** @default readHostNetwork */
  readNetwork?: () => NetworkCounters;
  /** The orchestrator's own CPU time in µs, all threads. @default from process.cpuUsage */
  readOwnCpuUs?: () => number;
  /** The orchestrator's RSS. @default process.memoryUsage.rss */
  readOwnRss?: () => number;
  /** @default Date.now */
  now?: () => number;
}

export interface MemoryExceeded {
  limitBytes: number;
  /** The largest summed RSS seen, this sample included. */
  peakBytes: number;
  /** The tree's live processes at that sample. */
  pids: readonly number[];
}

export interface ProcessWatchOptions {
  /** GPUs leased to the stage: their figures go with its samples. */
  gpuIds?: readonly number[];
  /** Past this summed RSS, `onExceeded` is called (once). */
  memoryLimitBytes?: number;
  onExceeded?: (exceeded: MemoryExceeded) => void;
}

/** What wait4 told of the stage's root process, when the spawner reaped it itself. */
export interface ExitUsage {
  userCpuUs?: number;
  systemCpuUs?: number;
  maxRssKb?: number;
  /** Blocks of 512 bytes read from storage, by the root and every descendant it reaped. */
  inBlocks?: number;
  outBlocks?: number;
}

export interface WatchEnd {
  /** The highest summed RSS the samples saw (what a memory limit is checked against). */
  peakRssBytes: number;
  /** Absent when sampling is off. */
  summary?: ResourceSummary;
}

export interface WatchHandle {
  /** Takes the sample at exit and stops watching. */
  finish(exit?: ExitUsage): WatchEnd;
}

interface ProcessEntry {
  watch: AttemptWatch;
  rootPid: number;
  gpuIds: readonly number[];
  limitBytes: number | undefined;
  onExceeded: ((exceeded: MemoryExceeded) => void) | undefined;
  fired: boolean;
  members: readonly number[];
  /**
   * A worker process reused by one stage after another: its figures when this stage started,
   * taken off every reading so that the stage gets only what it used.
   */
  base: ProcessUsage | undefined;
}

const noWatch: WatchHandle = { finish: () => ({ peakRssBytes: 0 }) };

export class ResourceMonitor {
  readonly #intervalMs: number;
  readonly #memoryIntervalMs: number;
  readonly #readTable: () => readonly ProcessInfo[] | undefined;
  readonly #readIo: (pids: readonly number[]) => ProcessIo;
  readonly #readUsage: (pid: number) => ProcessUsage | undefined;
  readonly #readNetwork: () => NetworkCounters;
  readonly #readOwnCpuUs: () => number;
  readonly #readOwnRss: () => number;
  /** The orchestrator's RSS at the last tick: in-process stages shorter than a tick get it. */
  #ownRss = 0;
  #lastNetwork: NetworkCounters | undefined;
  readonly #now: () => number;
  readonly #gpus: GpuPoller;
  readonly #processes = new Set<ProcessEntry>();
  /** In-process watches, each with the #shareTime at which its part was last handed out. */
  readonly #inProcess = new Map<AttemptWatch, number>();
  readonly #listeners = new Set<(samples: readonly ResourceSample[]) => void>();
  #limited = 0;
  #gpuWatches = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerMs = 0;
  /** The orchestrator's CPU µs and IO when its share was last handed out, and when. */
  #ownCpuUs: number | undefined;
  #ownIo: ProcessIo | undefined;
  #sharedAt = 0;
  /**
   * The integral over time of 1 / (in-process stages running), in ms, up to #shareTimeAt: a
   * stage's part of a span of time is how much this grew while it ran, over the span's length.
   */
  #shareTime = 0;
  #shareTimeAt = 0;

  constructor(options: ResourceMonitorOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#memoryIntervalMs = options.memoryIntervalMs ?? 250;
    this.#readTable = options.readTable ?? readProcessTable;
    this.#readIo = options.readIo ?? readTreeIo;
    this.#readUsage = options.readUsage ?? readProcessUsage;
    this.#readNetwork = options.readNetwork ?? readHostNetwork;
    this.#readOwnCpuUs = options.readOwnCpuUs ?? readOwnCpuUs;
    this.#readOwnRss = options.readOwnRss ?? process.memoryUsage.rss;
    this.#now = options.now ?? Date.now;
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
  ): ProcessEntry {
    const limitBytes = options.memoryLimitBytes;
    const now = this.#now();
    const entry: ProcessEntry = {
      watch: new AttemptWatch(key, 'process', now, this.#network()),
      rootPid,
      gpuIds: this.sampling ? (options.gpuIds ?? []) : [],
      limitBytes,
      onExceeded: options.onExceeded,
      fired: false,
      members: [rootPid],
      base,
    };
    this.#processes.add(entry);
    if (limitBytes !== undefined) this.#limited++;
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
        if (now && this.#processes.has(entry)) {
          entry.watch.readRss(now.rssBytes);
          entry.watch.readCpu((now.cpuTicks - base.cpuTicks) / ticksPerSecond);
          entry.watch.readIo(now.readBytes - base.readBytes, now.writeBytes - base.writeBytes);
        }
        return this.#finishProcess(entry, undefined);
      },
    };
  }

  /** Watches a stage running in this process (inline, module): figures attributed by time. */
  watchInProcess(key: AttemptKey): WatchHandle {
    if (!this.sampling) return noWatch;
    const now = this.#now();
    if (this.#ownCpuUs === undefined) this.#startSharing(now);
    this.#advanceShareTime(now);
    const watch = new AttemptWatch(key, 'orchestrator', now, this.#network());
    this.#inProcess.set(watch, this.#shareTime);
    this.#schedule();
    return { finish: () => this.#finishInProcess(watch) };
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
      const alive = table !== undefined && this.#readTree(entry, table, due);
      if (due && alive) batch.push(entry.watch.sample(now, net, this.#gpus.readings(entry.gpuIds)));
    }
    if (net && this.#inProcess.size > 0) {
      this.#shareOwnUsage(true);
      this.#ownRss = this.#readOwnRss();
      for (const watch of this.#inProcess.keys()) {
        watch.readRss(this.#ownRss);
        if (this.#isDue(watch, now)) batch.push(watch.sample(now, net, []));
      }
    } else {
      // None running: the next one to start reads the CPU time afresh.
      this.#ownCpuUs = undefined;
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

  /** Reads the entry's tree; false when none of it is alive. */
  #readTree(entry: ProcessEntry, table: readonly ProcessInfo[], withIo: boolean): boolean {
    const tree = processTreeOf(table, entry.rootPid);
    if (tree.pids.length === 0) return false;
    const watch = entry.watch;
    if (tree.members.length > 0) entry.members = tree.members;
    const base = entry.base;
    watch.readRss(tree.rssBytes);
    watch.readCpu((tree.cpuTicks - (base?.cpuTicks ?? 0)) / ticksPerSecond);
    if (withIo) {
      const io = this.#readIo(entry.members);
      watch.readIo(io.readBytes - (base?.readBytes ?? 0), io.writeBytes - (base?.writeBytes ?? 0));
    }
    if (!entry.fired && entry.limitBytes !== undefined && tree.rssBytes > entry.limitBytes) {
      entry.fired = true;
      entry.onExceeded?.({
        limitBytes: entry.limitBytes,
        peakBytes: watch.peakRssBytes,
        pids: tree.pids,
      });
    }
    return true;
  }

  #finishProcess(entry: ProcessEntry, exit: ExitUsage | undefined): WatchEnd {
    if (!this.#processes.delete(entry)) return { peakRssBytes: entry.watch.peakRssBytes };
    if (entry.limitBytes !== undefined) this.#limited--;
    if (entry.gpuIds.length > 0 && --this.#gpuWatches === 0) this.#gpus.stop();
    this.#schedule();
    const watch = entry.watch;
    const peakRssBytes = watch.peakRssBytes;
    if (!this.sampling) return { peakRssBytes };
    // The root has been reaped: wait4's figures cover it and every descendant it waited for.
    if (exit?.userCpuUs !== undefined)
      watch.readCpu((exit.userCpuUs + (exit.systemCpuUs ?? 0)) / 1e6);
    if (exit?.inBlocks !== undefined && exit.outBlocks !== undefined)
      watch.readIo(exit.inBlocks * 512, exit.outBlocks * 512);
    const maxRss = (exit?.maxRssKb ?? 0) * 1024;
    if (maxRss > watch.peakRssBytes) watch.peakRssBytes = maxRss;
    // Gone now: the last RSS seen, or for a stage shorter than a tick the peak wait4 saw.
    if (watch.rssBytes === 0) watch.rssBytes = maxRss;
    return this.#finishWatch(watch, entry.gpuIds, peakRssBytes);
  }

  #finishInProcess(watch: AttemptWatch): WatchEnd {
    if (!this.#inProcess.has(watch)) return { peakRssBytes: watch.peakRssBytes };
    // Shorter than an interval, its figures would be the orchestrator's bookkeeping around it;
    // and a pipeline of 100,000 such stages must not pay a store row for each. It had its part
    // of the share time, so the others get no more than theirs.
    if (watch.samples === 0) {
      this.#advanceShareTime(this.#now());
      this.#inProcess.delete(watch);
      return { peakRssBytes: watch.peakRssBytes };
    }
    this.#shareOwnUsage(false);
    this.#inProcess.delete(watch);
    return this.#finishWatch(watch, [], watch.peakRssBytes);
  }

  #finishWatch(watch: AttemptWatch, gpuIds: readonly number[], peakRssBytes: number): WatchEnd {
    const now = this.#now();
    const net = this.#network();
    this.#emit([watch.sample(now, net, this.#gpus.readings(gpuIds), true)]);
    return { peakRssBytes, summary: watch.summary(now) };
  }

  /** Takes the orchestrator's CPU time now as the start of the next share. */
  #startSharing(now: number): void {
    this.#sharedAt = now;
    this.#shareTimeAt = now;
    this.#ownCpuUs = this.#readOwnCpuUs();
  }

  #advanceShareTime(now: number): void {
    const running = this.#inProcess.size;
    if (running > 0) this.#shareTime += (now - this.#shareTimeAt) / running;
    this.#shareTimeAt = now;
  }

  /**
   * Hands the orchestrator's CPU time (and at ticks its IO) since the last share out to the
   * in-process stages: each gets the part of the span it held (alone, or split with the
   * others running at the same time). The parts of stages that ended unsampled, and of
   * moments when none ran, go to nobody.
   */
  #shareOwnUsage(withIo: boolean): void {
    const now = this.#now();
    this.#advanceShareTime(now);
    const cpuUs = this.#readOwnCpuUs();
    const cpuDelta = cpuUs - (this.#ownCpuUs ?? cpuUs);
    let io: ProcessIo | undefined;
    if (withIo) {
      io = this.#readIo([process.pid]);
      this.#ownIo ??= io;
    }
    const spanMs = now - this.#sharedAt;
    for (const [watch, mark] of this.#inProcess) {
      const part = spanMs > 0 ? (this.#shareTime - mark) / spanMs : 0;
      this.#inProcess.set(watch, this.#shareTime);
      watch.readCpu(watch.cpuSeconds + (cpuDelta * part) / 1e6);
      if (io && this.#ownIo) {
        watch.readIo(
          watch.readBytes + (io.readBytes - this.#ownIo.readBytes) * part,
          watch.writeBytes + (io.writeBytes - this.#ownIo.writeBytes) * part,
        );
      }
    }
    this.#ownCpuUs = cpuUs;
    if (io) this.#ownIo = io;
    this.#sharedAt = now;
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
