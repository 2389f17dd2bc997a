/**
 * Resource requests against what a run may lease out: the pool (host capacity cut down by the
 * pipeline's max_* settings) and the checks that no stage asks for more than any pool could
 * grant. Pure: the host's capacity is detected elsewhere (src/monitor/host-capacity.ts).
 */
import type { GraphIssue } from './graph.ts';
import type { PipelineSpec, StageSpec, TaskSpec } from './pipeline.ts';

/** What a host offers stages. */
export interface HostCapacity {
  cpus: number;
  memoryMb: number;
  /** Its GPUs' device ids (nvidia-smi indices), lowest first. */
  gpuIds: readonly number[];
  /** What found the GPU ids, for messages. @default 'nvidia-smi' */
  gpuSource?: string;
}

/** What one run leases out to its stages. */
export interface ResourcePool {
  cpus: number;
  memoryMb: number;
  /** Device ids leased out, lowest free first; empty when GPU leasing is off. */
  gpuIds: readonly number[];
}

/** Task kinds whose process tree the executor watches, so that a memory limit can hold. */
const memoryLimitedKinds: ReadonlySet<TaskSpec['kind']> = new Set(['command', 'python']);

/** The pool of a run: max_* settings where given, the host's capacity otherwise. */
export function resourcePool(spec: PipelineSpec, host: HostCapacity): ResourcePool {
  const gpuIds = spec.maxGpus === undefined ? host.gpuIds : host.gpuIds.slice(0, spec.maxGpus);
  return {
    cpus: spec.maxCpus ?? host.cpus,
    memoryMb: spec.maxMemoryMb ?? host.memoryMb,
    gpuIds,
  };
}

/** The memory a stage reserves: its request, else its limit (as Kubernetes does), else none. */
export function memoryRequestMb(stage: StageSpec): number {
  return stage.memoryMb ?? stage.memoryLimitMb ?? 0;
}

/** Every resource problem of a pipeline: bad numbers and requests the pool cannot grant. */
export function resourceIssues(
  spec: PipelineSpec,
  host: HostCapacity,
  pool: ResourcePool,
): GraphIssue[] {
  const issues: GraphIssue[] = [];
  if (!(pool.cpus > 0)) {
    issues.push({ field: 'max_cpus', message: `max_cpus must be above 0, got ${pool.cpus}` });
  }
  if (spec.maxMemoryMb !== undefined && !(spec.maxMemoryMb > 0)) {
    issues.push({
      field: 'max_memory',
      message: `max_memory must be above 0, got ${spec.maxMemoryMb} MB`,
    });
  }
  if (spec.maxGpus !== undefined && !(Number.isInteger(spec.maxGpus) && spec.maxGpus >= 0)) {
    issues.push({
      field: 'max_gpus',
      message: `max_gpus must be an integer ≥ 0, got ${spec.maxGpus}`,
    });
  }
  for (const stage of spec.stages) {
    cpuIssue(stage, pool, issues);
    memoryIssues(stage, spec, pool, issues);
    gpuIssue(stage, spec, host, pool, issues);
  }
  return issues;
}

function cpuIssue(stage: StageSpec, pool: ResourcePool, issues: GraphIssue[]): void {
  if (!(stage.cpus >= 0) || !Number.isFinite(stage.cpus)) {
    issues.push({
      stage: stage.name,
      field: 'cpus',
      message: `cpus must be a number ≥ 0, got ${stage.cpus}`,
    });
  } else if (stage.cpus > pool.cpus) {
    issues.push({
      stage: stage.name,
      field: 'cpus',
      message: `requests ${stage.cpus} cpus but the pipeline allows at most ${pool.cpus} (max_cpus)`,
      hint: 'lower its cpus or raise resources.max_cpus',
    });
  }
}

function memoryIssues(
  stage: StageSpec,
  spec: PipelineSpec,
  pool: ResourcePool,
  issues: GraphIssue[],
): void {
  const { memoryMb, memoryLimitMb } = stage;
  const limitOk =
    memoryLimitMb === undefined || (memoryLimitMb > 0 && Number.isFinite(memoryLimitMb));
  if (!limitOk) {
    issues.push({
      stage: stage.name,
      field: 'memory_limit',
      message: `memory_limit must be above 0, got ${memoryLimitMb} MB`,
    });
  } else if (memoryLimitMb !== undefined && !memoryLimitedKinds.has(stage.task.kind)) {
    issues.push({
      stage: stage.name,
      field: 'memory_limit',
      message: `memory_limit applies to command stages; ${/^[aeiou]/.test(stage.task.kind) ? 'an' : 'a'} ${stage.task.kind} stage runs inside the orchestrator and cannot be limited alone`,
      hint: 'run it as a command, or drop memory_limit',
    });
  }
  if (memoryMb !== undefined && !(memoryMb >= 0 && Number.isFinite(memoryMb))) {
    issues.push({
      stage: stage.name,
      field: 'memory',
      message: `memory must be a number of MB ≥ 0, got ${memoryMb}`,
    });
    return;
  }
  if (!limitOk) return;
  if (memoryMb !== undefined && memoryLimitMb !== undefined && memoryMb > memoryLimitMb) {
    issues.push({
      stage: stage.name,
      field: 'memory',
      message: `reserves ${formatMemoryMb(memoryMb)} of memory, more than its memory_limit of ${formatMemoryMb(memoryLimitMb)}`,
      hint: 'a reservation cannot be above the limit',
    });
    return;
  }
  const request = memoryRequestMb(stage);
  if (request > pool.memoryMb) {
    const from = spec.maxMemoryMb === undefined ? "the host's memory" : 'resources.max_memory';
    const implied = memoryMb === undefined ? ' (its memory_limit, as it sets no memory)' : '';
    issues.push({
      stage: stage.name,
      field: memoryMb === undefined ? 'memory_limit' : 'memory',
      message: `reserves ${formatMemoryMb(request)} of memory${implied} but the pipeline has at most ${formatMemoryMb(pool.memoryMb)} (${from})`,
      hint:
        spec.maxMemoryMb === undefined
          ? 'lower its memory; no stage may reserve more than the host has'
          : 'lower its memory or raise resources.max_memory',
    });
  }
}

function gpuIssue(
  stage: StageSpec,
  spec: PipelineSpec,
  host: HostCapacity,
  pool: ResourcePool,
  issues: GraphIssue[],
): void {
  const gpus = stage.gpus;
  if (gpus === undefined || gpus === 0) return;
  if (!(Number.isInteger(gpus) && gpus > 0)) {
    issues.push({
      stage: stage.name,
      field: 'gpus',
      message: `gpus must be an integer ≥ 0, got ${gpus}`,
    });
    return;
  }
  if (gpus <= pool.gpuIds.length) return;
  const source = host.gpuSource ?? 'nvidia-smi';
  const why =
    spec.maxGpus === 0
      ? 'max_gpus is 0 (GPU leasing is off)'
      : host.gpuIds.length === 0
        ? `this host has none (${source})`
        : spec.maxGpus !== undefined && spec.maxGpus < host.gpuIds.length
          ? `the pipeline allows at most ${pool.gpuIds.length} (max_gpus)`
          : `this host has ${host.gpuIds.length} (${source})`;
  issues.push({
    stage: stage.name,
    field: 'gpus',
    message: `requests ${gpus} GPU${gpus === 1 ? '' : 's'} but ${why}`,
    hint: spec.maxGpus === 0 ? 'raise resources.max_gpus or lower its gpus' : 'lower its gpus',
  });
}

/** A size in MB as people write it: "512 MB", "100.3 MB", "1.5 GB", "0.25 MB". */
export function formatMemoryMb(mb: number): string {
  if (mb >= 1024 * 1024) return `${+(mb / (1024 * 1024)).toFixed(2)} TB`;
  if (mb >= 1024) return `${+(mb / 1024).toFixed(2)} GB`;
  return `${+mb.toFixed(mb < 10 ? 2 : 1)} MB`;
}
