import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GpuPoller, nvidiaSmiUsageArgs, parseGpuUsage } from './gpu-usage.ts';
import { parseNetDev } from './host-network.ts';

test('nvidia-smi usage lines parse; N/A reads as 0 and junk lines are left out', () => {
  assert.deepEqual(parseGpuUsage('0, 87, 40536\n1, [N/A], 3\nNo devices were found\n\n'), [
    { index: 0, utilizationPercent: 87, memoryUsedMb: 40536 },
    { index: 1, utilizationPercent: 0, memoryUsedMb: 3 },
  ]);
});

test('host network counters leave loopback out and sum the rest', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 1000 10 0 0 0 0 0 0 500 5 0 0 0 0 0 0
  eth1:   20 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0
`;
  assert.deepEqual(parseNetDev(text), { rxBytes: 1020, txBytes: 507 });
});

test('the poller runs the nvidia-smi it is given with the usage query', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-gpu-'));
  const fake = join(dir, 'nvidia-smi');
  writeFileSync(
    fake,
    `#!/bin/sh\n[ "$1 $2" = "${nvidiaSmiUsageArgs.join(' ')}" ] || exit 9\necho "0, 55, 1000"\necho "1, 99, 2000"\n`,
  );
  chmodSync(fake, 0o755);
  const poller = new GpuPoller({ command: fake, intervalMs: 20 });
  try {
    poller.start();
    for (let i = 0; i < 500 && poller.readings([1]).length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(poller.readings([1]), [
      { index: 1, utilizationPercent: 99, memoryUsedMb: 2000 },
    ]);
    assert.deepEqual(poller.readings([7]), []);
  } finally {
    poller.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
