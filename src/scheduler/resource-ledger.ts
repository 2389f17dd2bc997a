/**
 * What running stages hold of the pool: CPUs and memory as amounts, GPUs as concrete device
 * ids (the lowest free ones), so that no resource is ever held beyond its capacity.
 */

/** A floating-point allowance so that 0.1 + 0.2 cpus fit a budget of 0.3. */
const EPSILON = 1e-9;
/** Memory is in MB and sums fractions of it: a looser allowance, still far below a byte. */
const MEMORY_EPSILON = 1e-6;

export interface LedgerCapacity {
  cpus: number;
  /** @default no bound */
  memoryMb?: number;
  /** The device ids to lease. @default none */
  gpuIds?: readonly number[];
}

/** Per-stage requests, by stage index. */
export interface LedgerRequests {
  cpus: ArrayLike<number>;
  /** @default 0 for every stage */
  memoryMb?: ArrayLike<number> | undefined;
  /** @default 0 for every stage */
  gpus?: ArrayLike<number> | undefined;
}

const noIds: readonly number[] = Object.freeze([]);

export class ResourceLedger {
  readonly #cpus: number;
  readonly #memoryMb: number;
  readonly #gpuIds: readonly number[];
  readonly #requests: LedgerRequests;
  /** Per pool slot: 1 while leased. */
  readonly #gpuTaken: Uint8Array;
  readonly #leases = new Map<number, readonly number[]>();
  /** The smallest request of any stage on each resource: below that much free, none fits. */
  readonly #min: { cpus: number; memoryMb: number; gpus: number };
  #holders = 0;
  #cpusInUse = 0;
  #memoryInUse = 0;
  #gpusInUse = 0;

  constructor(capacity: LedgerCapacity, requests: LedgerRequests, stages: number) {
    this.#cpus = capacity.cpus;
    this.#memoryMb = capacity.memoryMb ?? Number.POSITIVE_INFINITY;
    this.#gpuIds = capacity.gpuIds ?? noIds;
    this.#gpuTaken = new Uint8Array(this.#gpuIds.length);
    this.#requests = requests;
    const min = {
      cpus: Number.POSITIVE_INFINITY,
      memoryMb: Number.POSITIVE_INFINITY,
      gpus: Number.POSITIVE_INFINITY,
    };
    for (let i = 0; i < stages; i++) {
      min.cpus = Math.min(min.cpus, requests.cpus[i]!);
      min.memoryMb = Math.min(min.memoryMb, requests.memoryMb?.[i] ?? 0);
      min.gpus = Math.min(min.gpus, requests.gpus?.[i] ?? 0);
    }
    this.#min = min;
  }

  get cpusInUse(): number {
    return this.#cpusInUse;
  }
  get memoryInUse(): number {
    return this.#memoryInUse;
  }
  get gpusInUse(): number {
    return this.#gpusInUse;
  }

  /**
   * Whether `stage`'s requests fit what is free now. `row` is the stage whose requests apply:
   * a fan-out instance asks what its mapped stage asks.
   */
  fits(stage: number, row = stage): boolean {
    const r = this.#requests;
    return (
      this.#cpusInUse + r.cpus[row]! <= this.#cpus + EPSILON &&
      this.#memoryInUse + (r.memoryMb?.[row] ?? 0) <= this.#memoryMb + MEMORY_EPSILON &&
      this.#gpusInUse + (r.gpus?.[row] ?? 0) <= this.#gpuIds.length
    );
  }

  /** True when not even the smallest request of some resource fits: nothing can start. */
  full(): boolean {
    const min = this.#min;
    return (
      this.#cpusInUse + min.cpus > this.#cpus + EPSILON ||
      this.#memoryInUse + min.memoryMb > this.#memoryMb + MEMORY_EPSILON ||
      this.#gpusInUse + min.gpus > this.#gpuIds.length
    );
  }

  /** Takes `stage`'s requests; it must fit. */
  acquire(stage: number, row = stage): void {
    const r = this.#requests;
    this.#holders++;
    this.#cpusInUse += r.cpus[row]!;
    this.#memoryInUse += r.memoryMb?.[row] ?? 0;
    const gpus = r.gpus?.[row] ?? 0;
    if (gpus === 0) return;
    const ids: number[] = [];
    for (let slot = 0; slot < this.#gpuTaken.length && ids.length < gpus; slot++) {
      if (this.#gpuTaken[slot] === 0) {
        this.#gpuTaken[slot] = 1;
        ids.push(this.#gpuIds[slot]!);
      }
    }
    if (ids.length < gpus) throw new Error(`stage ${stage} needs ${gpus} GPUs, ${ids.length} free`);
    this.#gpusInUse += gpus;
    this.#leases.set(stage, ids);
  }

  /** Gives back what `stage` holds. */
  release(stage: number, row = stage): void {
    const r = this.#requests;
    this.#holders--;
    this.#cpusInUse -= r.cpus[row]!;
    this.#memoryInUse -= r.memoryMb?.[row] ?? 0;
    const ids = this.#leases.get(stage);
    if (ids) {
      this.#leases.delete(stage);
      this.#gpusInUse -= ids.length;
      for (const id of ids) this.#gpuTaken[this.#gpuIds.indexOf(id)] = 0;
    }
    if (this.#holders === 0) {
      // No drift from fractional sums.
      this.#cpusInUse = 0;
      this.#memoryInUse = 0;
    }
  }

  /** The GPU device ids `stage` holds now (none when it holds none). */
  gpuIdsOf(stage: number): readonly number[] {
    return this.#leases.get(stage) ?? noIds;
  }
}
