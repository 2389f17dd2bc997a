// Commands run through Node's child_process (the secrets path, GP_SPAWNER=node) have no wait4
// figures; their CPU time at exit comes from this process's total of reaped children's CPU
// (src/executors/reaped-cpu.ts). A stage shorter than one sampling interval still gets it.
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodeSpawner } from '../src/executors/spawner.ts';
import { gpipe, ok, workspaces } from './fixtures/cli/harness.ts';

const workspace = workspaces();

// 0.5 s of CPU time (not wall time) in a grandchild: the root shell waits for it.
const burnPy = `import time
while time.process_time() < 0.5:
    pass
`;

test('NodeSpawner: an exit carries the CPU time of the command and the descendants it reaped', async () => {
  const dir = realpathSync(workspace({ 'burn.py': burnPy }));
  const spawner = new NodeSpawner();
  const started = await spawner.spawn({
    argv: ['sh', '-c', 'python3 burn.py; true'],
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    logFile: join(dir, 'burn.log'),
  });
  const exit = await started.exited;
  assert.equal(exit.exitCode, 0);
  const cpuSeconds = ((exit.userCpuUs ?? 0) + (exit.systemCpuUs ?? 0)) / 1e6;
  assert.ok(cpuSeconds >= 0.45 && cpuSeconds < 2, JSON.stringify(exit));
  assert.equal(exit.maxRssKb, undefined, 'no peak RSS: nothing gives it per child');
});

test('GP_SPAWNER=node: a stage shorter than one interval still shows its CPU-seconds', async () => {
  const dir = workspace({
    'burn.py': burnPy,
    'pipeline.yaml': `pipeline:
  name: node-spawner
  execution:
    monitor_interval: 30s
  modules:
    - name: burn
      command: [sh, -c, "python3 burn.py"]
`,
  });
  ok(await gpipe(['run', 'pipeline.yaml'], dir, { GP_SPAWNER: 'node' }));
  const status = ok(await gpipe(['status', '--json'], dir));
  const burn = (
    JSON.parse(status.stdout) as {
      stages: { stage: string; resources?: { cpu_seconds: number; samples: number } }[];
    }
  ).stages.find((stage) => stage.stage === 'burn');
  // No tick came in 30 s: the one sample is the exit's, its CPU from the reaped total.
  assert.equal(burn?.resources?.samples, 1, status.stdout);
  assert.ok(burn.resources.cpu_seconds >= 0.45, status.stdout);
});
