/**
 * What the resource monitor records (SPEC E1): samples of a stage attempt as it runs and one
 * summary when it ends. Plain data: they travel in StageResults and into the run store.
 */
import type { GpuReading } from './gpu-usage.ts';

/** Whose figures these are: the stage's own process tree, or the orchestrator's, shared. */
export type ResourceSource = 'process' | 'orchestrator';

export interface ResourceSample {
  runId: string;
  stage: string;
  attempt: number;
  /** Epoch milliseconds. */
  ts: number;
  /** CPU use since the attempt's previous sample (or its start); 100 is one core busy. */
  cpuPercent: number;
  /** Resident memory of the whole tree now (at exit: the last seen, or the peak wait4 saw). */
  rssBytes: number;
  /** Storage bytes read since the attempt started. */
  readBytes: number;
  /** Storage bytes written since the attempt started. */
  writeBytes: number;
  /** Bytes the host (all interfaces but loopback) received since the previous sample. */
  netRxBytes: number;
  /** Bytes the host sent since the previous sample. */
  netTxBytes: number;
  /** The attempt's leased GPUs, as nvidia-smi last reported them. */
  gpus?: GpuReading[];
  /** The sample taken as the attempt ended. */
  final?: true;
}

export interface ResourceSummary {
  source: ResourceSource;
  /** Samples recorded, the one at exit included. */
  samples: number;
  peakRssBytes: number;
  cpuSeconds: number;
  /** cpuSeconds over the attempt's wall time, in percent of one core. */
  avgCpuPercent: number;
  readBytes: number;
  writeBytes: number;
  /** Host-wide, while the attempt ran. */
  netRxBytes: number;
  netTxBytes: number;
  /** The largest memory in use over the attempt's GPUs at one sample; absent without GPUs. */
  peakGpuMemoryMb?: number;
}

/** A summary with the attempt it belongs to: a row of the run store. */
export interface ResourceSummaryRecord extends ResourceSummary {
  runId: string;
  stage: string;
  attempt: number;
}

/** Which attempt a watch is of. */
export interface AttemptKey {
  runId: string;
  stage: string;
  attempt: number;
}

const mb = 1024 * 1024;

/** Bytes as MB with one decimal: what status and summaries show. */
export function toMb(bytes: number): number {
  return Math.round((bytes / mb) * 10) / 10;
}
