/**
 * The orchestrator's own figures, shared out among the stages running in this process (inline,
 * module): at each share, its CPU time (all threads) and storage IO since the last one go to
 * the in-process stages in proportion to how long each ran in that span, alone or split with
 * the others running at the same time (those that ended in between included). A start or end
 * reads only the clock: 100,000 one-microsecond stages must not pay a system call each.
 */
import type { AttemptWatch } from './attempt-watch.ts';
import type { ProcessIo } from './process-tree.ts';

export interface ShareReaders {
  /** The orchestrator's CPU time in µs, all threads. */
  readOwnCpuUs: () => number;
  readOwnRss: () => number;
  readIo: (pids: readonly number[]) => ProcessIo;
  now: () => number;
}

export class InProcessShare {
  readonly #read: ShareReaders;
  /** In-process watches, each with the #shareTime at which its part was last handed out. */
  readonly #watches = new Map<AttemptWatch, number>();
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

  constructor(read: ShareReaders) {
    this.#read = read;
  }

  /** In-process stages watched now. */
  get size(): number {
    return this.#watches.size;
  }

  watches(): IterableIterator<AttemptWatch> {
    return this.#watches.keys();
  }

  /** `watch` started at `now`: its part counts from here. */
  add(watch: AttemptWatch, now: number): void {
    if (this.#ownCpuUs === undefined) this.#startSharing(now);
    this.#advanceShareTime(now);
    this.#watches.set(watch, this.#shareTime);
  }

  /**
   * `watch` ended: a sampled one gets its last part; one never sampled keeps its part of the
   * share time, so that the others get no more than theirs. False when it was not watched.
   */
  end(watch: AttemptWatch): boolean {
    if (!this.#watches.has(watch)) return false;
    if (watch.samples === 0) this.#advanceShareTime(this.#read.now());
    else this.#shareOwnUsage(false);
    this.#watches.delete(watch);
    return true;
  }

  /** A tick: every watch gets its part, IO included, and the orchestrator's RSS now. */
  tick(): void {
    this.#shareOwnUsage(true);
    const rss = this.#read.readOwnRss();
    for (const watch of this.#watches.keys()) watch.readRss(rss);
  }

  /** None running: the next one to start reads the CPU time afresh. */
  idle(): void {
    this.#ownCpuUs = undefined;
  }

  /** Takes the orchestrator's CPU time now as the start of the next share. */
  #startSharing(now: number): void {
    this.#sharedAt = now;
    this.#shareTimeAt = now;
    this.#ownCpuUs = this.#read.readOwnCpuUs();
  }

  #advanceShareTime(now: number): void {
    const running = this.#watches.size;
    if (running > 0) this.#shareTime += (now - this.#shareTimeAt) / running;
    this.#shareTimeAt = now;
  }

  /**
   * Hands the orchestrator's CPU time (and at ticks its IO) since the last share out. The parts
   * of stages that ended unsampled, and of moments when none ran, go to nobody.
   */
  #shareOwnUsage(withIo: boolean): void {
    const now = this.#read.now();
    this.#advanceShareTime(now);
    const cpuUs = this.#read.readOwnCpuUs();
    const cpuDelta = cpuUs - (this.#ownCpuUs ?? cpuUs);
    let io: ProcessIo | undefined;
    if (withIo) {
      io = this.#read.readIo([process.pid]);
      this.#ownIo ??= io;
    }
    const spanMs = now - this.#sharedAt;
    for (const [watch, mark] of this.#watches) {
      const part = spanMs > 0 ? (this.#shareTime - mark) / spanMs : 0;
      this.#watches.set(watch, this.#shareTime);
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
}
