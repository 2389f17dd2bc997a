/**
 * Points each problem the graph check finds (src/graph) at the YAML node that causes it: the
 * `depends_on` entry, the `fallback`, the `cpus`, else the module itself.
 */
import type { GraphIssue } from '../graph/graph.ts';
import type { PathIssue } from './zod-issues.ts';

/** A module that reached the graph check: its name, its place in `modules`, its raw keys. */
export interface ModuleEntry {
  name: string;
  index: number;
  raw: Readonly<Record<string, unknown>>;
}

/**
 * `duplicates` counts the duplicate-name issues seen so far per name: the graph reports one
 * for each repeat of a name, in file order, so the n-th is about the (n+1)-th module so named.
 */
export function graphIssueTarget(
  issue: GraphIssue,
  entries: readonly ModuleEntry[],
  duplicates: Map<string, number>,
): Pick<PathIssue, 'path' | 'key'> {
  if (issue.stage === undefined) return { path: ['pipeline', 'resources', 'max_cpus'] };
  const named = entries.filter((entry) => entry.name === issue.stage);
  let entry = named[0];
  if (issue.message.startsWith('duplicate name')) {
    const seen = (duplicates.get(issue.stage) ?? 0) + 1;
    duplicates.set(issue.stage, seen);
    entry = named[seen] ?? named.at(-1);
    if (entry) return { path: ['pipeline', 'modules', entry.index, 'name'] };
  }
  if (!entry) return { path: ['pipeline', 'modules'] };
  const base = ['pipeline', 'modules', entry.index] as const;
  const dependsOn = Array.isArray(entry.raw.depends_on) ? entry.raw.depends_on : [];

  const cycle = /^dependency cycle: (.*)$/.exec(issue.message)?.[1]?.split(' → ');
  // In `a → b → c → a` each stage feeds the next, so the cycle's first stage depends on c.
  const mentioned = cycle
    ? [cycle.at(-2)!, ...cycle]
    : issue.message.includes('depends on itself')
      ? [entry.name]
      : issue.message.startsWith('depends on')
        ? [...issue.message.matchAll(/'([^']*)'/g)].map((match) => match[1]!)
        : [];
  for (const name of mentioned) {
    const dep = dependsOn.indexOf(name);
    if (dep >= 0) return { path: [...base, 'depends_on', dep] };
  }
  if (issue.message.includes('fallback') && entry.raw.fallback !== undefined) {
    return { path: [...base, 'fallback'] };
  }
  if (issue.message.includes('cpus')) return { path: [...base, 'resources', 'cpus'] };
  if (/\bname\b/.test(issue.message)) return { path: [...base, 'name'] };
  return { path: base };
}
