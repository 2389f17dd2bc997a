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
  const specs: StageSpec[] = [];
  const seen = new Set<Stage>();
  const visit = (stage: Stage) => {
    if (seen.has(stage)) return;
    seen.add(stage);
    for (const upstream of stage.upstream) visit(upstream);
    specs.push(stage.spec, ...stage.companions);
  };
  for (const stage of stages) visit(stage);
  const spec: PipelineSpec = {
    name,
    stages: specs,
    mode: options.mode ?? 'parallel',
    failurePolicy: options.failurePolicy ?? 'fail_fast',
  };
  if (options.maxCpus !== undefined) spec.maxCpus = options.maxCpus;
  return {
    spec,
    run: (runOptions = {}) =>
      runPipeline(spec, { executors: createExecutors(spec), ...runOptions }),
  };
}
