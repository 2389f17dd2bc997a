/**
 * Worker types (issue 5): the round trip of a no-op module stage through a warm thread pool and
 * a warm process pool, and 8 CPU-bound stages on a 2-CPU budget inline and in threads.
 *
 *   npm run bench:workers [-- --trips 300 --iterations 30000000 --rounds 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createExecutors } from '../src/executors/default-executors.ts';
import type { StageTask } from '../src/executors/executor.ts';
import type { ModuleTask, PipelineSpec, StageSpec, WorkerType } from '../src/graph/pipeline.ts';
import { runPipeline } from '../src/scheduler/engine.ts';
import { median, parseCaseArgs } from './case-io.ts';
import { printRows } from './print-rows.ts';

const args = parseCaseArgs();
const trips = Number(args.get('trips') ?? 300);
const iterations = Number(args.get('iterations') ?? 30_000_000);
const rounds = Number(args.get('rounds') ?? 5);
const file = fileURLToPath(new URL('./cases/worker-stages.ts', import.meta.url));
const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-bench-workers-'));
const maxCpus = 2;
const never = new AbortController().signal;

function moduleTask(exportName: string, worker: WorkerType): ModuleTask {
  const task: ModuleTask = { kind: 'module', file, exportName, style: 'function' };
  if (worker !== 'inline') task.worker = worker;
  return task;
}

function pipelineOf(stages: StageSpec[]): PipelineSpec {
  return { name: 'workers', stages, mode: 'parallel', failurePolicy: 'fail_fast', maxCpus };
}

/** Median milliseconds of `trips` sequential executions of a no-op stage, after a warm-up. */
async function roundTrip(worker: WorkerType): Promise<{ median: number; first: number }> {
  const spec = pipelineOf([]);
  const executor = createExecutors(spec).module;
  const task: StageTask = {
    runId: 'bench',
    pipelineName: 'workers',
    stage: 'noop',
    attempt: 1,
    spec: moduleTask('noop', worker),
    inputs: {},
    dependencyResults: {},
    cpus: 1,
    paths: { workspaceRoot, runDir: workspaceRoot, stageDir: join(workspaceRoot, 'noop') },
  };
  const timings: number[] = [];
  for (let i = 0; i < trips + 20; i++) {
    const t0 = performance.now();
    const result = await executor.execute(task, never);
    timings.push(performance.now() - t0);
    if (result.status !== 'succeeded') throw new Error(`${worker}: ${result.error?.message}`);
  }
  await executor.close?.();
  return { first: timings[0]!, median: median(timings.slice(20)) };
}

interface Crunch {
  run(): Promise<{ wall: number; cpu: number }>;
  close(): Promise<void>;
}

/** 8 CPU-bound stages on a budget of 2, run again and again with the same (warm) executors. */
function crunch(worker: WorkerType): Crunch {
  const stages: StageSpec[] = Array.from({ length: 8 }, (_, i) => ({
    name: `crunch${i}`,
    dependsOn: [],
    cpus: 1,
    params: { iterations },
    task: moduleTask('crunch', worker),
  }));
  const spec = pipelineOf(stages);
  const executors = createExecutors(spec);
  return {
    async run() {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await runPipeline(spec, { executors, workspaceRoot, hostCpus: maxCpus });
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      if (result.status !== 'succeeded') throw new Error(`${worker} crunch failed`);
      return { wall, cpu: (cpu.user + cpu.system) / 1000 };
    },
    close: async () => executors.module.close?.(),
  };
}

const rows: string[][] = [];
const ms = (value: number) => `${value.toFixed(value < 10 ? 3 : 0)} ms`;
for (const worker of ['inline', 'thread', 'process'] as const) {
  const trip = await roundTrip(worker);
  rows.push([
    `no-op ${worker} stage, warm`,
    `${ms(trip.median)} median of ${trips}`,
    `first (cold) ${ms(trip.first)}`,
  ]);
}
// Inline and thread runs alternate, so that both see the same noise; the best of each is shown,
// with its CPU time: CPU ÷ wall is the parallelism the machine actually granted.
const contenders = { inline: crunch('inline'), thread: crunch('thread') };
const best = { inline: { wall: Infinity, cpu: 0 }, thread: { wall: Infinity, cpu: 0 } };
const cold = { inline: 0, thread: 0 };
for (let round = 0; round < rounds + 1; round++) {
  for (const worker of ['inline', 'thread'] as const) {
    const measured = await contenders[worker].run();
    if (round === 0) cold[worker] = measured.wall;
    else if (measured.wall < best[worker].wall) best[worker] = measured;
  }
}
for (const contender of Object.values(contenders)) await contender.close();
for (const worker of ['inline', 'thread'] as const) {
  const { wall, cpu } = best[worker];
  const ratio = worker === 'thread' ? `, ${(wall / best.inline.wall).toFixed(2)}× inline` : '';
  rows.push([
    `8 CPU-bound stages, ${worker}, warm`,
    `${ms(wall)} best of ${rounds}${ratio}`,
    `CPU ${ms(cpu)}, parallelism ${(cpu / wall).toFixed(2)}; cold ${ms(cold[worker])}`,
  ]);
}
rows.push([
  'machine',
  `${availableParallelism()} cores, max_cpus ${maxCpus}`,
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`,
]);
rmSync(workspaceRoot, { recursive: true, force: true });
printRows(rows);
