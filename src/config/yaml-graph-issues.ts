/**
 * Points each problem the graph check finds (src/graph) at the YAML node that causes it: the
 * `depends_on` entry, the `fallback`, a resource request, else the module itself.
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
  if (issue.stage === undefined) {
    const field =
      issue.field === 'max_memory' || issue.field === 'max_gpus' ? issue.field : 'max_cpus';
    return { path: ['pipeline', 'resources', field] };
  }
  const named = entries.filter((entry) => entry.name === issue.stage);
  let entry = named[0];
  if (issue.field === 'name' && issue.message.startsWith('duplicate name')) {
    const seen = (duplicates.get(issue.stage) ?? 0) + 1;
    duplicates.set(issue.stage, seen);
    entry = named[seen] ?? named.at(-1);
  }
  if (!entry) return { path: ['pipeline', 'modules'] };
  const base = ['pipeline', 'modules', entry.index] as const;
  switch (issue.field) {
    case 'depends_on': {
      const dependsOn = Array.isArray(entry.raw.depends_on) ? entry.raw.depends_on : [];
      const at = dependsOn.indexOf(issue.dependency);
      if (at < 0 && entry.raw.for_each === issue.dependency) return { path: [...base, 'for_each'] };
      return { path: at >= 0 ? [...base, 'depends_on', at] : [...base, 'depends_on'] };
    }
    case 'fallback':
      return { path: entry.raw.fallback !== undefined ? [...base, 'fallback'] : [...base, 'name'] };
    case 'cpus':
    case 'memory':
    case 'gpus':
    case 'memory_limit': {
      const resources = entry.raw.resources;
      const set = resources !== null && typeof resources === 'object' && issue.field in resources;
      return { path: set ? [...base, 'resources', issue.field] : base };
    }
    case 'name':
    case 'for_each':
    case 'timeout':
    case 'retry':
    case 'command':
    case 'concurrency':
      return { path: entry.raw[issue.field] !== undefined ? [...base, issue.field] : base };
    default:
      return { path: base };
  }
}
