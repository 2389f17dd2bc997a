/**
 * Memory limits: samples the process trees of watched stages on one shared interval (one /proc
 * pass per tick, whatever the number of stages) and calls back once a tree's summed RSS goes
 * past its limit. The peak is what the samples saw: growth between two samples goes unseen.
 */
import { type ProcessInfo, processTreeOf, readProcessTable } from './process-tree.ts';

export interface MemoryWatchOptions {
  /** Time between samples. @default 250 */
  intervalMs?: number;
  /** Reads the process table. @default readProcessTable */
  readTable?: () => readonly ProcessInfo[] | undefined;
}

export interface MemoryExceeded {
  limitBytes: number;
  /** The largest summed RSS seen, this sample included. */
  peakBytes: number;
  /** The tree's live processes at that sample. */
  pids: readonly number[];
}

export interface MemoryWatchHandle {
  /** Stops watching; returns the peak RSS seen. */
  stop(): number;
}

interface Watched {
  rootPid: number;
  limitBytes: number;
  peakBytes: number;
  fired: boolean;
  onExceeded: (exceeded: MemoryExceeded) => void;
}

export class MemoryLimitWatch {
  readonly #intervalMs: number;
  readonly #readTable: () => readonly ProcessInfo[] | undefined;
  readonly #watched = new Set<Watched>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryWatchOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 250;
    this.#readTable = options.readTable ?? readProcessTable;
  }

  /** Watches the tree of `rootPid`; `onExceeded` is called at most once. */
  watch(
    rootPid: number,
    limitBytes: number,
    onExceeded: (exceeded: MemoryExceeded) => void,
  ): MemoryWatchHandle {
    const watched: Watched = { rootPid, limitBytes, peakBytes: 0, fired: false, onExceeded };
    this.#watched.add(watched);
    // Unref'd: the stage's own process keeps the orchestrator alive, not the sampling.
    this.#timer ??= setInterval(() => this.sample(), this.#intervalMs).unref();
    return {
      stop: () => {
        this.#watched.delete(watched);
        if (this.#watched.size === 0 && this.#timer) {
          clearInterval(this.#timer);
          this.#timer = undefined;
        }
        return watched.peakBytes;
      },
    };
  }

  /** One sample of every watched tree (the interval calls it; tests may too). */
  sample(): void {
    if (this.#watched.size === 0) return;
    const table = this.#readTable();
    if (!table) return;
    for (const watched of this.#watched) {
      const tree = processTreeOf(table, watched.rootPid);
      if (tree.rssBytes > watched.peakBytes) watched.peakBytes = tree.rssBytes;
      if (!watched.fired && tree.rssBytes > watched.limitBytes) {
        watched.fired = true;
        watched.onExceeded({
          limitBytes: watched.limitBytes,
          peakBytes: watched.peakBytes,
          pids: tree.pids,
        });
      }
    }
  }
}
