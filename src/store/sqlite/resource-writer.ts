/**
 * The writer thread's side of resource records: samples in multi-row inserts, summaries
 * replaced by attempt. Runs inside the writer's transaction and savepoint.
 */
import type Database from 'better-sqlite3';
import type { ResourceSample, ResourceSummaryRecord } from '../../monitor/resource-sample.ts';
import type { ResourceBatch } from '../run-store.ts';
import { MultiRowInsert } from './multi-row-insert.ts';

const rowsPerStatement = 64;

export class ResourceWriter {
  readonly #samples: MultiRowInsert;
  readonly #summaries: MultiRowInsert;
  readonly #runKey: (runId: string) => number;

  /** `runKey` finds a run's key, throwing for a run not in the store. */
  constructor(db: Database.Database, runKey: (runId: string) => number) {
    this.#runKey = runKey;
    this.#samples = new MultiRowInsert(
      db,
      `INSERT INTO resource_samples (run_key, stage, attempt, ts, cpu_percent, rss_bytes,
        read_bytes, write_bytes, net_rx_bytes, net_tx_bytes, gpus, final)`,
      12,
      rowsPerStatement,
    );
    this.#summaries = new MultiRowInsert(
      db,
      `INSERT OR REPLACE INTO resource_summaries (run_key, stage, attempt, source, samples,
        peak_rss_bytes, cpu_seconds, avg_cpu_percent, read_bytes, write_bytes, net_rx_bytes,
        net_tx_bytes, peak_gpu_memory_mb, final_ts, final_cpu_percent, final_rss_bytes,
        final_read_bytes, final_write_bytes, final_net_rx_bytes, final_net_tx_bytes, final_gpus)`,
      21,
      rowsPerStatement,
    );
  }

  write(batch: ResourceBatch): void {
    // An exit sample whose summary is in the batch goes into the summary's row.
    const finals = new Map<string, ResourceSample | undefined>();
    for (const summary of batch.summaries) finals.set(keyOf(summary), undefined);
    for (const sample of batch.samples) {
      const key = sample.final ? keyOf(sample) : undefined;
      if (key !== undefined && finals.has(key) && finals.get(key) === undefined)
        finals.set(key, sample);
      else this.#samples.add(this.#sampleRow(sample));
    }
    for (const summary of batch.summaries)
      this.#summaries.add(this.#summaryRow(summary, finals.get(keyOf(summary))));
    this.#samples.flush();
    this.#summaries.flush();
  }

  discard(): void {
    this.#samples.discard();
    this.#summaries.discard();
  }

  #sampleRow(s: ResourceSample): unknown[] {
    return [
      this.#runKey(s.runId),
      s.stage,
      s.attempt,
      s.ts,
      s.cpuPercent,
      Math.round(s.rssBytes),
      Math.round(s.readBytes),
      Math.round(s.writeBytes),
      s.netRxBytes,
      s.netTxBytes,
      s.gpus ? JSON.stringify(s.gpus) : null,
      s.final ? 1 : 0,
    ];
  }

  #summaryRow(s: ResourceSummaryRecord, final: ResourceSample | undefined): unknown[] {
    return [
      this.#runKey(s.runId),
      s.stage,
      s.attempt,
      s.source,
      s.samples,
      Math.round(s.peakRssBytes),
      s.cpuSeconds,
      s.avgCpuPercent,
      Math.round(s.readBytes),
      Math.round(s.writeBytes),
      s.netRxBytes,
      s.netTxBytes,
      s.peakGpuMemoryMb ?? null,
      final?.ts ?? null,
      final?.cpuPercent ?? null,
      final ? Math.round(final.rssBytes) : null,
      final ? Math.round(final.readBytes) : null,
      final ? Math.round(final.writeBytes) : null,
      final?.netRxBytes ?? null,
      final?.netTxBytes ?? null,
      final?.gpus ? JSON.stringify(final.gpus) : null,
    ];
  }
}

function keyOf(record: { runId: string; stage: string; attempt: number }): string {
  return `${record.attempt}\0${record.stage}\0${record.runId}`;
}
