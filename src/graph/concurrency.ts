import type { GraphIssue } from './graph.ts';
import type { StageSpec } from './pipeline.ts';

/** Concurrency groups: each limit an integer ≥ 1, and one limit per group. */
export function concurrencyIssues(stages: readonly StageSpec[]): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const first = new Map<string, StageSpec>();
  for (const stage of stages) {
    const concurrency = stage.concurrency;
    if (!concurrency) continue;
    const { group, limit } = concurrency;
    if (!(Number.isInteger(limit) && limit >= 1)) {
      issues.push({
        stage: stage.name,
        field: 'concurrency',
        message: `concurrency limit of group '${group}' must be an integer ≥ 1, got ${limit}`,
      });
      continue;
    }
    const earlier = first.get(group);
    if (!earlier) first.set(group, stage);
    else if (earlier.concurrency!.limit !== limit) {
      issues.push({
        stage: stage.name,
        field: 'concurrency',
        message: `concurrency group '${group}' has limit ${limit} here but ${earlier.concurrency!.limit} on stage '${earlier.name}'`,
        hint: 'give every stage of a group the same limit',
      });
    }
  }
  return issues;
}
