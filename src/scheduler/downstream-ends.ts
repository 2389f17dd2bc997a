import type { Graph } from '../graph/graph.ts';
import type { FanOut, FanOutHost } from './fan-out.ts';
import {
  CANCELLED,
  FIRST_TERMINAL,
  isSuccess,
  PENDING,
  RUNNING,
  UPSTREAM_FAILED,
} from './node-states.ts';

/**
 * Graph stage `stage` ended with `code`: its downstream learns it. A success counts down each
 * downstream stage's `waitingOn` (ready at 0, cancelled instead while the run stops); a failure
 * or a cancellation ends every downstream stage not yet running, and so on below it. Mapped
 * stages follow the fan-out rules. Ended stages are appended to `changed`, for reporting.
 * Iterative, so that a long chain of failures never deepens the call stack.
 */
export function propagateEnd(
  graph: Graph,
  waitingOn: Int32Array,
  nodes: FanOutHost,
  fanOut: FanOut | undefined,
  stage: number,
  code: number,
  changed: number[],
): void {
  const work = [stage, code];
  while (work.length > 0) {
    const c = work.pop()!;
    const x = work.pop()!;
    const ok = isSuccess(c);
    const downCode = c === CANCELLED ? CANCELLED : UPSTREAM_FAILED;
    for (let e = graph.downstreamStart[x]!; e < graph.downstreamStart[x + 1]!; e++) {
      const d = graph.downstream[e]!;
      if (fanOut?.table.isMapped(d)) {
        if (nodes.state(d) >= FIRST_TERMINAL) continue;
        const ended = fanOut.upstreamEnded(d, x, c, changed);
        if (ended) {
          changed.push(d);
          work.push(d, ended);
        }
        continue;
      }
      if (ok) {
        if (--waitingOn[d]! === 0 && nodes.state(d) === PENDING) {
          if (nodes.stopping()) {
            nodes.terminate(d, CANCELLED);
            changed.push(d);
          } else nodes.makeReady(d);
        }
      } else if (nodes.state(d) < RUNNING) {
        nodes.terminate(d, downCode);
        changed.push(d);
        work.push(d, downCode);
      }
    }
  }
}
