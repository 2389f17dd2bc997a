// The resource monitor end to end (SPEC E1, issue 6): real commands through `gpipe run`, their
// samples in the real run store, and what status, show and the end-of-run table print.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ResourceSample } from '../src/monitor/resource-sample.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { gpipe, removeWorkspace, workspace } from './fixtures/cli/harness.ts';

const mb = 1024 * 1024;

/**
 * Burns 0.6 s of CPU time (not wall time: a busy machine must not shorten it) holding 64 MB.
 * Four of them run at once as grandchildren: on a machine shared with others, the tree's
 * share of the CPUs, which the samples add up, still passes half a core.
 */
const burn = `import time
hold = bytearray(64 * 1024 * 1024)
while time.process_time() < 0.6:
    pass
`;

const pipelineYaml = `pipeline:
  name: monitored
  execution:
    monitor_interval: 200ms
  modules:
    - name: burn
      command: [sh, -c, "for i in 1 2 3 4; do python3 burn.py & done; wait"]
    - name: write
      command: [sh, -c, "head -c 10M /dev/urandom > big.bin"]
    - name: short
      command: [sleep, "0.2"]
      depends_on: [write]
    - name: compute
      script: stages.ts:compute
`;

// Busy for 700 ms in slices, so that the monitor's ticks run in between (an in-process stage
// shorter than one interval gets no figures).
const stagesTs = `export async function compute(): Promise<number> {
  let total = 0;
  const end = Date.now() + 700;
  while (Date.now() < end) {
    for (let i = 0; i < 1e5; i++) total += i;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return total;
}
`;

async function samplesOf(dir: string, runId: string): Promise<ResourceSample[]> {
  const store = await openSqliteStore(join(dir, '.gpipe', 'state.db'));
  try {
    return await store.resourceSamples(runId);
  } finally {
    await store.close();
  }
}

function runIdOf(stdout: string): string {
  const id = /run (\d{8}_\d{6}_[0-9a-f]{6})/.exec(stdout)?.[1];
  assert.ok(id, `no run id in:\n${stdout}`);
  return id;
}

describe('gpipe run with the resource monitor', () => {
  let dir: string;
  let runId: string;
  let runOutput: string;

  before(async () => {
    dir = workspace({ 'pipeline.yaml': pipelineYaml, 'burn.py': burn, 'stages.ts': stagesTs });
    const run = await gpipe(['run', 'pipeline.yaml'], dir);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    runOutput = run.stdout;
    runId = runIdOf(run.stdout);
  });
  after(() => removeWorkspace(dir));

  test('a CPU-burning grandchild shows in its command stage’s samples: CPU > 50%, RSS > 0', async () => {
    const burnSamples = (await samplesOf(dir, runId)).filter((s) => s.stage === 'burn');
    assert.ok(burnSamples.length >= 3, `${burnSamples.length} samples`);
    const peakCpu = Math.max(...burnSamples.map((s) => s.cpuPercent));
    assert.ok(peakCpu > 50, `peak CPU ${peakCpu}%`);
    assert.ok(burnSamples.every((s) => s.rssBytes > 0));
    assert.ok(Math.max(...burnSamples.map((s) => s.rssBytes)) > 4 * 64 * mb);
    assert.equal(burnSamples.filter((s) => s.final).length, 1);
    assert.ok(burnSamples.at(-1)!.final);
  });

  test('a stage that writes 10 MB through a child shows at least 10 MB written', async () => {
    const written = (await samplesOf(dir, runId)).filter((s) => s.stage === 'write');
    assert.ok(written.at(-1)!.writeBytes >= 10 * mb, `${written.at(-1)!.writeBytes} bytes`);
  });

  test('a 200 ms stage still has a sample, and in-process stages have the orchestrator’s', async () => {
    const samples = await samplesOf(dir, runId);
    const short = samples.filter((s) => s.stage === 'short');
    assert.ok(short.length >= 1);
    assert.ok(short[0]!.rssBytes > 0);
    const compute = samples.filter((s) => s.stage === 'compute');
    assert.ok(compute.length >= 2, `${compute.length} samples`);
    assert.ok(compute[0]!.rssBytes > 20 * mb, 'the orchestrator’s RSS');
  });

  test('gpipe status --json gives each stage a resources object', async () => {
    const status = await gpipe(['status', runId, '--json'], dir);
    assert.equal(status.code, 0, status.stderr);
    const stages = (JSON.parse(status.stdout) as { stages: Record<string, unknown>[] }).stages;
    const byName = new Map(stages.map((stage) => [stage.stage, stage.resources]));
    for (const name of ['burn', 'write', 'short', 'compute']) {
      const resources = byName.get(name) as Record<string, unknown> | undefined;
      assert.ok(resources, `${name} has resources`);
      for (const field of [
        'samples',
        'peak_rss_mb',
        'cpu_seconds',
        'avg_cpu_percent',
        'read_mb',
        'write_mb',
      ])
        assert.equal(typeof resources[field], 'number', `${name}.${field}`);
    }
    const burnResources = byName.get('burn') as Record<string, number>;
    assert.ok(burnResources.cpu_seconds! >= 2.3, `${burnResources.cpu_seconds} CPU-seconds`);
    assert.ok(burnResources.peak_rss_mb! > 4 * 64);
    assert.ok(burnResources.samples! >= 3);
    assert.ok((byName.get('write') as Record<string, number>).write_mb! >= 10);
    assert.equal((byName.get('compute') as Record<string, string>).source, 'orchestrator');
    assert.equal((byName.get('burn') as Record<string, string>).source, 'process');
  });

  test('gpipe status and gpipe show print the figures', async () => {
    const status = await gpipe(['status', runId], dir);
    assert.match(status.stdout, /PEAK RSS +CPU-S +AVG CPU +READ\/WRITE/);
    assert.match(status.stdout, /^write .* \d[\d.]* MB\/10 MB/m);
    const show = await gpipe(['show', runId, 'burn'], dir);
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as { resources: Record<string, number>; _meta: unknown };
    assert.ok(shown.resources.samples! >= 3);
    assert.ok(shown.resources.cpu_seconds! >= 2.3);
    assert.ok(shown._meta);
  });

  test('the end of the run prints the stage table and the critical path', async () => {
    assert.match(runOutput, /STAGE +STATUS +DURATION +PEAK RSS +CPU-S +CACHE/);
    const burnRow = runOutput.split('\n').find((line) => line.startsWith('burn '));
    assert.ok(burnRow, runOutput);
    assert.match(burnRow, /^burn +succeeded +\d+\.\ds +\d[\d.]* MB +[\d.]+ +-$/);
    // burn (≥ 0.6 s of CPU in each of four processes) outlasts write → short.
    assert.match(runOutput, /^critical path: \d+\.\ds over 1 stage: burn$/m);
    // The summary line stays the last but one.
    assert.match(runOutput, /✓ run \S+ succeeded in [\d.]+s: 4 succeeded\n.*logs:/);
    const rerun = await gpipe(['run', 'pipeline.yaml'], dir);
    const row = rerun.stdout.split('\n').find((line) => line.startsWith('write '));
    assert.match(row ?? '', /^write +cached +.* hit$/, rerun.stdout);
    const quiet = await gpipe(['run', 'pipeline.yaml', '--quiet'], dir);
    assert.doesNotMatch(quiet.stdout, /STAGE|critical path/);
    assert.match(quiet.stdout, /✓ run \S+ succeeded/);
  });
});

test('GPU figures come from nvidia-smi for a stage’s leased GPU', async () => {
  const dir = workspace({
    'pipeline.yaml': `pipeline:
  name: gpu
  execution:
    monitor_interval: 100ms
  modules:
    - name: train
      command: [sleep, "0.8"]
      resources:
        gpus: 1
`,
  });
  try {
    // A fake nvidia-smi: the inventory query for the lease, the usage query for the monitor.
    mkdirSync(join(dir, 'bin'));
    writeFileSync(
      join(dir, 'bin', 'nvidia-smi'),
      `#!/bin/sh
case "$1" in
  --query-gpu=index,uuid,memory.total) echo "0, GPU-fake-0, 81920"; echo "1, GPU-fake-1, 81920" ;;
  --query-gpu=index,utilization.gpu,memory.used) echo "0, 77, 4321"; echo "1, 5, 999" ;;
  *) exit 2 ;;
esac
`,
    );
    chmodSync(join(dir, 'bin', 'nvidia-smi'), 0o755);
    const env = { PATH: `${join(dir, 'bin')}:${process.env.PATH}` };
    const run = await gpipe(['run', 'pipeline.yaml'], dir, env);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const runId = runIdOf(run.stdout);
    const samples = await samplesOf(dir, runId);
    const withGpus = samples.filter((s) => s.gpus !== undefined);
    assert.ok(withGpus.length >= 1, JSON.stringify(samples));
    assert.deepEqual(withGpus[0]!.gpus, [{ index: 0, utilizationPercent: 77, memoryUsedMb: 4321 }]);
    const status = await gpipe(['status', runId, '--json'], dir);
    const stage = (JSON.parse(status.stdout) as { stages: { resources: Record<string, number> }[] })
      .stages[0]!;
    assert.equal(stage.resources.peak_gpu_memory_mb, 4321);
  } finally {
    removeWorkspace(dir);
  }
});

test('monitor_interval: bad values are config errors with line and column; 0 turns it off', async () => {
  const yaml = (interval: string) => `pipeline:
  name: m
  execution:
    monitor_interval: ${interval}
  modules:
${Array.from({ length: 20 }, (_, i) => `    - name: s${i}\n      command: ["true"]\n`).join('')}`;
  const dir = workspace({
    'fast.yaml': yaml('5ms'),
    'word.yaml': yaml('often'),
    'list.yaml': yaml('[1]'),
    'off.yaml': yaml('0'),
  });
  try {
    for (const file of ['fast.yaml', 'word.yaml', 'list.yaml']) {
      const result = await gpipe(['validate', file], dir);
      assert.equal(result.code, 1, file);
      assert.match(
        result.stderr,
        new RegExp(
          `${file}:4:23: .*monitor_interval.*must be false or 0 \\(off\\), or an interval of at least 10ms`,
        ),
      );
    }
    const run = await gpipe(['run', 'off.yaml'], dir);
    assert.equal(run.code, 0, run.stderr);
    const runId = runIdOf(run.stdout);
    assert.deepEqual(await samplesOf(dir, runId), []);
    const status = await gpipe(['status', runId, '--json'], dir);
    const stages = (JSON.parse(status.stdout) as { stages: Record<string, unknown>[] }).stages;
    assert.ok(stages.every((stage) => stage.resources === undefined));
    // A long pipeline's table shows the longest 15 stages and counts the rest.
    assert.match(run.stdout, /^… 5 more stages \(shorter\)$/m);
    assert.equal(run.stdout.split('\n').filter((line) => /^s\d+ +succeeded/.test(line)).length, 15);
  } finally {
    removeWorkspace(dir);
  }
});
