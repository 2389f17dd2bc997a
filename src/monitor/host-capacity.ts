/**
 * What this machine offers a run: CPUs (available parallelism), memory (total RAM) and GPUs
 * (nvidia-smi, only asked when a stage wants one), each replaceable by an option.
 */
import { availableParallelism, totalmem } from 'node:os';
import type { PipelineSpec } from '../graph/pipeline.ts';
import type { HostCapacity } from '../graph/resources.ts';
import { detectGpus, visibleGpus } from './gpus.ts';

export interface HostOptions {
  /** @default the host's available parallelism */
  hostCpus?: number;
  /** @default the host's total memory */
  hostMemoryMb?: number;
  /** GPU device ids. @default detected with nvidia-smi when a stage requests GPUs */
  hostGpuIds?: readonly number[];
}

let detected: Promise<readonly number[]> | undefined;

/**
 * The host's capacity for `spec`. GPUs are detected only when a stage requests one and
 * max_gpus is not 0: nvidia-smi can take a second, and no other pipeline needs it. Detection
 * happens once per process.
 */
export async function hostCapacityFor(
  spec: PipelineSpec,
  options: HostOptions = {},
): Promise<HostCapacity> {
  const capacity: HostCapacity = {
    cpus: options.hostCpus ?? availableParallelism(),
    memoryMb: options.hostMemoryMb ?? totalmem() / (1024 * 1024),
    gpuIds: [],
  };
  if (options.hostGpuIds) {
    capacity.gpuIds = options.hostGpuIds;
    capacity.gpuSource = 'hostGpuIds';
  } else if (spec.maxGpus !== 0 && spec.stages.some((stage) => (stage.gpus ?? 0) > 0)) {
    detected ??= detectGpus().then((devices) =>
      visibleGpus(devices, process.env.CUDA_VISIBLE_DEVICES).map((device) => device.index),
    );
    capacity.gpuIds = await detected;
    if (process.env.CUDA_VISIBLE_DEVICES !== undefined)
      capacity.gpuSource = `nvidia-smi, narrowed by CUDA_VISIBLE_DEVICES="${process.env.CUDA_VISIBLE_DEVICES}"`;
  }
  return capacity;
}
