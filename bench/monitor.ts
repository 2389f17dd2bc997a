/**
 * The resource monitor (issue 6): what monitoring costs a 10,000-stage command DAG run
 * durably (samples and summaries stored), side by side with monitoring off in the same
 * process, pairs alternating in order; then the time of one sample of a real 50-process tree.
 *
 *   npm run bench:monitor [-- --shape layered-10k --pairs 3 --ticks 300]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDurable } from '../src/durable/durable-run.ts';
import { createExecutors } from '../src/executors/default-executors.ts';
import { type ValidPipeline, validatePipeline } from '../src/graph/validate.ts';
import { processTreeOf, readProcessTable } from '../src/monitor/process-tree.ts';
import { ResourceMonitor } from '../src/monitor/resource-monitor.ts';
import type { ResourceSample } from '../src/monitor/resource-sample.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { buildDag, pipelineSpecOf } from './dags.ts';

const maxCpus = 2;
const arg = (name: string, fallback: string) =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback;
const shape = arg('--shape', 'layered-10k');
const pairs = Number(arg('--pairs', '3'));
const ticks = Number(arg('--ticks', '300'));

const dag = buildDag(shape);
const spec = pipelineSpecOf(
  dag,
  () => ({ task: { kind: 'command', argv: ['true'], shell: false } }),
  maxCpus,
);
const checked = validatePipeline(spec, maxCpus);
if (!('pipeline' in checked)) throw new Error('invalid DAG');
const pipeline: ValidPipeline = checked.pipeline;

/** One durable run in a fresh workspace; the monitor samples every second, or not at all. */
async function durableRun(
  intervalMs: number,
): Promise<{ ms: number; cpuMs: number; samples: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'gp-bench-monitor-'));
  const monitor = new ResourceMonitor({ intervalMs });
  const executors = createExecutors(pipeline.spec, { monitor });
  try {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const result = await runDurable({ pipeline, workspaceRoot: dir, executors, monitor });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (result.status !== 'succeeded') throw new Error(`run ${result.status}`);
    const store = await openSqliteStore(join(dir, '.gpipe', 'state.db'));
    const samples = (await store.resourceSamples(result.runId)).length;
    await store.close();
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, samples };
  } finally {
    monitor.close();
    await executors.command.close?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

const lines: string[] = [];
const say = (line: string) => {
  lines.push(line);
  console.log(line);
};
say(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`,
);

// A warm-up run, not counted: the first run of a process pays for loading and the JIT.
await durableRun(0);
const ratios: number[] = [];
const cpuRatios: number[] = [];
for (let pair = 0; pair < pairs; pair++) {
  // Alternate which goes first, so that drift in the machine's load favours neither.
  const onFirst = pair % 2 === 0;
  const first = await durableRun(onFirst ? 1000 : 0);
  const second = await durableRun(onFirst ? 0 : 1000);
  const on = onFirst ? first : second;
  const off = onFirst ? second : first;
  ratios.push(on.ms / off.ms);
  cpuRatios.push(on.cpuMs / off.cpuMs);
  say(
    `${shape} commands, durable: monitor on ${on.ms.toFixed(0)} ms wall, ${on.cpuMs.toFixed(0)} ms orchestrator CPU (${on.samples} samples) · off ${off.ms.toFixed(0)} ms wall, ${off.cpuMs.toFixed(0)} ms CPU · on ÷ off: wall ${(on.ms / off.ms).toFixed(3)}, CPU ${(on.cpuMs / off.cpuMs).toFixed(3)}`,
  );
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const wall = median(ratios);
const cpu = median(cpuRatios);
say(
  `monitoring on ÷ off, median of ${pairs} pairs: wall ${wall.toFixed(3)} (${((wall - 1) * 100).toFixed(1)}%; target ≤ 2%), orchestrator CPU ${cpu.toFixed(3)} (${((cpu - 1) * 100).toFixed(1)}%)`,
);

// One sample of a real 50-process tree: sh → 7 sh → 6 sleep each (1 + 7 + 42).
const tree = spawn(
  '/bin/sh',
  [
    '-c',
    'for i in 1 2 3 4 5 6 7; do sh -c "for j in 1 2 3 4 5 6; do sleep 120 & done; wait" & done; wait',
  ],
  { detached: true, stdio: 'ignore' },
);
try {
  const root = tree.pid!;
  for (let i = 0; i < 500; i++) {
    const table = readProcessTable() ?? [];
    if (processTreeOf(table, root).pids.length >= 50) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const size = processTreeOf(readProcessTable() ?? [], root).pids.length;
  let now = 0;
  // Every tick is a full sample: a clock a second ahead each time.
  const monitor = new ResourceMonitor({ intervalMs: 1000, now: () => (now += 1000) });
  let sampled = 0;
  monitor.subscribe((batch: readonly ResourceSample[]) => {
    sampled += batch.length;
  });
  const watch = monitor.watchProcess({ runId: 'bench', stage: 'tree', attempt: 1 }, root);
  const times: number[] = [];
  for (let i = 0; i < ticks; i++) {
    const t0 = performance.now();
    monitor.tick();
    times.push(performance.now() - t0);
  }
  watch.finish();
  monitor.close();
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  say(
    `one sample of a ${size}-process tree (whole /proc pass + tree + IO of each + host network): median ${p(0.5).toFixed(2)} ms, p90 ${p(0.9).toFixed(2)} ms over ${ticks} ticks (${sampled} samples; ${readProcessTable()?.length} processes on the host); target ≤ 5 ms`,
  );
} finally {
  process.kill(-tree.pid!, 'SIGKILL');
}
say(
  `load average at end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`,
);
