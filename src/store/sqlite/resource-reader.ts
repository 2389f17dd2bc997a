/** Reads resource samples and summaries back as records (a NULL column is an absent field). */
import type Database from 'better-sqlite3';
import type { GpuReading } from '../../monitor/gpu-usage.ts';
import type {
  ResourceSample,
  ResourceSource,
  ResourceSummaryRecord,
} from '../../monitor/resource-sample.ts';

interface SampleRow {
  stage: string;
  attempt: number;
  ts: number;
  cpu_percent: number;
  rss_bytes: number;
  read_bytes: number;
  write_bytes: number;
  net_rx_bytes: number;
  net_tx_bytes: number;
  gpus: string | null;
  final: number;
}

interface SummaryRow {
  stage: string;
  attempt: number;
  source: ResourceSource;
  samples: number;
  peak_rss_bytes: number;
  cpu_seconds: number;
  avg_cpu_percent: number;
  read_bytes: number;
  write_bytes: number;
  net_rx_bytes: number;
  net_tx_bytes: number;
  peak_gpu_memory_mb: number | null;
}

const runKey = '(SELECT id FROM runs WHERE run_id = ?)';

export class ResourceReader {
  readonly #sql;

  constructor(db: Database.Database) {
    const summaries = `SELECT * FROM resource_summaries WHERE run_key = ${runKey}`;
    // Exit samples kept in their summary's row come back as samples of their own.
    const samples = (stage: string) => `
      SELECT stage, attempt, ts, cpu_percent, rss_bytes, read_bytes, write_bytes, net_rx_bytes,
        net_tx_bytes, gpus, final
      FROM resource_samples WHERE run_key = ${runKey} ${stage}
      UNION ALL
      SELECT stage, attempt, final_ts, final_cpu_percent, final_rss_bytes, final_read_bytes,
        final_write_bytes, final_net_rx_bytes, final_net_tx_bytes, final_gpus, 1
      FROM resource_summaries WHERE run_key = ${runKey} ${stage} AND final_ts IS NOT NULL
      ORDER BY stage, attempt, ts, final`;
    this.#sql = {
      samples: db.prepare(samples('')),
      stageSamples: db.prepare(samples('AND stage = ?')),
      summaries: db.prepare(`${summaries} ORDER BY stage, attempt`),
      stageSummaries: db.prepare(`${summaries} AND stage = ? ORDER BY attempt`),
    };
  }

  samples(runId: string, stage?: string): ResourceSample[] {
    const rows =
      // Each half of the union names the run (and the stage) again.
      (
        stage === undefined
          ? this.#sql.samples.all(runId, runId)
          : this.#sql.stageSamples.all(runId, stage, runId, stage)
      ) as SampleRow[];
    return rows.map((row) => {
      const sample: ResourceSample = {
        runId,
        stage: row.stage,
        attempt: row.attempt,
        ts: row.ts,
        cpuPercent: row.cpu_percent,
        rssBytes: row.rss_bytes,
        readBytes: row.read_bytes,
        writeBytes: row.write_bytes,
        netRxBytes: row.net_rx_bytes,
        netTxBytes: row.net_tx_bytes,
      };
      if (row.gpus !== null) sample.gpus = JSON.parse(row.gpus) as GpuReading[];
      if (row.final === 1) sample.final = true;
      return sample;
    });
  }

  summaries(runId: string, stage?: string): ResourceSummaryRecord[] {
    const rows = (
      stage === undefined
        ? this.#sql.summaries.all(runId)
        : this.#sql.stageSummaries.all(runId, stage)
    ) as SummaryRow[];
    return rows.map((row) => {
      const summary: ResourceSummaryRecord = {
        runId,
        stage: row.stage,
        attempt: row.attempt,
        source: row.source,
        samples: row.samples,
        peakRssBytes: row.peak_rss_bytes,
        cpuSeconds: row.cpu_seconds,
        avgCpuPercent: row.avg_cpu_percent,
        readBytes: row.read_bytes,
        writeBytes: row.write_bytes,
        netRxBytes: row.net_rx_bytes,
        netTxBytes: row.net_tx_bytes,
      };
      if (row.peak_gpu_memory_mb !== null) summary.peakGpuMemoryMb = row.peak_gpu_memory_mb;
      return summary;
    });
  }
}
