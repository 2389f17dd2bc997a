/**
 * GPU utilisation and memory in use, per device, from nvidia-smi. Polled in the background at
 * the monitor's interval (a query takes tens of milliseconds: never on the sampling tick
 * itself), and only while some watched stage holds a GPU. The latest reading is what a sample
 * takes.
 */
import { execFile } from 'node:child_process';
import { numberOrZero, nvidiaSmiRows } from './gpus.ts';

export interface GpuReading {
  index: number;
  /** `utilization.gpu`, percent over nvidia-smi's last sample period. */
  utilizationPercent: number;
  memoryUsedMb: number;
}

export const nvidiaSmiUsageArgs = [
  '--query-gpu=index,utilization.gpu,memory.used',
  '--format=csv,noheader,nounits',
] as const;

/** Lines of `index, utilization.gpu, memory.used`; lines that do not parse are left out. */
export function parseGpuUsage(csv: string): GpuReading[] {
  return nvidiaSmiRows(csv).map(({ index, fields: [utilization, memory] }) => ({
    index,
    utilizationPercent: numberOrZero(utilization),
    memoryUsedMb: numberOrZero(memory),
  }));
}

export interface GpuPollerOptions {
  /** @default 'nvidia-smi' (found on PATH) */
  command?: string;
  intervalMs: number;
}

/** Polls nvidia-smi while started; a missing or failing binary leaves no readings, quietly. */
export class GpuPoller {
  readonly #command: string;
  readonly #intervalMs: number;
  #latest = new Map<number, GpuReading>();
  #timer: NodeJS.Timeout | undefined;
  #inFlight = false;
  #unavailable = false;

  constructor(options: GpuPollerOptions) {
    this.#command = options.command ?? 'nvidia-smi';
    this.#intervalMs = options.intervalMs;
  }

  /** Starts polling (once), with a query at once so that a short stage gets a reading. */
  start(): void {
    if (this.#timer || this.#unavailable) return;
    this.#poll();
    this.#timer = setInterval(() => this.#poll(), this.#intervalMs).unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The latest readings of these devices (those nvidia-smi reported). */
  readings(indices: readonly number[]): GpuReading[] {
    const found: GpuReading[] = [];
    for (const index of indices) {
      const reading = this.#latest.get(index);
      if (reading) found.push(reading);
    }
    return found;
  }

  #poll(): void {
    if (this.#inFlight) return; // a slow nvidia-smi: skip a beat rather than pile up
    this.#inFlight = true;
    const child = execFile(
      this.#command,
      nvidiaSmiUsageArgs,
      { timeout: Math.max(this.#intervalMs * 5, 5000), encoding: 'utf8' },
      (error, stdout) => {
        this.#inFlight = false;
        if (error) {
          // Not there at all: stop asking. Any other failure may pass.
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
            this.#unavailable = true;
            this.stop();
          }
          return;
        }
        this.#latest = new Map(parseGpuUsage(stdout).map((reading) => [reading.index, reading]));
      },
    );
    child.unref();
  }
}
