import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReapedCpu, type ReapedCpuTime, readReapedChildrenCpu } from './reaped-cpu.ts';

/** A ledger over a scripted total of reaped children's CPU time. */
function scripted() {
  const total: ReapedCpuTime = { userCpuUs: 1_000_000, systemCpuUs: 100_000 };
  const ledger = new ReapedCpu(() => ({ ...total }));
  return { total, ledger };
}

test('a child reaped alone gets the rise of the total since the last spawn', async () => {
  const { total, ledger } = scripted();
  total.userCpuUs += 50_000; // a child of something else, before our command started
  ledger.spawning();
  total.userCpuUs += 700_000;
  total.systemCpuUs += 30_000;
  assert.deepEqual(await ledger.exited(), { userCpuUs: 700_000, systemCpuUs: 30_000 });
  // The next one counts from there.
  total.userCpuUs += 10_000;
  assert.deepEqual(await ledger.exited(), { userCpuUs: 10_000, systemCpuUs: 0 });
});

test('children reaped in the same turn cannot be told apart: none gets figures', async () => {
  const { total, ledger } = scripted();
  ledger.spawning();
  total.userCpuUs += 400_000;
  const first = ledger.exited();
  // A spawn between two exits of one turn must not move the baseline past the first's time.
  ledger.spawning();
  const second = ledger.exited();
  assert.deepEqual(await Promise.all([first, second]), [undefined, undefined]);
  total.userCpuUs += 20_000;
  assert.deepEqual(await ledger.exited(), { userCpuUs: 20_000, systemCpuUs: 0 });
});

test('without /proc there are no figures', async () => {
  const ledger = new ReapedCpu(() => undefined);
  ledger.spawning();
  assert.equal(await ledger.exited(), undefined);
});

test('this process’s own total reads as µs in whole clock ticks', () => {
  const read = readReapedChildrenCpu();
  assert.ok(read);
  assert.equal(read.userCpuUs % 10_000, 0);
  assert.ok(read.userCpuUs >= 0 && read.systemCpuUs >= 0);
});
