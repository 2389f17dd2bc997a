import type { StageTask } from '../executors/executor.ts';
import type { StageSpec } from '../graph/pipeline.ts';
import { memoryRequestMb } from '../graph/resources.ts';
import type { ValidPipeline } from '../graph/validate.ts';
import type { FanOutItem } from './fan-out-items.ts';

/** What a run knows that every task it builds shares. */
export interface TaskSetting {
  runId: string;
  pipeline: ValidPipeline;
  workspaceRoot: string;
  runDir: string;
  outputs: readonly unknown[];
}

/**
 * The serialisable task of one attempt of graph stage `template` (or of one of its fan-out
 * instances, named `name`, with its `item`): upstream outputs by name and by input key, paths,
 * resources. A mapped stage's source is not among its inputs: the item stands in for it.
 */
export function buildStageTask(
  setting: TaskSetting,
  template: number,
  spec: StageSpec,
  attempt: number,
  instance?: { name: string; item: FanOutItem },
): StageTask {
  const { pipeline, outputs } = setting;
  const stage = pipeline.stages[template]!;
  const graph = pipeline.graph;
  const source = stage.fanOut?.over;
  // Null-prototype records start in dictionary mode: no hidden class per distinct key set.
  const dependencyResults: Record<string, unknown> = Object.create(null);
  for (let e = graph.upstreamStart[template]!; e < graph.upstreamStart[template + 1]!; e++) {
    const d = graph.upstream[e]!;
    const name = graph.names[d]!;
    if (name !== source) dependencyResults[name] = outputs[d];
  }
  let inputs = dependencyResults;
  if (stage.inputs) {
    inputs = {};
    for (const [key, upstream] of Object.entries(stage.inputs))
      inputs[key] = dependencyResults[upstream];
  }
  // A fallback runs under its own name, so that it finds its own function and files.
  const name = instance?.name ?? spec.name;
  const task: StageTask = {
    runId: setting.runId,
    pipelineName: pipeline.spec.name,
    stage: name,
    attempt,
    spec: spec.task,
    inputs,
    dependencyResults,
    cpus: stage.cpus,
    paths: {
      workspaceRoot: setting.workspaceRoot,
      runDir: setting.runDir,
      // Stage names are checked to be safe path segments, so plain concatenation is enough.
      stageDir: `${setting.runDir}/${name}`,
    },
  };
  if (instance) task.item = instance.item;
  task.resources = { cpus: stage.cpus, memoryMb: memoryRequestMb(stage) };
  if (spec.timeoutMs !== undefined) task.timeoutMs = spec.timeoutMs;
  if (spec.memoryLimitMb !== undefined) task.memoryLimitMb = spec.memoryLimitMb;
  if (spec.params !== undefined) task.params = spec.params;
  return task;
}
