import type { Graph } from '../graph/graph.ts';
import type { ExecutionMode } from '../graph/pipeline.ts';

/**
 * Each stage's rank in the ready queue (lower starts first, then lower index): `parallel` by
 * critical path, `waves` by level and then critical path (a level never starts before the one
 * above it ends), `sequential` 0 everywhere (declaration order). `level` only for waves.
 */
export function readyRanks(
  graph: Graph,
  mode: ExecutionMode,
): { rank: Float64Array; level?: Int32Array } {
  const n = graph.size;
  const rank = new Float64Array(n);
  if (mode === 'sequential') return { rank };
  const critical = graph.criticalPath();
  if (mode === 'parallel') {
    for (let i = 0; i < n; i++) rank[i] = -critical[i]!;
    return { rank };
  }
  const level = graph.levels();
  for (let i = 0; i < n; i++) rank[i] = level[i]! * (n + 1) - critical[i]!;
  return { rank, level };
}
