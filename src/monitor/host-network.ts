/**
 * Host-wide network traffic from /proc/net/dev: bytes received and sent by every interface but
 * loopback since boot. Linux keeps no per-process network counters, so a stage's network
 * figures are the host's traffic while it ran, shared with whatever else ran then.
 */
import { readFileSync } from 'node:fs';

export interface NetworkCounters {
  rxBytes: number;
  txBytes: number;
}

/** The counters now; zeros where there is no /proc/net/dev. */
export function readHostNetwork(file = '/proc/net/dev'): NetworkCounters {
  try {
    return parseNetDev(readFileSync(file, 'latin1'));
  } catch {
    return { rxBytes: 0, txBytes: 0 };
  }
}

/** `iface: rx_bytes rx_packets … (8 fields) tx_bytes …` per line after two header lines. */
export function parseNetDev(text: string): NetworkCounters {
  const counters: NetworkCounters = { rxBytes: 0, txBytes: 0 };
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    if (line.slice(0, colon).trim() === 'lo') continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const rx = Number(fields[0]);
    const tx = Number(fields[8]);
    if (Number.isFinite(rx)) counters.rxBytes += rx;
    if (Number.isFinite(tx)) counters.txBytes += tx;
  }
  return counters;
}
