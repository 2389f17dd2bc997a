/**
 * A stage's resource summary as `gpipe status --json` and `gpipe show` print it: sizes in MB
 * (one decimal), snake_case as the rest of the JSON the CLI prints.
 */
import { type ResourceSummary, toMb } from '../monitor/resource-sample.ts';

export interface ResourceJson {
  /** `process`: the stage's own process tree; `orchestrator`: in-process, shared by time. */
  source: ResourceSummary['source'];
  samples: number;
  peak_rss_mb: number;
  cpu_seconds: number;
  avg_cpu_percent: number;
  read_mb: number;
  write_mb: number;
  /** Host-wide traffic while the stage ran. */
  host_net_rx_mb: number;
  host_net_tx_mb: number;
  peak_gpu_memory_mb?: number;
}

export function resourceJson(summary: ResourceSummary): ResourceJson {
  const json: ResourceJson = {
    source: summary.source,
    samples: summary.samples,
    peak_rss_mb: toMb(summary.peakRssBytes),
    cpu_seconds: summary.cpuSeconds,
    avg_cpu_percent: summary.avgCpuPercent,
    read_mb: toMb(summary.readBytes),
    write_mb: toMb(summary.writeBytes),
    host_net_rx_mb: toMb(summary.netRxBytes),
    host_net_tx_mb: toMb(summary.netTxBytes),
  };
  if (summary.peakGpuMemoryMb !== undefined) json.peak_gpu_memory_mb = summary.peakGpuMemoryMb;
  return json;
}
