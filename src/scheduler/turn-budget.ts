/**
 * How long the engine may keep the event loop in one turn. In-process stages settle in
 * microtasks, so without a break a burst of them runs from its first stage to its last in a
 * single turn: no commit is acknowledged, no progress line drawn, no signal or timer handled,
 * and every record of the burst waits in memory until the burst ends (measured: all 400,000
 * writes of a 100,000-stage run were still unacknowledged when its last stage finished).
 */
export const TURN_MS = 8;

/**
 * Says whether work may go on in this turn of the event loop. Once the turn has lasted
 * `ms`, it says no until `resume` has run in a later turn, after what waited (I/O callbacks,
 * timers, signals) had its go.
 */
export class TurnBudget {
  readonly #ms: number;
  readonly #resume: () => void;
  /** performance.now() when work began in this turn; -1 before any. */
  #startedAt = -1;
  #waiting = false;

  constructor(resume: () => void, ms = TURN_MS) {
    this.#resume = resume;
    this.#ms = ms;
  }

  /** False when the turn is spent: the caller stops, and `resume` is called in a later turn. */
  allows(): boolean {
    if (this.#waiting) return false;
    const now = performance.now();
    if (this.#startedAt < 0) {
      this.#startedAt = now;
      // Marks the end of this turn: the next one starts with a full budget.
      setImmediate(this.#turnEnded);
      return true;
    }
    if (now - this.#startedAt < this.#ms) return true;
    this.#waiting = true;
    setImmediate(this.#next);
    return false;
  }

  readonly #turnEnded = (): void => {
    this.#startedAt = -1;
  };

  readonly #next = (): void => {
    this.#waiting = false;
    this.#startedAt = -1;
    this.#resume();
  };
}
