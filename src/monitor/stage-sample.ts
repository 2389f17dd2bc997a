/**
 * The latest resource figures of a running stage, as the resource monitor reports them (SPEC
 * E1) to the live view (SPEC E3). Not a RunEvent: samples are many, and the run's event
 * history is no place for them (the monitor keeps them in its own table).
 */
export interface StageSample {
  event: 'stage_sample';
  stage: string;
  ts: number;
  /** CPU use of the stage's process tree; 100 = one core. */
  cpuPercent: number;
  /** Resident memory of the stage's process tree, MB. */
  rssMb: number;
}
