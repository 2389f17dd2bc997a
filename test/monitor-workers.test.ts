// Module stages under `worker: process` are watched over their worker's own process (issue 6):
// the worker is reused stage after stage, so each stage must get only what the worker used
// while it ran — not the worker's lifetime total, nor the orchestrator's figures. Thread
// stages keep the orchestrator's figures, attributed by time. Real workers through `gpipe run`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ResourceSample } from '../src/monitor/resource-sample.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { gpipe, ok, workspaces } from './fixtures/cli/harness.ts';

const workspace = workspaces();

// CPU time, not wall time, so that a busy machine burns the same amount.
const stagesTs = `export function burn(context: { params: { cpuMs: number } }): number {
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
  const end = cpu() + context.params.cpuMs;
  let x = 0;
  while (cpu() < end) for (let i = 0; i < 1e5; i++) x += i;
  return process.pid;
}

export async function rest(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 600));
  return process.pid;
}

export async function threaded(): Promise<number> {
  const end = Date.now() + 500;
  while (Date.now() < end) await new Promise((resolve) => setImmediate(resolve));
  return 0;
}
`;

// One CPU: one worker process, reused by heavy, idle and light in turn.
const pipelineYaml = `pipeline:
  name: workers
  resources: {max_cpus: 1}
  execution:
    monitor_interval: 100ms
  modules:
    - name: heavy
      script: stages.ts:burn
      worker: process
      params: {cpuMs: 1500}
    - name: idle
      script: stages.ts:rest
      worker: process
      depends_on: [heavy]
    - name: light
      script: stages.ts:burn
      worker: process
      params: {cpuMs: 400}
      depends_on: [idle]
    - name: thread
      script: stages.ts:threaded
      worker: thread
      depends_on: [light]
`;

type Resources = { source: string; samples: number; cpu_seconds: number; peak_rss_mb: number };

test('process-worker stages get their worker’s own CPU and RSS, counted over each stage alone', async () => {
  const dir = workspace({ 'pipeline.yaml': pipelineYaml, 'stages.ts': stagesTs });
  const run = ok(await gpipe(['run', 'pipeline.yaml'], dir));
  const runId = /run (\d{8}_\d{6}_[0-9a-f]{6})/.exec(run.stdout)?.[1];
  assert.ok(runId, run.stdout);
  const status = ok(await gpipe(['status', runId, '--json'], dir));
  const stages = (
    JSON.parse(status.stdout) as { stages: { stage: string; resources?: Resources }[] }
  ).stages;
  const of = (name: string) => {
    const resources = stages.find((stage) => stage.stage === name)?.resources;
    assert.ok(resources, `${name} has resources: ${status.stdout}`);
    return resources;
  };
  const pids = ['heavy', 'idle', 'light'].map(
    (name) =>
      (
        JSON.parse(
          readFileSync(join(dir, '.gpipe', 'runs', runId, name, 'output.json'), 'utf8'),
        ) as {
          data: number;
        }
      ).data,
  );
  assert.equal(new Set(pids).size, 1, `one worker ran all three: ${pids.join(' ')}`);

  const heavy = of('heavy');
  assert.equal(heavy.source, 'process');
  assert.ok(heavy.cpu_seconds >= 1.3 && heavy.cpu_seconds < 2.5, `heavy ${heavy.cpu_seconds} s`);
  // A Node process holds tens of MB; the orchestrator's own figure would be the same for all.
  assert.ok(heavy.peak_rss_mb > 10, `heavy ${heavy.peak_rss_mb} MB`);
  assert.ok(heavy.samples >= 2, `heavy ${heavy.samples} samples`);
  // After heavy, in the same worker: its own figures, not the worker's total so far (≥ 1.5 s).
  const idle = of('idle');
  assert.equal(idle.source, 'process');
  assert.ok(idle.cpu_seconds < 0.3, `idle ${idle.cpu_seconds} s`);
  const light = of('light');
  assert.ok(light.cpu_seconds >= 0.3 && light.cpu_seconds < 1.0, `light ${light.cpu_seconds} s`);
  assert.equal(of('thread').source, 'orchestrator');

  // Each sample belongs to the stage running in the worker at the time: idle's never burn.
  const store = await openSqliteStore(join(dir, '.gpipe', 'state.db'));
  let samples: ResourceSample[];
  try {
    samples = await store.resourceSamples(runId);
  } finally {
    await store.close();
  }
  const idleSamples = samples.filter((sample) => sample.stage === 'idle');
  assert.ok(idleSamples.length >= 3, `${idleSamples.length} idle samples`);
  assert.ok(
    idleSamples.every((sample) => sample.cpuPercent < 50),
    idleSamples.map((sample) => sample.cpuPercent).join(' '),
  );
  const heavySamples = samples.filter((sample) => sample.stage === 'heavy');
  assert.ok(Math.max(...heavySamples.map((sample) => sample.cpuPercent)) > 50);
  assert.equal(heavySamples.filter((sample) => sample.final).length, 1);
});
