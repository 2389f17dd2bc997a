import { memoryQuantityText, parseMemoryMb } from '../config/quantity.ts';
import { PipelineError } from '../errors.ts';
import { createExecutors } from '../executors/default-executors.ts';
import type { ExecutionMode, FailurePolicy, PipelineSpec, StageSpec } from '../graph/pipeline.ts';
import { type RunOptions, type RunResult, runPipeline } from '../scheduler/engine.ts';
import type { Stage } from './stage.ts';

export interface PipelineOptions {
  /** @default 'parallel' */
  mode?: ExecutionMode;
  /** @default 'fail_fast' */
  failurePolicy?: FailurePolicy;
  /** CPU budget. @default the host's core count */
  maxCpus?: number;
  /** Memory budget: MB or a size like `"16GB"`. @default the host's RAM */
  maxMemory?: number | string;
  /** GPUs to lease, lowest device ids first; 0 turns leasing off. @default all nvidia-smi finds */
  maxGpus?: number;
  /** How deep `context.executeTasks` / `context.map` may nest. @default 3 */
  maxNestedDepth?: number;
  /**
   * Time between two resource samples of a running stage, in ms; 0 or false turns the
   * monitor off. @default 1000
   */
  monitorInterval?: number | false;
}

export interface Pipeline {
  readonly spec: PipelineSpec;
  /** Runs it on this machine with the default executors. */
  run(options?: Partial<RunOptions>): Promise<RunResult>;
}

/**
 * A pipeline of the given stages and everything upstream of them.
 * @example
 * export default pipeline('report', [total]);
 */
export function pipeline(
  name: string,
  stages: readonly Stage[],
  options: PipelineOptions = {},
): Pipeline {
  // Upstream first, iteratively: a 100,000-stage chain must not exhaust the call stack.
  const specs: StageSpec[] = [];
  const seen = new Set<Stage>();
  const stack: { stage: Stage; expanded: boolean }[] = [...stages]
    .reverse()
    .map((stage) => ({ stage, expanded: false }));
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      specs.push(top.stage.spec, ...top.stage.companions);
      continue;
    }
    if (seen.has(top.stage)) continue;
    seen.add(top.stage);
    stack.push({ stage: top.stage, expanded: true });
    for (let k = top.stage.upstream.length - 1; k >= 0; k--) {
      const upstream = top.stage.upstream[k]!;
      if (!seen.has(upstream)) stack.push({ stage: upstream, expanded: false });
    }
  }
  const spec: PipelineSpec = {
    name,
    stages: specs,
    mode: options.mode ?? 'parallel',
    failurePolicy: options.failurePolicy ?? 'fail_fast',
  };
  if (options.maxCpus !== undefined) spec.maxCpus = options.maxCpus;
  if (options.maxMemory !== undefined) {
    const mb = parseMemoryMb(options.maxMemory);
    if (mb === undefined) {
      throw new PipelineError(
        'INVALID_PIPELINE',
        `pipeline '${name}': maxMemory must be ${memoryQuantityText}, got ${JSON.stringify(options.maxMemory)}`,
      );
    }
    spec.maxMemoryMb = mb;
  }
  if (options.maxGpus !== undefined) spec.maxGpus = options.maxGpus;
  if (options.maxNestedDepth !== undefined) spec.maxNestedDepth = options.maxNestedDepth;
  if (options.monitorInterval !== undefined) {
    const ms = options.monitorInterval === false ? 0 : options.monitorInterval;
    if (!Number.isFinite(ms) || ms < 0 || (ms > 0 && ms < 10)) {
      throw new PipelineError(
        'INVALID_PIPELINE',
        `pipeline '${name}': monitorInterval must be false or 0 (off), or at least 10 ms, got ${String(options.monitorInterval)}`,
      );
    }
    spec.monitorIntervalMs = ms;
  }
  return {
    spec,
    run: (runOptions = {}) =>
      runPipeline(spec, { executors: createExecutors(spec), ...runOptions }),
  };
}
