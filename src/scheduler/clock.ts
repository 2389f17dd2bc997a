/** Time and timers, injected so that scheduling can be tested without sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimer(callback: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export type TimerHandle = { readonly id: unknown };

export const systemClock: Clock = {
  now: () => Date.now(),
  // Timers stay ref'd: while a run waits only on a retry delay, they are what keeps the
  // process alive until the run ends.
  setTimer(callback, ms) {
    return { id: setTimeout(callback, ms) };
  },
  clearTimer(handle) {
    clearTimeout(handle.id as NodeJS.Timeout);
  },
};

/**
 * A clock that moves only when told to: `advance(ms)` fires every timer due by then, in order.
 * For tests, and for users testing their own pipelines.
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; seq: number; callback: () => void; handle: TimerHandle }[] = [];
  #seq = 0;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, ms: number): TimerHandle {
    const handle = { id: this.#seq };
    this.#timers.push({ at: this.#now + Math.max(0, ms), seq: this.#seq++, callback, handle });
    this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((timer) => timer.handle !== handle);
  }

  /** Pending timers' due times, soonest first. */
  get pending(): number[] {
    return this.#timers.map((timer) => timer.at);
  }

  /** Moves time forward, firing due timers one by one. */
  advance(ms: number): void {
    const until = this.#now + ms;
    while (this.#timers.length > 0 && this.#timers[0]!.at <= until) {
      const timer = this.#timers.shift()!;
      this.#now = timer.at;
      timer.callback();
    }
    this.#now = until;
  }
}
