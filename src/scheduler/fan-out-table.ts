/**
 * The bookkeeping of dynamic fan-out for the scheduler (SPEC A8): which stages are mapped over
 * which, and the instances (`resize[3]`, `thumb[3][1]`) appended after the fixed graph's
 * stages as the lists they map over become known. Plain data, no I/O.
 *
 * A mapped stage (a template) never runs itself: each of its instances runs one item. The
 * template is over once no more items can come (its source ended) and every instance ended.
 */

/** How a mapped stage takes its items from its source. */
export interface FanOutSpec {
  /** By stage index: the stage it is mapped over, or -1 for an ordinary stage. */
  over: ArrayLike<number>;
  /**
   * By stage index: 1 when each item of a mapped source is itself a list to fan out further
   * (`x[i][j]`); 0 when the stage takes one item per item of its source (`x[i]` after
   * `source[i]`), or one per element of an ordinary source's list.
   */
  nested?: ArrayLike<number>;
}

export class FanOutTable {
  /** Stages of the fixed graph; instances are numbered from here on. */
  readonly templates: number;
  readonly over: Int32Array;
  readonly nested: Uint8Array;
  /** For each stage, the mapped stages whose source it is. */
  readonly mappedBy: (number[] | undefined)[];
  /** Unfinished dependencies of a mapped stage other than its source. */
  readonly otherPending: Int32Array;
  /** Instances made and not yet terminal (parked ones included). */
  readonly live: Int32Array;
  /** 1 once the source can yield no more items; `sourceOk` says whether it succeeded. */
  readonly sourceEnded: Uint8Array;
  readonly sourceOk: Uint8Array;
  /** The worst end of an instance or a dependency so far (0: none bad). */
  readonly worst: Uint8Array;
  /** A dependency other than the source failed: every instance not yet started cannot run. */
  readonly doomed: Uint8Array;
  /** Instances waiting for the dependencies other than the source. */
  readonly parked: (number[] | undefined)[];
  /** The node whose output was not a list, when that failed the mapped stage; else -1. */
  readonly notAList: Int32Array;
  readonly #template: number[] = [];
  readonly #parent: number[] = [];
  readonly #index: number[] = [];

  constructor(templates: number, spec: FanOutSpec) {
    this.templates = templates;
    this.over = Int32Array.from({ length: templates }, (_, i) => spec.over[i] ?? -1);
    this.nested = Uint8Array.from({ length: templates }, (_, i) => spec.nested?.[i] ?? 0);
    this.mappedBy = new Array(templates);
    for (let i = 0; i < templates; i++) {
      const source = this.over[i]!;
      if (source < 0) continue;
      this.mappedBy[source] ??= [];
      this.mappedBy[source].push(i);
    }
    this.otherPending = new Int32Array(templates);
    this.live = new Int32Array(templates);
    this.sourceEnded = new Uint8Array(templates);
    this.sourceOk = new Uint8Array(templates);
    this.worst = new Uint8Array(templates);
    this.doomed = new Uint8Array(templates);
    this.parked = new Array(templates);
    this.notAList = new Int32Array(templates).fill(-1);
  }

  get instances(): number {
    return this.#template.length;
  }

  isMapped(stage: number): boolean {
    return stage < this.templates && this.over[stage]! >= 0;
  }

  /** Appends an instance of `template`, made from `parent`'s output (item `index`, or all of it: -1). */
  add(template: number, parent: number, index: number): number {
    this.#template.push(template);
    this.#parent.push(parent);
    this.#index.push(index);
    this.live[template]!++;
    return this.templates + this.#template.length - 1;
  }

  templateOf(node: number): number {
    return node < this.templates ? node : this.#template[node - this.templates]!;
  }

  /** The node whose output the instance's item comes from; -1 for a stage of the graph. */
  parentOf(node: number): number {
    return node < this.templates ? -1 : this.#parent[node - this.templates]!;
  }

  /** The element of the parent's output the instance takes, or -1 when it takes all of it. */
  indexOf(node: number): number {
    return node < this.templates ? -1 : this.#index[node - this.templates]!;
  }
}
