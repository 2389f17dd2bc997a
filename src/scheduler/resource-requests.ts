import { memoryRequestMb } from '../graph/resources.ts';
import type { ValidPipeline } from '../graph/validate.ts';

/** Each stage's requests by index; memory and GPUs only when some stage asks for them. */
export function resourceRequests(pipeline: ValidPipeline): {
  cpus: Float64Array;
  memoryMb?: Float64Array;
  gpus?: Int32Array;
} {
  const n = pipeline.stages.length;
  const cpus = new Float64Array(n);
  const memoryMb = new Float64Array(n);
  const gpus = new Int32Array(n);
  let anyMemory = false;
  let anyGpus = false;
  for (let i = 0; i < n; i++) {
    const stage = pipeline.stages[i]!;
    cpus[i] = pipeline.spec.mode === 'sequential' ? 0 : stage.cpus;
    memoryMb[i] = memoryRequestMb(stage);
    gpus[i] = stage.gpus ?? 0;
    if (memoryMb[i]! > 0) anyMemory = true;
    if (gpus[i]! > 0) anyGpus = true;
  }
  const requests: { cpus: Float64Array; memoryMb?: Float64Array; gpus?: Int32Array } = { cpus };
  if (anyMemory) requests.memoryMb = memoryMb;
  if (anyGpus) requests.gpus = gpus;
  return requests;
}
