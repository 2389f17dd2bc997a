/**
 * The running figures of one watched attempt: the monitor feeds it readings, it turns them into
 * samples and, at the end, a summary. Knows nothing of /proc or timers.
 */
import type { GpuReading } from './gpu-usage.ts';
import type { NetworkCounters } from './host-network.ts';
import type {
  AttemptKey,
  ResourceSample,
  ResourceSource,
  ResourceSummary,
} from './resource-sample.ts';

export class AttemptWatch {
  readonly key: AttemptKey;
  readonly source: ResourceSource;
  readonly startedAt: number;
  /** Cumulative figures since the start, updated by readings (never going back). */
  cpuSeconds = 0;
  readBytes = 0;
  writeBytes = 0;
  /** The latest RSS read, and the highest. */
  rssBytes = 0;
  peakRssBytes = 0;
  #samples = 0;
  #lastSampleAt: number;
  #cpuAtLastSample = 0;
  #netAtStart: NetworkCounters;
  #netAtLastSample: NetworkCounters;
  #peakGpuMemoryMb: number | undefined;

  constructor(key: AttemptKey, source: ResourceSource, now: number, net: NetworkCounters) {
    this.key = key;
    this.source = source;
    this.startedAt = now;
    this.#lastSampleAt = now;
    this.#netAtStart = net;
    this.#netAtLastSample = net;
  }

  /** Samples taken so far. */
  get samples(): number {
    return this.#samples;
  }

  get lastSampleAt(): number {
    return this.#lastSampleAt;
  }

  /** Readings are cumulative, but a process reaped outside the tree takes its share with it. */
  readCpu(seconds: number): void {
    if (seconds > this.cpuSeconds) this.cpuSeconds = seconds;
  }

  readIo(readBytes: number, writeBytes: number): void {
    if (readBytes > this.readBytes) this.readBytes = readBytes;
    if (writeBytes > this.writeBytes) this.writeBytes = writeBytes;
  }

  readRss(bytes: number): void {
    this.rssBytes = bytes;
    if (bytes > this.peakRssBytes) this.peakRssBytes = bytes;
  }

  /** A sample of what was read last; `final` for the one at exit. */
  sample(now: number, net: NetworkCounters, gpus: GpuReading[], final = false): ResourceSample {
    const elapsedSeconds = (now - this.#lastSampleAt) / 1000;
    const cpu = this.cpuSeconds - this.#cpuAtLastSample;
    const sample: ResourceSample = {
      runId: this.key.runId,
      stage: this.key.stage,
      attempt: this.key.attempt,
      ts: now,
      cpuPercent: elapsedSeconds > 0 ? round((cpu / elapsedSeconds) * 100) : 0,
      rssBytes: this.rssBytes,
      readBytes: this.readBytes,
      writeBytes: this.writeBytes,
      netRxBytes: Math.max(0, net.rxBytes - this.#netAtLastSample.rxBytes),
      netTxBytes: Math.max(0, net.txBytes - this.#netAtLastSample.txBytes),
    };
    if (gpus.length > 0) {
      sample.gpus = gpus;
      let memory = 0;
      for (const gpu of gpus) memory += gpu.memoryUsedMb;
      if (this.#peakGpuMemoryMb === undefined || memory > this.#peakGpuMemoryMb)
        this.#peakGpuMemoryMb = memory;
    }
    if (final) sample.final = true;
    this.#samples++;
    this.#lastSampleAt = now;
    this.#cpuAtLastSample = this.cpuSeconds;
    this.#netAtLastSample = net;
    return sample;
  }

  summary(now: number): ResourceSummary {
    const wallSeconds = (now - this.startedAt) / 1000;
    const summary: ResourceSummary = {
      source: this.source,
      samples: this.#samples,
      peakRssBytes: this.peakRssBytes,
      cpuSeconds: round(this.cpuSeconds, 3),
      avgCpuPercent: wallSeconds > 0 ? round((this.cpuSeconds / wallSeconds) * 100) : 0,
      readBytes: this.readBytes,
      writeBytes: this.writeBytes,
      netRxBytes: Math.max(0, this.#netAtLastSample.rxBytes - this.#netAtStart.rxBytes),
      netTxBytes: Math.max(0, this.#netAtLastSample.txBytes - this.#netAtStart.txBytes),
    };
    if (this.#peakGpuMemoryMb !== undefined) summary.peakGpuMemoryMb = this.#peakGpuMemoryMb;
    return summary;
  }
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
