import { concurrencyIssues } from './concurrency.ts';
import { Graph, type GraphIssue } from './graph.ts';
import type { PipelineSpec, StageSpec } from './pipeline.ts';
import { type HostCapacity, type ResourcePool, resourceIssues, resourcePool } from './resources.ts';

/** A pipeline that passed validation: its graph, with stages indexed as the graph is. */
export interface ValidPipeline {
  spec: PipelineSpec;
  graph: Graph;
  /** Scheduled stages, by graph index. */
  stages: readonly StageSpec[];
  /** Stages that only ever run in another's place, by name. */
  fallbacks: ReadonlyMap<string, StageSpec>;
  /** The CPU budget the run will hold to. */
  maxCpus: number;
  /** What the run leases out: CPUs, memory and GPU ids. */
  pool: ResourcePool;
}

/**
 * Checks everything that can be checked before a stage runs and reports every problem at once:
 * names, dependencies, cycles, fallbacks, and resource requests no pool could grant. `host`
 * is what the machine offers; a bare number is its CPUs alone (no memory bound, no GPUs).
 */
export function validatePipeline(
  spec: PipelineSpec,
  host: HostCapacity | number,
): { pipeline: ValidPipeline; issues: [] } | { issues: GraphIssue[] } {
  const issues: GraphIssue[] = [];
  const fallbacks = new Map<string, StageSpec>();
  const withFallback = spec.stages.filter((stage) => stage.fallback !== undefined);
  const byName = new Map<string, StageSpec>();
  if (withFallback.length > 0) {
    for (const stage of spec.stages) if (!byName.has(stage.name)) byName.set(stage.name, stage);
  }
  for (const stage of withFallback) {
    if (stage.fallback === undefined) continue;
    const fallback = byName.get(stage.fallback);
    if (stage.fallback === stage.name) {
      issues.push({ stage: stage.name, field: 'fallback', message: 'is its own fallback' });
    } else if (!fallback) {
      issues.push({
        stage: stage.name,
        field: 'fallback',
        message: `fallback '${stage.fallback}' is not a stage of this pipeline`,
      });
    } else if (fallback.fallback !== undefined) {
      issues.push({
        stage: fallback.name,
        field: 'fallback',
        message: `is a fallback (of '${stage.name}') and cannot have a fallback of its own`,
      });
    } else {
      fallbacks.set(fallback.name, fallback);
    }
  }
  for (const stage of fallbacks.size > 0 ? spec.stages : []) {
    for (const dep of stage.dependsOn) {
      if (fallbacks.has(dep)) {
        issues.push({
          stage: stage.name,
          field: 'depends_on',
          dependency: dep,
          message: `depends on '${dep}', which is a fallback and runs only in another stage's place`,
          hint: 'depend on the stage it stands in for',
        });
      }
    }
  }

  const capacity: HostCapacity =
    typeof host === 'number' ? { cpus: host, memoryMb: Infinity, gpuIds: [] } : host;
  const pool = resourcePool(spec, capacity);
  issues.push(...resourceIssues(spec, capacity, pool));
  for (const stage of spec.stages) {
    const nameProblem = stageNameProblem(stage.name);
    if (nameProblem) {
      issues.push({ stage: stage.name, field: 'name', message: `bad stage name: ${nameProblem}` });
    }
    if (stage.timeoutMs !== undefined && !(stage.timeoutMs > 0)) {
      issues.push({
        stage: stage.name,
        field: 'timeout',
        message: `timeout must be above 0, got ${stage.timeoutMs} ms`,
      });
    }
    if (
      stage.retry &&
      !(Number.isInteger(stage.retry.maxAttempts) && stage.retry.maxAttempts >= 1)
    ) {
      issues.push({
        stage: stage.name,
        field: 'retry',
        message: `retry.max_attempts must be an integer ≥ 1, got ${stage.retry.maxAttempts}`,
      });
    }
    if (stage.task.kind === 'inline' && typeof stage.run !== 'function') {
      issues.push({ stage: stage.name, message: 'is an inline stage without a function' });
    }
    if (stage.task.kind === 'command' && stage.task.argv.length === 0) {
      issues.push({ stage: stage.name, field: 'command', message: 'has an empty command' });
    }
  }
  issues.push(...fanOutIssues(spec.stages));
  issues.push(...concurrencyIssues(spec.stages));

  const scheduled =
    fallbacks.size > 0 ? spec.stages.filter((stage) => !fallbacks.has(stage.name)) : spec.stages;
  // A dependency on a fallback was reported above; the graph check need not call it unknown.
  const built = Graph.build(
    fallbacks.size === 0
      ? scheduled
      : scheduled.map((stage) => ({
          name: stage.name,
          dependsOn: stage.dependsOn.filter((dep) => !fallbacks.has(dep)),
        })),
  );
  issues.push(...built.issues);
  if (!('graph' in built) || issues.length > 0) return { issues };
  // Graph.build keeps the stages' order, so graph index i is scheduled[i].
  return {
    pipeline: { spec, graph: built.graph, stages: scheduled, fallbacks, maxCpus: pool.cpus, pool },
    issues: [],
  };
}

/**
 * A stage name becomes a directory name in the run directory, so it must be one safe path
 * segment (SPEC H1): no separators, no `.` or `..`, no control characters.
 */
export function stageNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > 200) return 'it is longer than 200 characters';
  if (name === '.' || name === '..') return `'${name}' is not allowed`;
  // Stage names are keys of plain objects all over (outcomes, cache key parts, JSON).
  if (name === '__proto__') return "'__proto__' is reserved";
  if (/[/\\]/.test(name)) return 'it contains a path separator';
  if (/[[\]]/.test(name)) return 'brackets are kept for the instances of mapped stages (x[3])';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'it contains a control character';
  return undefined;
}

/** Mapped stages (`fanOut`): over a dependency; nested only over a mapped stage; no fallback. */
function fanOutIssues(stages: readonly StageSpec[]): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const mapped = new Map<string, boolean>();
  for (const stage of stages) mapped.set(stage.name, stage.fanOut !== undefined);
  for (const stage of stages) {
    const fanOut = stage.fanOut;
    if (!fanOut) continue;
    if (!stage.dependsOn.includes(fanOut.over)) {
      issues.push({
        stage: stage.name,
        field: 'for_each',
        message: `is mapped over '${fanOut.over}', which is not one of its dependencies`,
      });
    } else if (fanOut.nested && mapped.get(fanOut.over) === false) {
      issues.push({
        stage: stage.name,
        field: 'for_each',
        message: `nested fan-out over '${fanOut.over}', which is not a mapped stage`,
        hint: `drop nested: its list is fanned out as it is; nested fans out each item of a mapped stage`,
      });
    }
    if (stage.fallback !== undefined) {
      issues.push({
        stage: stage.name,
        field: 'fallback',
        message: 'a mapped stage cannot have a fallback',
        hint: 'retry its items instead (retry)',
      });
    }
  }
  return issues;
}
