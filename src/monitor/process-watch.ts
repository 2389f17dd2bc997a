/**
 * One watched process tree: a command's or Python stage's own process and its descendants, or
 * a reused worker's, counted from a baseline taken when the stage started. Reads figures into
 * its AttemptWatch and fires its memory limit; knows nothing of timers or subscribers.
 */
import { AttemptWatch } from './attempt-watch.ts';
import type { NetworkCounters } from './host-network.ts';
import {
  type ProcessInfo,
  type ProcessIo,
  type ProcessUsage,
  processTreeOf,
  ticksPerSecond,
} from './process-tree.ts';
import type { AttemptKey } from './resource-sample.ts';
import type { ExitUsage, MemoryExceeded, ProcessWatchOptions } from './watch-options.ts';

export class ProcessWatch {
  readonly watch: AttemptWatch;
  readonly rootPid: number;
  readonly gpuIds: readonly number[];
  readonly limitBytes: number | undefined;
  readonly #onExceeded: ((exceeded: MemoryExceeded) => void) | undefined;
  #fired = false;
  /** The tree's processes at the last reading with any: whose IO counts. */
  #members: readonly number[];
  /**
   * A worker process reused by one stage after another: its figures when this stage started,
   * taken off every reading so that the stage gets only what it used.
   */
  readonly #base: ProcessUsage | undefined;

  constructor(
    key: AttemptKey,
    rootPid: number,
    options: ProcessWatchOptions,
    gpuIds: readonly number[],
    now: number,
    net: NetworkCounters,
    base: ProcessUsage | undefined,
  ) {
    this.watch = new AttemptWatch(key, 'process', now, net);
    this.rootPid = rootPid;
    this.gpuIds = gpuIds;
    this.limitBytes = options.memoryLimitBytes;
    this.#onExceeded = options.onExceeded;
    this.#members = [rootPid];
    this.#base = base;
  }

  /** Reads the tree from `table` (its IO too when `readIo` is given); false when none of it is alive. */
  read(
    table: readonly ProcessInfo[],
    readIo: ((pids: readonly number[]) => ProcessIo) | undefined,
  ): boolean {
    const tree = processTreeOf(table, this.rootPid);
    // A live process holds resident pages: a tree holding none is exiting (its memory gone,
    // not yet a zombie). Its figures come from wait4 at exit, not as a sample of 0 bytes.
    if (tree.pids.length === 0 || tree.rssBytes === 0) return false;
    const watch = this.watch;
    if (tree.members.length > 0) this.#members = tree.members;
    const base = this.#base;
    watch.readRss(tree.rssBytes);
    watch.readCpu((tree.cpuTicks - (base?.cpuTicks ?? 0)) / ticksPerSecond);
    if (readIo) {
      const io = readIo(this.#members);
      watch.readIo(io.readBytes - (base?.readBytes ?? 0), io.writeBytes - (base?.writeBytes ?? 0));
    }
    if (!this.#fired && this.limitBytes !== undefined && tree.rssBytes > this.limitBytes) {
      this.#fired = true;
      this.#onExceeded?.({
        limitBytes: this.limitBytes,
        peakBytes: watch.peakRssBytes,
        pids: tree.pids,
      });
    }
    return true;
  }

  /** A reused worker, alive, as the stage ends: what it used since the baseline. */
  readWorker(now: ProcessUsage): void {
    const base = this.#base ?? now;
    this.watch.readRss(now.rssBytes);
    this.watch.readCpu((now.cpuTicks - base.cpuTicks) / ticksPerSecond);
    this.watch.readIo(now.readBytes - base.readBytes, now.writeBytes - base.writeBytes);
  }

  /** The root has been reaped: wait4's figures cover it and every descendant it waited for. */
  readExit(exit: ExitUsage | undefined): void {
    const watch = this.watch;
    if (exit?.userCpuUs !== undefined)
      watch.readCpu((exit.userCpuUs + (exit.systemCpuUs ?? 0)) / 1e6);
    if (exit?.inBlocks !== undefined && exit.outBlocks !== undefined)
      watch.readIo(exit.inBlocks * 512, exit.outBlocks * 512);
    const maxRss = (exit?.maxRssKb ?? 0) * 1024;
    if (maxRss > watch.peakRssBytes) watch.peakRssBytes = maxRss;
    // Gone now: the last RSS seen, or for a stage shorter than a tick the peak wait4 saw.
    if (watch.rssBytes === 0) watch.rssBytes = maxRss;
  }
}
