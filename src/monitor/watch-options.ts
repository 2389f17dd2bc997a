/** The resource monitor's options and the shapes of its watches (see resource-monitor.ts). */
import type { NetworkCounters } from './host-network.ts';
import type { ProcessInfo, ProcessIo, ProcessUsage } from './process-tree.ts';
import type { ResourceSummary } from './resource-sample.ts';

export interface ResourceMonitorOptions {
  /** Time between two samples of a running stage; 0 turns sampling off. @default 1000 */
  intervalMs?: number;
  /** Time between two checks of a stage with a memory limit. @default 250 */
  memoryIntervalMs?: number;
  /** The nvidia-smi to poll for GPU figures. @default 'nvidia-smi' on PATH */
  nvidiaSmi?: string;
  /** Reads the process table. @default readProcessTable */
  readTable?: () => readonly ProcessInfo[] | undefined;
  /** @default readTreeIo */
  readIo?: (pids: readonly number[]) => ProcessIo;
  /** Reads one process (a reused worker's figures at a stage's start and end). @default readProcessUsage */
  readUsage?: (pid: number) => ProcessUsage | undefined;
  /** @default readHostNetwork */
  readNetwork?: () => NetworkCounters;
  /** The orchestrator's own CPU time in µs, all threads. @default from process.cpuUsage */
  readOwnCpuUs?: () => number;
  /** The orchestrator's RSS. @default process.memoryUsage.rss */
  readOwnRss?: () => number;
  /** @default Date.now */
  now?: () => number;
}

export interface MemoryExceeded {
  limitBytes: number;
  /** The largest summed RSS seen, this sample included. */
  peakBytes: number;
  /** The tree's live processes at that sample. */
  pids: readonly number[];
}

export interface ProcessWatchOptions {
  /** GPUs leased to the stage: their figures go with its samples. */
  gpuIds?: readonly number[];
  /** Past this summed RSS, `onExceeded` is called (once). */
  memoryLimitBytes?: number;
  onExceeded?: (exceeded: MemoryExceeded) => void;
}

/** What wait4 told of the stage's root process, when the spawner reaped it itself. */
export interface ExitUsage {
  userCpuUs?: number;
  systemCpuUs?: number;
  maxRssKb?: number;
  /** Blocks of 512 bytes read from storage, by the root and every descendant it reaped. */
  inBlocks?: number;
  outBlocks?: number;
}

export interface WatchEnd {
  /** The highest summed RSS the samples saw (what a memory limit is checked against). */
  peakRssBytes: number;
  /** Absent when sampling is off. */
  summary?: ResourceSummary;
}

export interface WatchHandle {
  /** Takes the sample at exit and stops watching. */
  finish(exit?: ExitUsage): WatchEnd;
}
