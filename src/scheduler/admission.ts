import type { ConcurrencyGroups } from './concurrency-groups.ts';
import type { FanOutTable } from './fan-out-table.ts';
import type { ReadyQueue } from './ready-queue.ts';
import type { ResourceLedger } from './resource-ledger.ts';
import type { WaveGate } from './wave-gate.ts';

/** How far past the best ready stage a backfill looks: a full pool never costs a whole pass. */
const BACKFILL_SCAN = 64;

/**
 * Which ready stage starts next: the best ranked one when its requests fit the pool, else the
 * best of the next few that fits (backfill), until `maxBypass` stages went ahead of it; then
 * none, so that the pool drains for it and a large request is never starved by small ones.
 * A stage whose concurrency group is full is set aside in its group, never counted as blocked.
 * Takes no resources itself: the scheduler leases them for the stage it gets.
 */
export class Admission {
  readonly #ready: ReadyQueue;
  readonly #ledger: ResourceLedger;
  readonly #waves: WaveGate | undefined;
  /** Fan-out instances ask what their mapped stage asks. */
  readonly #table: FanOutTable | undefined;
  readonly #groups: ConcurrencyGroups | undefined;
  readonly #maxBypass: number;
  /** The best ready stage that did not fit, and how many stages started ahead of it since. */
  #blocked = -1;
  #bypassed = 0;

  constructor(
    ready: ReadyQueue,
    ledger: ResourceLedger,
    waves: WaveGate | undefined,
    table: FanOutTable | undefined,
    groups: ConcurrencyGroups | undefined,
    maxBypass: number,
  ) {
    this.#ready = ready;
    this.#ledger = ledger;
    this.#waves = waves;
    this.#table = table;
    this.#groups = groups;
    this.#maxBypass = maxBypass;
  }

  /** The ready stage to start now, taken off the queue; -1 when none may start. */
  pick(): number {
    const ready = this.#ready;
    const ledger = this.#ledger;
    const top = this.#groups ? this.#topWithRoom() : ready.peek();
    if (top < 0) return -1;
    if (this.#waves && !this.#waves.admits(this.#templateOf(top))) return -1;
    if (ledger.fits(top, this.#templateOf(top))) {
      if (top === this.#blocked) this.#blocked = -1; // a retry of it starts a fresh count
      return ready.pop();
    }
    if (ledger.full()) return -1;
    if (top !== this.#blocked) {
      this.#blocked = top;
      this.#bypassed = 0;
    }
    // Held back long enough: let resources drain until the best stage fits.
    if (this.#bypassed >= this.#maxBypass) return -1;
    const found = this.#backfill();
    if (found >= 0) this.#bypassed++;
    return found;
  }

  /** The best of the next few ready stages below the top that fits, taken off the queue. */
  #backfill(): number {
    const ready = this.#ready;
    const skipped: number[] = [ready.pop()];
    let found = -1;
    while (ready.size > 0 && skipped.length < BACKFILL_SCAN) {
      const candidate = ready.pop();
      const template = this.#templateOf(candidate);
      if (this.#groups?.isFull(template)) {
        this.#groups.wait(candidate, template);
        continue;
      }
      if (this.#waves && !this.#waves.admits(template)) {
        skipped.push(candidate);
        break;
      }
      if (this.#ledger.fits(candidate, template)) {
        found = candidate;
        break;
      }
      skipped.push(candidate);
    }
    for (const stage of skipped) ready.push(stage);
    return found;
  }

  /** The best ready stage whose group has room, setting aside those whose group is full. */
  #topWithRoom(): number {
    const ready = this.#ready;
    const groups = this.#groups!;
    let top = ready.peek();
    while (top >= 0) {
      const template = this.#templateOf(top);
      if (!groups.isFull(template)) return top;
      groups.wait(ready.pop(), template);
      top = ready.peek();
    }
    return -1;
  }

  #templateOf(node: number): number {
    return this.#table ? this.#table.templateOf(node) : node;
  }
}
