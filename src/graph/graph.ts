import { didYouMean } from './did-you-mean.ts';

/**
 * The dependency graph of a pipeline, by stage index, in compressed sparse rows so that a
 * 100,000-stage graph costs a few typed arrays. Pure: no I/O, nothing of ours imported.
 */

export interface GraphIssue {
  message: string;
  stage?: string;
  hint?: string;
  /** The setting at fault, so that a loader can point at it in its file. */
  field?:
    | 'name'
    | 'depends_on'
    | 'fallback'
    | 'cpus'
    | 'memory'
    | 'gpus'
    | 'memory_limit'
    | 'timeout'
    | 'retry'
    | 'command'
    | 'max_cpus'
    | 'max_memory'
    | 'max_gpus'
    | 'for_each'
    | 'concurrency';
  /** For a `depends_on` issue: the dependency at fault. */
  dependency?: string;
}

export interface GraphInput {
  readonly name: string;
  readonly dependsOn: readonly string[];
}

export class Graph {
  /** Stage names by index. */
  readonly names: readonly string[];
  readonly indexOf: ReadonlyMap<string, number>;
  /** Upstream stages of `i` are `upstream[upstreamStart[i] .. upstreamStart[i + 1])`. */
  readonly upstreamStart: Int32Array;
  readonly upstream: Int32Array;
  readonly downstreamStart: Int32Array;
  readonly downstream: Int32Array;

  private constructor(names: string[], indexOf: Map<string, number>, deps: number[][]) {
    const n = names.length;
    this.names = names;
    this.indexOf = indexOf;
    let edges = 0;
    for (const d of deps) edges += d.length;
    this.upstreamStart = new Int32Array(n + 1);
    this.upstream = new Int32Array(edges);
    const outDegree = new Int32Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      this.upstreamStart[i] = k;
      for (const d of deps[i]!) {
        this.upstream[k++] = d;
        outDegree[d]!++;
      }
    }
    this.upstreamStart[n] = k;
    this.downstreamStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++)
      this.downstreamStart[i + 1] = this.downstreamStart[i]! + outDegree[i]!;
    this.downstream = new Int32Array(edges);
    const fill = this.downstreamStart.slice(0, n);
    for (let i = 0; i < n; i++) {
      for (let e = this.upstreamStart[i]!; e < this.upstreamStart[i + 1]!; e++) {
        const d = this.upstream[e]!;
        this.downstream[fill[d]!++] = i;
      }
    }
  }

  get size(): number {
    return this.names.length;
  }

  /**
   * Builds the graph, or returns every problem at once: duplicate names, unknown dependencies,
   * self-dependencies and cycles (each printed as its path, `a → b → a`).
   */
  static build(
    stages: readonly GraphInput[],
  ): { graph: Graph; issues: [] } | { issues: GraphIssue[] } {
    const issues: GraphIssue[] = [];
    const indexOf = new Map<string, number>();
    const names: string[] = [];
    for (const stage of stages) {
      if (indexOf.has(stage.name)) {
        issues.push({
          stage: stage.name,
          field: 'name',
          message: `duplicate name '${stage.name}'`,
          hint: 'stage names must be unique',
        });
        continue;
      }
      indexOf.set(stage.name, names.length);
      names.push(stage.name);
    }
    const deps: number[][] = new Array(names.length);
    const visited = new Uint8Array(names.length);
    for (const stage of stages) {
      const i = indexOf.get(stage.name)!;
      if (visited[i]) continue; // a duplicate, already reported
      visited[i] = 1;
      const mine: number[] = [];
      deps[i] = mine;
      for (const dep of stage.dependsOn) {
        const d = indexOf.get(dep);
        if (d === undefined) {
          issues.push({
            stage: stage.name,
            field: 'depends_on',
            dependency: dep,
            message: `depends on unknown stage '${dep}'`,
            hint: didYouMean(dep, names),
          });
        } else if (d === i) {
          issues.push({
            stage: stage.name,
            field: 'depends_on',
            dependency: dep,
            message: 'depends on itself',
          });
        } else if (!mine.includes(d)) {
          mine.push(d);
        }
      }
    }
    const graph = new Graph(names, indexOf, deps);
    for (const cycle of graph.findCycles()) {
      // In data-flow order `a → b → c → a`, the first stage depends on the last.
      issues.push({
        stage: cycle[0],
        field: 'depends_on',
        dependency: cycle.at(-1)!,
        message: `dependency cycle: ${[...cycle, cycle[0]].join(' → ')}`,
        hint: 'remove one of these dependencies',
      });
    }
    return issues.length > 0 ? { issues } : { graph, issues: [] };
  }

  /** Stage indices in an order where every stage comes after its upstream stages. */
  topologicalOrder(): Int32Array {
    const n = this.size;
    const remaining = new Int32Array(n);
    const order = new Int32Array(n);
    let tail = 0;
    for (let i = 0; i < n; i++) {
      remaining[i] = this.upstreamStart[i + 1]! - this.upstreamStart[i]!;
      if (remaining[i] === 0) order[tail++] = i;
    }
    for (let head = 0; head < tail; head++) {
      const i = order[head]!;
      for (let e = this.downstreamStart[i]!; e < this.downstreamStart[i + 1]!; e++) {
        const d = this.downstream[e]!;
        if (--remaining[d]! === 0) order[tail++] = d;
      }
    }
    if (tail !== n) throw new Error('graph has a cycle');
    return order;
  }

  /** Level of each stage: 0 for roots, else one more than its deepest upstream (the waves). */
  levels(): Int32Array {
    const level = new Int32Array(this.size);
    for (const i of this.topologicalOrder()) {
      let max = -1;
      for (let e = this.upstreamStart[i]!; e < this.upstreamStart[i + 1]!; e++) {
        max = Math.max(max, level[this.upstream[e]!]!);
      }
      level[i] = max + 1;
    }
    return level;
  }

  /**
   * For each stage, the weight of the heaviest path from it to any sink, itself included: the
   * critical-path priority. `weight(i)` defaults to 1 (path length in stages).
   */
  criticalPath(weight: (i: number) => number = () => 1): Float64Array {
    const order = this.topologicalOrder();
    const length = new Float64Array(this.size);
    for (let k = order.length - 1; k >= 0; k--) {
      const i = order[k]!;
      let max = 0;
      for (let e = this.downstreamStart[i]!; e < this.downstreamStart[i + 1]!; e++) {
        max = Math.max(max, length[this.downstream[e]!]!);
      }
      length[i] = max + weight(i);
    }
    return length;
  }

  upstreamOf(i: number): Int32Array {
    return this.upstream.subarray(this.upstreamStart[i]!, this.upstreamStart[i + 1]!);
  }

  downstreamOf(i: number): Int32Array {
    return this.downstream.subarray(this.downstreamStart[i]!, this.downstreamStart[i + 1]!);
  }

  /** Every stage reachable downstream of `roots` (the roots excluded unless reachable). */
  descendants(roots: Iterable<number>): Set<number> {
    const seen = new Set<number>();
    const stack = [...roots];
    while (stack.length > 0) {
      const i = stack.pop()!;
      for (const d of this.downstreamOf(i)) {
        if (!seen.has(d)) {
          seen.add(d);
          stack.push(d);
        }
      }
    }
    return seen;
  }

  /** One path per strongly connected cycle, found by an iterative depth-first search. */
  private findCycles(): string[][] {
    const n = this.size;
    const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
    const parentEdge = new Int32Array(n);
    const cycles: string[][] = [];
    const inCycle = new Uint8Array(n);
    for (let root = 0; root < n; root++) {
      if (state[root] !== 0) continue;
      const stack: number[] = [root];
      state[root] = 1;
      parentEdge[root] = this.upstreamStart[root]!;
      while (stack.length > 0) {
        const i = stack[stack.length - 1]!;
        const e = parentEdge[i]!;
        if (e === this.upstreamStart[i + 1]!) {
          state[i] = 2;
          stack.pop();
          continue;
        }
        parentEdge[i] = e + 1;
        const next = this.upstream[e]!;
        if (state[next] === 0) {
          state[next] = 1;
          parentEdge[next] = this.upstreamStart[next]!;
          stack.push(next);
        } else if (state[next] === 1 && !inCycle[next]) {
          // The stack from `next` to `i` is the cycle, walked against the edges: reverse it.
          const path = stack.slice(stack.indexOf(next)).reverse();
          for (const p of path) inCycle[p] = 1;
          // Start at the stage declared first, so the same cycle always reads the same way.
          const first = path.indexOf(Math.min(...path));
          cycles.push([...path.slice(first), ...path.slice(0, first)].map((p) => this.names[p]!));
        }
      }
    }
    return cycles;
  }
}
