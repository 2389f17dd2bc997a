/**
 * Durable runs (issue 3): the cost of recording every transition in the SQLite run store,
 * side by side with the same DAG run in memory, in the same process; then `gpipe status` of a
 * 10,000-stage run and the resume of a 100,000-stage run with one stage left.
 *
 *   npm run bench:durable [-- --shape layered-100k]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDurable } from '../src/durable/durable-run.ts';
import { sha256Text } from '../src/durable/hash.ts';
import { stageStates } from '../src/durable/run-state.ts';
import { createExecutors } from '../src/executors/default-executors.ts';
import { type ValidPipeline, validatePipeline } from '../src/graph/validate.ts';
import { runPipeline } from '../src/scheduler/engine.ts';
import { openSqlite } from '../src/store/sqlite/sqlite-driver.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { buildDag, type Dag, inlinePipelineOf } from './dags.ts';
import { printRows } from './print-rows.ts';
import { splitThreadCpu, type ThreadSplit, threadCpu } from './thread-cpu.ts';

const maxCpus = 2;
const shape = process.argv.includes('--shape')
  ? process.argv[process.argv.indexOf('--shape') + 1]!
  : 'layered-100k';

function validOf(dag: Dag, run: (i: number) => unknown): ValidPipeline {
  const spec = inlinePipelineOf(dag, (i) => async () => run(i), maxCpus);
  const checked = validatePipeline(spec, maxCpus);
  if (!('pipeline' in checked)) throw new Error('invalid DAG');
  return checked.pipeline;
}

async function timed<T>(what: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await what();
  return { ms: performance.now() - t0, value };
}

/**
 * A full collection before each timed run (node --expose-gc): each starts with the garbage of
 * the one before it gone, instead of paying for it in its own window.
 */
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

async function medianOf(runs: number, what: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) times.push((await timed(async () => what())).ms);
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

const rows: string[][] = [];
const row = (...cells: string[]) => rows.push(cells);

const dag = buildDag(shape);
const n = dag.names.length;
const pipeline = validOf(dag, (i) => i);
const executors = createExecutors(pipeline.spec);

// `gpipe status` of a 10,000-stage run: the store read alone, and the whole CLI process. First,
// before the 100k runs fill the disk's write-back queue.
{
  const small = validOf(buildDag('layered-10k'), (i) => i);
  const dir = mkdtempSync(join(tmpdir(), 'gp-bench-status-'));
  const result = await runDurable({ pipeline: small, workspaceRoot: dir, executors, cache: false });
  const store = await openSqliteStore(join(dir, '.gpipe', 'state.db'));
  const read = await timed(async () => {
    const run = (await store.getRun(result.runId))!;
    return stageStates(
      run,
      await store.lastStageEvents(run.runId),
      await store.latestAttemptStates(run.runId),
    );
  });
  await store.close();
  const gpipe = join(import.meta.dirname, '..', 'bin', 'gpipe.js');
  // After `sync`: the run's 10,000 output.json files are still being written back, which is
  // the disk's business, not the command's. Median of five: one process start is at the mercy
  // of the disk and the other processes.
  execFileSync('sync');
  const cli = await medianOf(5, () =>
    execFileSync(process.execPath, [gpipe, 'status', '--json', '-w', dir], { maxBuffer: 1 << 28 }),
  );
  const version = await medianOf(5, () => execFileSync(process.execPath, [gpipe, '--version']));
  row(
    'status of a 10k-stage run: store read',
    `${read.ms.toFixed(0)} ms`,
    `${read.value.length} stages`,
    '',
  );
  row(
    'gpipe status (whole process)',
    `${cli.toFixed(0)} ms (median of 5)`,
    `gpipe --version: ${version.toFixed(0)} ms`,
    '',
  );
  rmSync(dir, { recursive: true, force: true });
}

// In memory, then durable; twice each, alternating, best of two.
let memoryMs = Number.POSITIVE_INFINITY;
let durableMs = Number.POSITIVE_INFINITY;
let committedMs = Number.POSITIVE_INFINITY;
/** CPU time of the process (every thread) up to the last commit: steadier than wall under load. */
let committedCpuMs = Number.POSITIVE_INFINITY;
/** Where the CPU of the quickest in-memory run, and of the quickest committed window, went. */
let memoryThreads: ThreadSplit | undefined;
let committedThreads: ThreadSplit | undefined;
for (let round = 0; round < 2; round++) {
  collect();
  const memoryCpu0 = threadCpu();
  const memory = await timed(() =>
    runPipeline(pipeline, { executors, workspaceRoot: tmpdir(), hostCpus: maxCpus }),
  );
  if (memory.ms < memoryMs) memoryThreads = splitThreadCpu(memoryCpu0, threadCpu());
  memoryMs = Math.min(memoryMs, memory.ms);
  const dir = mkdtempSync(join(tmpdir(), 'gp-bench-durable-'));
  collect();
  const threads0 = threadCpu();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let finishedAt = 0;
  let finishedCpu = 0;
  let finishedThreads: ThreadSplit | undefined;
  const durable = await timed(() =>
    runDurable({
      pipeline,
      workspaceRoot: dir,
      executors,
      cache: false,
      // Announced once every transition is committed; output.json files may still be going.
      onEvent: (event) => {
        if (event.event !== 'run_finished') return;
        finishedAt = performance.now();
        const cpu = process.cpuUsage(cpu0);
        finishedCpu = (cpu.user + cpu.system) / 1000;
        finishedThreads = splitThreadCpu(threads0, threadCpu());
      },
    }),
  );
  if (finishedAt - t0 < committedMs) committedThreads = finishedThreads;
  committedMs = Math.min(committedMs, finishedAt - t0);
  committedCpuMs = Math.min(committedCpuMs, finishedCpu);
  if (durable.value.status !== 'succeeded') throw new Error('durable run failed');
  durableMs = Math.min(durableMs, durable.ms);
  rmSync(dir, { recursive: true, force: true });
}
row(
  `${shape} in memory`,
  `${memoryMs.toFixed(0)} ms`,
  `${((memoryMs * 1000) / n).toFixed(2)} µs/stage`,
  `${Math.round(n / (memoryMs / 1000))} stages/s`,
);
row(
  `${shape} durable: all committed`,
  `${committedMs.toFixed(0)} ms`,
  `${((committedMs * 1000) / n).toFixed(2)} µs/stage`,
  `${Math.round(n / (committedMs / 1000))} stages/s, ${(committedMs / memoryMs).toFixed(2)}× memory; CPU ${committedCpuMs.toFixed(0)} ms`,
);
const threadsText = (split: ThreadSplit | undefined) =>
  split
    ? `main ${split.main.toFixed(0)} ms, workers ${split.started.toFixed(0)} ms, V8 helpers ${split.helpers.toFixed(0)} ms`
    : 'no /proc here';
row('  CPU by thread: in memory', threadsText(memoryThreads), '', '');
row('  CPU by thread: durable, all committed', threadsText(committedThreads), '', '');
// What the three hashes of every stage cost alone (its cache key, output and input: SPEC C3,
// C4), on texts of the sizes a run hashes: a floor under the durable run's main thread.
{
  const hashed = await timed(async () => {
    let last = '';
    for (let i = 0; i < n; i++) {
      last = sha256Text(
        `{"code":"function sha256:0123456789abcdef","stage":"s${i}","upstream":{"a${i}":"${last}"}}`,
      );
      last = sha256Text(String(i));
      last = sha256Text(`a${i}=${last}\nb${i}=${last}\n`);
    }
    return last;
  });
  row(
    `  3 SHA-256 a stage alone (${3 * n} hashes)`,
    `${hashed.ms.toFixed(0)} ms`,
    `${((hashed.ms * 1000) / n).toFixed(2)} µs/stage`,
    `${((hashed.ms / memoryMs) * 100).toFixed(0)}% of the in-memory run`,
  );
}
row(
  `${shape} durable: + every output.json`,
  `${durableMs.toFixed(0)} ms`,
  `${((durableMs * 1000) / n).toFixed(2)} µs/stage`,
  `${Math.round(n / (durableMs / 1000))} stages/s, ${(durableMs / memoryMs).toFixed(2)}× memory`,
);

// Resume of a run whose last stage failed: time until that stage starts again. Then the same
// after a crash: the run is left recorded as running, by a process that is gone (what kill -9
// leaves), so the resume reads every attempt whole and the events for attempts cut short.
for (const crash of [false, true]) {
  const last = n - 1;
  let failLast = true;
  const flaky = validOf(dag, (i) => {
    if (i === last && failLast) throw new Error('fails the first time');
    return i;
  });
  const dir = mkdtempSync(join(tmpdir(), 'gp-bench-resume-'));
  const flakyExecutors = createExecutors(flaky.spec);
  const failed = await runDurable({
    pipeline: flaky,
    workspaceRoot: dir,
    executors: flakyExecutors,
    cache: false,
  });
  if (failed.status !== 'failed') throw new Error('the first run should fail');
  if (crash) {
    const db = openSqlite(join(dir, '.gpipe', 'state.db'));
    db.prepare("UPDATE runs SET status = 'running', ended_at = NULL, pid = ?").run(deadPid());
    db.close();
  }
  failLast = false;
  collect();
  const t0 = performance.now();
  let startedAt = 0;
  const resumed = await runDurable({
    pipeline: flaky,
    workspaceRoot: dir,
    executors: flakyExecutors,
    resume: failed.runId,
    onEvent: (event) => {
      if (event.event === 'stage_started' && startedAt === 0) startedAt = performance.now();
    },
  });
  if (resumed.status !== 'succeeded') throw new Error('resume failed');
  row(
    `resume ${shape}, ${n - 1} done${crash ? ', after a crash' : ''}`,
    `${(startedAt - t0).toFixed(0)} ms to start the last stage`,
    `${(performance.now() - t0).toFixed(0)} ms in all`,
    '',
  );
  rmSync(dir, { recursive: true, force: true });
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}
printRows(rows);
