/**
 * A binary min-heap of stage indices ordered by a fixed rank (lower first, then lower index).
 * Typed arrays keep a 100,000-stage run free of per-entry objects.
 */
export class ReadyQueue {
  #heap: Int32Array;
  #size = 0;
  #rank: Float64Array;

  /** Takes `rank` over: entries appended later get theirs through `setRank`. */
  constructor(capacity: number, rank: Float64Array) {
    this.#heap = new Int32Array(Math.max(capacity, 1));
    this.#rank = rank;
  }

  /** Gives `stage` (one beyond the initial ranks, for a fan-out instance) its rank. */
  setRank(stage: number, rank: number): void {
    if (stage >= this.#rank.length) {
      const grown = new Float64Array(Math.max(stage + 1, this.#rank.length * 2));
      grown.set(this.#rank);
      this.#rank = grown;
    }
    this.#rank[stage] = rank;
  }

  get size(): number {
    return this.#size;
  }

  peek(): number {
    return this.#size > 0 ? this.#heap[0]! : -1;
  }

  push(stage: number): void {
    if (this.#size === this.#heap.length) {
      const grown = new Int32Array(this.#heap.length * 2);
      grown.set(this.#heap);
      this.#heap = grown;
    }
    let at = this.#size++;
    const heap = this.#heap;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.#before(stage, heap[parent]!)) break;
      heap[at] = heap[parent]!;
      at = parent;
    }
    heap[at] = stage;
  }

  pop(): number {
    if (this.#size === 0) return -1;
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap[--this.#size]!;
    let at = 0;
    const size = this.#size;
    while (true) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && this.#before(heap[child + 1]!, heap[child]!)) child++;
      if (!this.#before(heap[child]!, last)) break;
      heap[at] = heap[child]!;
      at = child;
    }
    if (size > 0) heap[at] = last;
    return top;
  }

  /** Removes and returns every entry, in no particular order. */
  drain(): Int32Array {
    const all = this.#heap.slice(0, this.#size);
    this.#size = 0;
    return all;
  }

  #before(a: number, b: number): boolean {
    const ra = this.#rank[a]!;
    const rb = this.#rank[b]!;
    return ra < rb || (ra === rb && a < b);
  }
}
