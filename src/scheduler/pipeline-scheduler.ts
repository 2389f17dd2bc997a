import type { ValidPipeline } from '../graph/validate.ts';
import { groupRequests } from './concurrency-groups.ts';
import { fanOutSpec } from './fan-out-items.ts';
import type { FinishedBefore } from './prior-stages.ts';
import { resourceRequests } from './resource-requests.ts';
import { Scheduler } from './scheduler.ts';

/**
 * The scheduler of a validated pipeline: its mode, failure policy, pool and each stage's
 * requests and concurrency groups, the stages finished before the run, and its mapped stages, which fan out to the
 * length of their source's output in `outputs` (by node). `leasesGpus`: some stage requests
 * GPUs, so every stage gets a lease, empty or not.
 */
export function pipelineScheduler(
  pipeline: ValidPipeline,
  finished: FinishedBefore | undefined,
  outputs: readonly unknown[],
  onMapped: ((template: number, over: number, items: number) => void) | undefined,
): { scheduler: Scheduler; leasesGpus: boolean } {
  const { cpus, memoryMb, gpus } = resourceRequests(pipeline);
  const fanOut = fanOutSpec(pipeline);
  const groups = groupRequests(pipeline.stages);
  const scheduler = new Scheduler(pipeline.graph, {
    ...(fanOut && {
      fanOut,
      listLength: (node: number) => {
        const output = outputs[node];
        return Array.isArray(output) ? output.length : -1;
      },
      ...(onMapped && { onMapped }),
    }),
    mode: pipeline.spec.mode,
    failurePolicy: pipeline.spec.failurePolicy,
    maxCpus: pipeline.maxCpus,
    cpus,
    ...(memoryMb && { maxMemoryMb: pipeline.pool.memoryMb, memoryMb }),
    ...(gpus && { gpuIds: pipeline.pool.gpuIds, gpus }),
    ...(groups && { groups }),
    finished,
  });
  return { scheduler, leasesGpus: gpus !== undefined };
}
