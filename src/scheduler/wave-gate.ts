/**
 * The `waves` mode's rule: no stage of a level starts before every stage of the levels above
 * it has ended. Counts the unfinished stages of each level, so that the check is O(1).
 */
export class WaveGate {
  readonly #level: Int32Array;
  readonly #unfinishedAtLevel: Int32Array;
  /** The lowest level with a stage not yet ended: the one that may run. */
  #wave = 0;

  /** `level` by stage of the graph (fan-out instances take their mapped stage's). */
  constructor(level: Int32Array) {
    const n = level.length;
    this.#level = level;
    this.#unfinishedAtLevel = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.#unfinishedAtLevel[level[i]!]!++;
  }

  /** Whether graph stage `template` (or an instance of it) may start now. */
  admits(template: number): boolean {
    return this.#level[template]! <= this.#wave;
  }

  /** Graph stage `stage` reached a terminal status: its level may be done. */
  ended(stage: number): void {
    const unfinished = this.#unfinishedAtLevel;
    unfinished[this.#level[stage]!]!--;
    while (this.#wave < unfinished.length - 1 && unfinished[this.#wave] === 0) this.#wave++;
  }
}
