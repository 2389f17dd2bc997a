import type { ExecutionMode, FailurePolicy } from '../graph/pipeline.ts';
import type { GroupRequests } from './concurrency-groups.ts';
import type { FanOutSpec } from './fan-out-table.ts';

export interface SchedulerOptions {
  mode: ExecutionMode;
  failurePolicy: FailurePolicy;
  maxCpus: number;
  /** CPU slots each stage holds while running, by stage index. */
  cpus: ArrayLike<number>;
  /** Memory budget (MB). @default no bound */
  maxMemoryMb?: number;
  /** Memory (MB) each stage reserves while running, by stage index. @default 0 */
  memoryMb?: ArrayLike<number>;
  /** GPU device ids to lease, lowest free first. @default none */
  gpuIds?: readonly number[];
  /** GPUs each stage leases while running, by stage index. @default 0 */
  gpus?: ArrayLike<number>;
  /** Concurrency groups: at most a group's limit of its stages run at once. @default none */
  groups?: GroupRequests;
  /**
   * How many stages may start ahead of the best ready stage while it does not fit (backfill)
   * before the scheduler holds back and lets resources drain for it, so that a large request
   * is never starved by a stream of small ones. @default 32
   */
  maxBypass?: number;
  /**
   * Stages already finished before this run starts (a resume, or outputs reused from earlier
   * runs), by stage index. A skipped stage satisfies nothing: none of its downstream may run.
   */
  finished?: ReadonlyMap<number, 'succeeded' | 'cached' | 'skipped'>;
  /** Mapped stages (dynamic fan-out). @default none */
  fanOut?: FanOutSpec;
  /**
   * The length of a finished stage's or instance's output when it is a list, else -1: what a
   * stage mapped over it fans out to. Asked only of the sources of mapped stages.
   */
  listLength?: (node: number) => number;
  /**
   * Mapped stage `template` gets `items` instances from the output list of node `over`; said
   * before any of them is made ready. @default none
   */
  onMapped?: (template: number, over: number, items: number) => void;
}
