import type { Graph } from '../graph/graph.ts';
import { CACHED, PENDING, SKIPPED, SUCCEEDED } from './node-states.ts';

/**
 * For each pending stage, how many of its upstream stages have not succeeded: it becomes ready
 * when that reaches 0. With stages finished before the run (a resume) those count as done; a
 * skipped one satisfies nothing, so a stage below it cannot run at all (thrown).
 */
export function upstreamWaits(graph: Graph, state: Uint8Array, anyFinished: boolean): Int32Array {
  const n = graph.size;
  const waitingOn = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (state[i] !== PENDING) continue;
    waitingOn[i] = anyFinished
      ? unsatisfied(graph, state, i)
      : graph.upstreamStart[i + 1]! - graph.upstreamStart[i]!;
  }
  return waitingOn;
}

function unsatisfied(graph: Graph, state: Uint8Array, stage: number): number {
  let waiting = 0;
  for (let e = graph.upstreamStart[stage]!; e < graph.upstreamStart[stage + 1]!; e++) {
    const upstream = state[graph.upstream[e]!]!;
    if (upstream === SKIPPED) {
      throw new Error(
        `stage ${graph.names[stage]} cannot run: its upstream ${graph.names[graph.upstream[e]!]} is skipped`,
      );
    }
    if (upstream !== SUCCEEDED && upstream !== CACHED) waiting++;
  }
  return waiting;
}
