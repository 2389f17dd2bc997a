import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProcessInfo } from './process-tree.ts';
import { ResourceMonitor, type ResourceMonitorOptions } from './resource-monitor.ts';
import type { ResourceSample } from './resource-sample.ts';

/** A monitor over a scripted /proc, clock and network; collects the samples it emits. */
function scripted(options: ResourceMonitorOptions = {}) {
  const state = {
    now: 1_000_000,
    table: [] as ProcessInfo[],
    io: new Map<number, { readBytes: number; writeBytes: number }>(),
    net: { rxBytes: 0, txBytes: 0 },
    ownCpuUs: 0,
  };
  const monitor = new ResourceMonitor({
    intervalMs: 1000,
    readTable: () => state.table,
    readIo: (pids) => {
      const total = { readBytes: 0, writeBytes: 0 };
      for (const pid of pids) {
        const io = state.io.get(pid);
        total.readBytes += io?.readBytes ?? 0;
        total.writeBytes += io?.writeBytes ?? 0;
      }
      return total;
    },
    readNetwork: () => ({ ...state.net }),
    readOwnCpuUs: () => state.ownCpuUs,
    readOwnRss: () => 300 * 1024 * 1024,
    now: () => state.now,
    ...options,
  });
  const samples: ResourceSample[] = [];
  monitor.subscribe((batch) => samples.push(...batch));
  return { state, monitor, samples };
}

const proc = (pid: number, ppid: number, cpuTicks: number, rssMb: number): ProcessInfo => ({
  pid,
  ppid,
  pgid: 10,
  state: 'R',
  rssBytes: rssMb * 1024 * 1024,
  cpuTicks,
  childCpuTicks: 0,
});
const key = { runId: 'r', stage: 'train', attempt: 1 };

test('a process tree: CPU % from tick deltas, summed RSS, IO, host network, exact figures at exit', () => {
  const { state, monitor, samples } = scripted();
  try {
    const watch = monitor.watchProcess(key, 10);
    // One second later: the shell idles, its grandchild burned 0.9 s of CPU.
    state.now += 1000;
    state.table = [proc(10, 1, 0, 2), proc(11, 10, 0, 1), proc(12, 11, 90, 100)];
    state.io.set(12, { readBytes: 1024, writeBytes: 5 * 1024 * 1024 });
    state.net = { rxBytes: 4000, txBytes: 1000 };
    monitor.tick();
    assert.equal(samples.length, 1);
    assert.deepEqual(samples[0], {
      ...key,
      ts: state.now,
      cpuPercent: 90,
      rssBytes: 103 * 1024 * 1024,
      readBytes: 1024,
      writeBytes: 5 * 1024 * 1024,
      netRxBytes: 4000,
      netTxBytes: 1000,
    });
    // Half a second on, the grandchild has gone; wait4 covers it: 1.4 s, 12 MB written.
    state.now += 500;
    const end = watch.finish({
      userCpuUs: 1_200_000,
      systemCpuUs: 200_000,
      maxRssKb: 110 * 1024,
      inBlocks: 2,
      outBlocks: (12 * 1024 * 1024) / 512,
    });
    assert.equal(samples.length, 2);
    const last = samples[1]!;
    assert.equal(last.final, true);
    assert.equal(last.cpuPercent, 100); // 0.5 s of CPU in 0.5 s
    assert.equal(last.writeBytes, 12 * 1024 * 1024);
    assert.deepEqual(end.summary, {
      source: 'process',
      samples: 2,
      peakRssBytes: 110 * 1024 * 1024,
      cpuSeconds: 1.4,
      avgCpuPercent: 93.3,
      readBytes: 1024,
      writeBytes: 12 * 1024 * 1024,
      netRxBytes: 4000,
      netTxBytes: 1000,
    });
    // Nothing is watched any more: a tick samples nothing.
    state.now += 1000;
    monitor.tick();
    assert.equal(samples.length, 2);
  } finally {
    monitor.close();
  }
});

test('a stage shorter than a tick still gets one sample, from wait4', () => {
  const { state, monitor, samples } = scripted();
  try {
    const watch = monitor.watchProcess(key, 10);
    // A tick after it ended, before its end was seen: nothing alive, no sample of zeros.
    state.now += 1000;
    monitor.tick();
    assert.equal(samples.length, 0);
    const { summary } = watch.finish({ userCpuUs: 150_000, systemCpuUs: 50_000, maxRssKb: 2048 });
    assert.equal(samples.length, 1);
    assert.equal(samples[0]!.cpuPercent, 20);
    assert.equal(samples[0]!.rssBytes, 2 * 1024 * 1024);
    assert.equal(summary?.samples, 1);
    assert.equal(summary?.cpuSeconds, 0.2);
  } finally {
    monitor.close();
  }
});

test('a tree caught exiting (memory gone, not yet a zombie) gives no sample of 0 bytes', () => {
  const { state, monitor, samples } = scripted();
  try {
    const watch = monitor.watchProcess(key, 10);
    state.now += 1000;
    state.table = [proc(10, 1, 5, 2), proc(11, 10, 40, 64)];
    monitor.tick();
    state.now += 1000;
    state.table = [proc(10, 1, 5, 0), proc(11, 10, 60, 0)];
    monitor.tick();
    assert.equal(samples.length, 1, 'no sample of the exiting tree');
    watch.finish({ userCpuUs: 700_000, systemCpuUs: 0, maxRssKb: 70 * 1024 });
    assert.deepEqual(
      samples.map((s) => [s.rssBytes, s.final === true]),
      [
        [66 * 1024 * 1024, false],
        [66 * 1024 * 1024, true],
      ],
    );
  } finally {
    monitor.close();
  }
});

test('CPU time never goes back when a process is reaped outside the tree', () => {
  const { state, monitor, samples } = scripted();
  try {
    const watch = monitor.watchProcess(key, 10);
    state.now += 1000;
    state.table = [proc(10, 1, 50, 1)];
    monitor.tick();
    state.now += 1000;
    state.table = [proc(10, 1, 20, 1)];
    monitor.tick();
    assert.deepEqual(
      samples.map((s) => s.cpuPercent),
      [50, 0],
    );
    assert.equal(watch.finish().summary?.cpuSeconds, 0.5);
  } finally {
    monitor.close();
  }
});

test('in-process stages share the orchestrator’s CPU by the time each held', () => {
  let cpuReads = 0;
  const { state, monitor, samples } = scripted({
    intervalMs: 100,
    readOwnCpuUs: () => {
      cpuReads++;
      return state.ownCpuUs;
    },
  });
  try {
    const a = monitor.watchInProcess({ runId: 'r', stage: 'a', attempt: 1 });
    state.ownCpuUs += 100_000; // a alone
    state.now += 100;
    monitor.tick();
    const b = monitor.watchInProcess({ runId: 'r', stage: 'b', attempt: 1 });
    state.ownCpuUs += 200_000; // a and b
    state.now += 200;
    monitor.tick();
    const endA = a.finish();
    state.ownCpuUs += 50_000; // b alone for 50 ms
    state.now += 50;
    // c runs for 50 ms beside b: it held a quarter of b's last 100 ms, and ends unsampled.
    const c = monitor.watchInProcess({ runId: 'r', stage: 'c', attempt: 1 });
    state.ownCpuUs += 50_000;
    state.now += 50;
    const readsBefore = cpuReads;
    const endC = c.finish();
    assert.equal(cpuReads, readsBefore, 'an unsampled stage ends without a system call');
    const endB = b.finish();
    assert.equal(endA.summary?.cpuSeconds, 0.2);
    assert.equal(endB.summary?.cpuSeconds, 0.175);
    assert.equal(endA.summary?.source, 'orchestrator');
    assert.equal(endA.summary?.peakRssBytes, 300 * 1024 * 1024);
    assert.deepEqual(
      samples.map((sample) => [sample.stage, sample.cpuPercent, sample.final === true]),
      [
        ['a', 100, false],
        ['a', 50, false],
        ['b', 50, false],
        ['a', 0, true],
        ['b', 75, true],
      ],
    );
    // c ran for no whole interval: no figures, no sample.
    assert.equal(endC.summary, undefined);
  } finally {
    monitor.close();
  }
});

test('stages that come and go between two ticks read only the clock', () => {
  let cpuReads = 0;
  const { state, monitor, samples } = scripted({
    readOwnCpuUs: () => {
      cpuReads++;
      return state.ownCpuUs;
    },
  });
  try {
    for (let i = 0; i < 1000; i++) {
      const watch = monitor.watchInProcess({ runId: 'r', stage: `s${i}`, attempt: 1 });
      state.now += 0.5;
      assert.equal(watch.finish().summary, undefined);
    }
    assert.equal(cpuReads, 1);
    assert.equal(samples.length, 0);
  } finally {
    monitor.close();
  }
});

test('GPU readings come from the poller for the leased devices only', async () => {
  const { monitor, samples } = scripted({ nvidiaSmi: 'gpipe-no-such-nvidia-smi' });
  try {
    // No nvidia-smi: no GPU figures, and no failure.
    const watch = monitor.watchProcess(key, 10, { gpuIds: [0] });
    const { summary } = watch.finish({ userCpuUs: 0, systemCpuUs: 0 });
    assert.equal(samples[0]!.gpus, undefined);
    assert.equal(summary?.peakGpuMemoryMb, undefined);
  } finally {
    monitor.close();
  }
});

test('a memory limit is enforced with sampling off, and then nothing is recorded', () => {
  const { state, monitor, samples } = scripted({ intervalMs: 0 });
  try {
    let exceeded: { peakBytes: number; pids: readonly number[] } | undefined;
    const watch = monitor.watchProcess(key, 10, {
      memoryLimitBytes: 50 * 1024 * 1024,
      onExceeded: (over) => {
        exceeded = over;
      },
    });
    state.table = [proc(10, 1, 0, 10), proc(11, 10, 0, 60)];
    monitor.tick();
    assert.deepEqual(exceeded, {
      limitBytes: 50 * 1024 * 1024,
      peakBytes: 70 * 1024 * 1024,
      pids: [10, 11],
    });
    const end = watch.finish();
    assert.equal(end.peakRssBytes, 70 * 1024 * 1024);
    assert.equal(end.summary, undefined);
    assert.equal(samples.length, 0);
    // Without a limit, a monitor that is off does not watch at all.
    assert.deepEqual(monitor.watchProcess(key, 12).finish(), { peakRssBytes: 0 });
    assert.equal(monitor.watchInProcess(key).finish().summary, undefined);
  } finally {
    monitor.close();
  }
});

test('a reused worker: each stage counts from its start, and its exit sample is the worker alive', () => {
  const usage = { cpuTicks: 500, rssBytes: 40 * 1024 * 1024, readBytes: 1000, writeBytes: 2000 };
  const { state, monitor, samples } = scripted({ readUsage: () => ({ ...usage }) });
  try {
    // The worker (pid 10) already used 5 s of CPU and wrote 2000 bytes for earlier stages.
    state.table = [{ ...proc(10, 1, 500, 40), pgid: 10 }];
    const watch = monitor.watchWorker(key, 10);
    state.now += 1000;
    state.table = [{ ...proc(10, 1, 580, 60), pgid: 10 }];
    state.io.set(10, { readBytes: 1000, writeBytes: 6000 });
    monitor.tick();
    assert.equal(samples.at(-1)?.cpuPercent, 80);
    assert.equal(samples.at(-1)?.writeBytes, 4000);
    // The stage ends; the worker lives on, idle, for the next one.
    state.now += 500;
    Object.assign(usage, { cpuTicks: 620, rssBytes: 50 * 1024 * 1024, writeBytes: 7000 });
    const end = watch.finish();
    assert.equal(end.summary?.source, 'process');
    assert.equal(end.summary?.cpuSeconds, 1.2);
    assert.equal(end.summary?.writeBytes, 5000);
    assert.equal(end.summary?.peakRssBytes, 60 * 1024 * 1024);
    assert.equal(samples.at(-1)?.final, true);
    assert.equal(samples.at(-1)?.rssBytes, 50 * 1024 * 1024);
    // The next stage on the same worker starts from there.
    const next = monitor.watchWorker({ ...key, stage: 'eval' }, 10);
    state.now += 1000;
    Object.assign(usage, { cpuTicks: 630 });
    assert.equal(next.finish().summary?.cpuSeconds, 0.1);
  } finally {
    monitor.close();
  }
});
