import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CommandExecutor } from '../src/executors/command.ts';
import type { StageTask } from '../src/executors/executor.ts';
import type { Spawner } from '../src/executors/spawner.ts';

/**
 * Runs `stages` command stages through a CommandExecutor on `spawner`, `inFlight` at a time,
 * after 20 to warm up; returns the milliseconds per stage. `argvOf(i)` is stage i's command.
 */
export async function msPerCommandStage(
  spawner: Spawner,
  argvOf: (i: number) => string[],
  stages: number,
  inFlight = 2,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'gp-command-bench-'));
  const executor = new CommandExecutor({ spawner });
  const never = new AbortController().signal;
  const task = (i: number): StageTask => ({
    runId: 'bench',
    pipelineName: 'bench',
    stage: `s${i}`,
    attempt: 1,
    spec: { kind: 'command', shell: false, argv: argvOf(i) },
    inputs: {},
    dependencyResults: {},
    cpus: 1,
    paths: { workspaceRoot: dir, runDir: dir, stageDir: join(dir, `s${i}`) },
  });
  try {
    for (let i = 0; i < 20; i++) await executor.execute(task(-i - 1), never);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < stages) await executor.execute(task(next++), never);
      }),
    );
    return (performance.now() - started) / stages;
  } finally {
    await executor.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
