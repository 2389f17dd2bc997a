// Module stages in worker threads and child processes, through YAML pipelines: isolation,
// timeouts, errors across the boundary, parallelism, reuse and nested execution.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPipeline } from '../src/config/load-pipeline.ts';
import { createExecutors } from '../src/executors/default-executors.ts';
import { runPipeline } from '../src/scheduler/engine.ts';
import { gpipe, removeWorkspace, workspace } from './fixtures/cli/harness.ts';
import { isGone, waitFor } from './fixtures/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'gp-workers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const stages = join(import.meta.dirname, 'fixtures', 'workers', 'stages.ts');
let count = 0;

/** Runs a YAML pipeline of `modules` (one flow mapping per line); `fn` names an export. */
async function run(modules: string[], header: string[] = []) {
  const file = join(dir, `pipeline-${++count}.yaml`);
  const lines = modules.map((line) => `    - ${line.replaceAll('@', `${stages}:`)}`);
  writeFileSync(
    file,
    [
      'pipeline:',
      `  name: workers-${count}`,
      ...header.map((l) => `  ${l}`),
      '  modules:',
      ...lines,
    ].join('\n'),
  );
  const spec = await loadPipeline(file);
  const workspaceRoot = join(dir, `ws-${count}`);
  return runPipeline(spec, { executors: createExecutors(spec), workspaceRoot });
}

/** A crashing stage beside a healthy sibling and with a dependent, under collect_all. */
async function crashBeside(crash: string) {
  const result = await run(
    [
      `{ name: crash, ${crash}, worker: process }`,
      '{ name: downstream, script: "@noop", worker: process, depends_on: [crash] }',
      '{ name: sibling, script: "@where", worker: process }',
    ],
    ['execution: { failure_policy: collect_all }'],
  );
  assert.equal(result.stages.crash!.status, 'failed');
  assert.equal(result.stages.downstream!.status, 'upstream_failed');
  assert.equal(result.stages.sibling!.status, 'succeeded');
  assert.notEqual((result.stages.sibling!.output as { pid: number }).pid, process.pid);
  return result.stages.crash!;
}

test('process.exit(1) in a process stage fails that stage only; the failure policy handles its downstream', async () => {
  const crash = await crashBeside('script: "@exitNow"');
  assert.equal(crash.error!.code, 'WORKER_EXITED');
  assert.match(crash.error!.message, /stage 'crash': its worker process exited with code 1/);
  assert.equal(crash.exitCode, 1);
});

test('a process stage that allocates until it dies fails with MEMORY_LIMIT; the run goes on', async () => {
  const crash = await crashBeside('script: "@hog", heap_limit_mb: 32');
  assert.equal(crash.error!.code, 'MEMORY_LIMIT');
  assert.match(crash.error!.message, /stage 'crash' ran out of memory .*heap limit 32 MB/);
});

test('a thread stage that calls process.exit or runs out of heap fails alone', async () => {
  const result = await run(
    [
      '{ name: quits, script: "@exitNow" }',
      '{ name: hog, script: "@hog", heap_limit_mb: 32 }',
      '{ name: fine, script: "@where" }',
    ],
    ['execution: { worker_type: thread, failure_policy: collect_all }'],
  );
  assert.equal(result.stages.quits!.error!.code, 'WORKER_EXITED');
  assert.match(
    result.stages.quits!.error!.message,
    /stage 'quits' ended its worker thread \(exit code 1\)/,
  );
  assert.equal(result.stages.hog!.error!.code, 'MEMORY_LIMIT');
  assert.match(
    result.stages.hog!.error!.message,
    /stage 'hog' ran out of memory in its worker thread \(heap limit 32 MB\)/,
  );
  assert.equal(result.stages.fine!.status, 'succeeded');
});

test('under fail_fast, a crashed process stage stops the run like any failure', async () => {
  const result = await run([
    '{ name: quits, script: "@exitNow", worker: process }',
    '{ name: downstream, script: "@noop", depends_on: [quits] }',
  ]);
  assert.equal(result.status, 'failed');
  assert.equal(result.stages.quits!.status, 'failed');
  assert.notEqual(result.stages.downstream!.status, 'succeeded');
});

/** Waits until the file stops growing: what a terminated stage's ticks do. */
async function waitUntilStill(file: string): Promise<void> {
  let size = -1;
  let still = 0;
  await waitFor(() => {
    const now = statSync(file).size;
    still = now === size ? still + 1 : 0;
    size = now;
    return still >= 10; // ten polls (10 ms apart, each tick 10 ms) without a new dot
  }, `${file} to stop growing`);
}

test('a thread stage that never yields is terminated at its timeout', async () => {
  const ticks = join(dir, 'thread-ticks');
  const result = await run([
    `{ name: spins, script: "@tickForever", worker: thread, timeout: 2, params: { file: ${JSON.stringify(ticks)} } }`,
  ]);
  assert.equal(result.stages.spins!.status, 'failed');
  assert.equal(result.stages.spins!.error!.code, 'TIMEOUT');
  await waitUntilStill(ticks);
  assert.ok(readFileSync(ticks, 'utf8').includes('.'), 'the stage ran before its timeout');
});

test('a process stage that never yields is killed at its timeout, its process gone', async () => {
  const ticks = join(dir, 'process-ticks');
  const result = await run([
    `{ name: spins, script: "@tickForever", worker: process, timeout: 2, params: { file: ${JSON.stringify(ticks)} } }`,
  ]);
  assert.equal(result.stages.spins!.error!.code, 'TIMEOUT');
  const pid = Number(readFileSync(ticks, 'utf8').split('\n')[0]);
  assert.notEqual(pid, process.pid);
  await waitFor(() => isGone(pid), `worker process ${pid} to end`);
});

const allWorkers = ['inline', 'thread', 'process'] as const;

/** One module per worker type, named after it, running export `fn`. */
function onEveryWorker(fn: string, more = ''): string[] {
  return allWorkers.map(
    (worker) => `{ name: ${worker}, script: "@${fn}", worker: ${worker}${more} }`,
  );
}

test('errors cross the thread and process boundary with code, message and stack', async () => {
  const result = await run(onEveryWorker('fail'), ['execution: { failure_policy: collect_all }']);
  for (const name of allWorkers) {
    const error = result.stages[name]!.error!;
    assert.equal(error.code, 'DISK_FULL', name);
    assert.equal(error.message, 'the disk is full', name);
    assert.match(error.stack ?? '', /at fail \(.*stages\.ts:\d+:\d+\)/, name);
  }
});

function spinners(barrier: string, ms: number): string[] {
  const params = `params: { ms: ${ms}, peers: 2, barrier: ${JSON.stringify(join(dir, barrier))} }`;
  return [
    `{ name: a, script: "@spinTogether", ${params} }`,
    `{ name: b, script: "@spinTogether", ${params} }`,
  ];
}
type Span = { start: number; end: number; threadId: number };

test('CPU-bound thread stages run at the same time, in different threads', async () => {
  const result = await run(spinners('barrier-thread', 300), [
    'execution: { worker_type: thread }',
    'resources: { max_cpus: 2 }',
  ]);
  const a = result.stages.a!.output as Span;
  const b = result.stages.b!.output as Span;
  assert.ok(a.threadId !== 0 && b.threadId !== 0, 'both ran off the main thread');
  assert.notEqual(a.threadId, b.threadId);
  assert.ok(a.start < b.end && b.start < a.end, `intervals overlap: ${JSON.stringify({ a, b })}`);
});

test('inline module stages do not overlap: the contrast that makes the thread test meaningful', async () => {
  const result = await run(spinners('barrier-inline', 100), ['resources: { max_cpus: 2 }']);
  const a = result.stages.a!.output as Span;
  const b = result.stages.b!.output as Span;
  assert.ok(a.end <= b.start || b.end <= a.start);
});

test('a warm process is reused for the next stage; a crashed one is replaced', async () => {
  const result = await run(
    [
      '{ name: first, script: "@where" }',
      '{ name: second, script: "@where", depends_on: [first] }',
      '{ name: quits, script: "@exitNow", depends_on: [second] }',
      '{ name: fourth, script: "@where", depends_on: [quits] }',
    ],
    [
      'execution: { worker_type: process, failure_policy: collect_all }',
      'resources: { max_cpus: 1 }',
    ],
  );
  const pid = (name: string) => (result.stages[name]!.output as { pid: number } | undefined)?.pid;
  assert.equal(pid('first'), pid('second'));
  assert.equal(result.stages.fourth!.status, 'upstream_failed');
  const again = await run(
    ['{ name: quits, script: "@exitNow" }', '{ name: next, script: "@where" }'],
    [
      'execution: { worker_type: process, failure_policy: collect_all, mode: sequential }',
      'resources: { max_cpus: 1 }',
    ],
  );
  assert.equal(again.stages.quits!.status, 'failed');
  assert.equal(again.stages.next!.status, 'succeeded');
});

test('an output that cannot leave its worker fails the stage with a clear error', async () => {
  const result = await run(['{ name: bad, script: "@unsendable", worker: process }']);
  assert.equal(result.stages.bad!.error!.code, 'OUTPUT_NOT_SERIALIZABLE');
  assert.match(
    result.stages.bad!.error!.message,
    /stage 'bad' returned an output that cannot leave its worker/,
  );
});

const nestedExpected = [10, 20, { error: 'BAD_ITEM' }, 40, 'a', { error: 'b failed' }];

test('nested map and executeTasks: results and errors in order, inline, thread and process', async () => {
  const result = await run(onEveryWorker('nested'), ['resources: { max_cpus: 3 }']);
  for (const name of allWorkers) {
    assert.equal(result.stages[name]!.status, 'succeeded', name);
    assert.deepEqual(result.stages[name]!.output, nestedExpected, name);
  }
});

test('max_nested_depth limits nesting in every worker type', async () => {
  const modules = (depth: number) => onEveryWorker('deep', `, params: { depth: ${depth} }`);
  const within = await run(modules(2), [
    'execution: { max_nested_depth: 2, failure_policy: collect_all }',
  ]);
  for (const worker of allWorkers) assert.equal(within.stages[worker]!.output, 2);
  const beyond = await run(modules(3), [
    'execution: { max_nested_depth: 2, failure_policy: collect_all }',
  ]);
  for (const worker of allWorkers) {
    const error = beyond.stages[worker]!.error!;
    assert.equal(error.code, 'NESTED_DEPTH_EXCEEDED', worker);
    assert.match(error.message, /depth 3 exceeds max_nested_depth 2/);
  }
});

test('what a thread or process stage prints goes to its stage.log', async () => {
  const result = await run(
    [
      '{ name: t, script: "@chatty", worker: thread }',
      '{ name: p, script: "@chatty", worker: process }',
    ],
    [],
  );
  for (const name of ['t', 'p']) {
    assert.equal(result.stages[name]!.status, 'succeeded');
    const log = readFileSync(join(result.runDir, name, 'stage.log'), 'utf8');
    assert.match(log, /to stdout from chatty/, name);
    assert.match(log, /to stderr from chatty/, name);
  }
});

test('gpipe run: a crashed process stage exits 3 with its message; idle workers do not hold the CLI', {
  timeout: 60_000,
}, async () => {
  const cwd = workspace({
    'pipeline.yaml': [
      'pipeline:',
      '  name: cli-workers',
      '  execution: { worker_type: process, failure_policy: collect_all }',
      '  modules:',
      `    - { name: fine, script: "${stages}:where" }`,
      `    - { name: counted, script: "${stages}:nested", worker: thread }`,
      `    - { name: quits, script: "${stages}:exitNow" }`,
    ].join('\n'),
  });
  try {
    const finished = await gpipe(['run', 'pipeline.yaml'], cwd);
    assert.equal(finished.code, 3, finished.stderr);
    assert.match(
      finished.stdout + finished.stderr,
      /stage 'quits': its worker process exited with code 1/,
    );
    assert.match(finished.stdout + finished.stderr, /2 succeeded, 1 failed/);
  } finally {
    removeWorkspace(cwd);
  }
});

test('twelve stages queued for one worker all run, with no listener leak on the run’s signal', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  try {
    const modules = Array.from(
      { length: 12 },
      (_, i) => `{ name: s${i}, script: "@where", resources: { cpus: 0 } }`,
    );
    const result = await run(modules, [
      'execution: { worker_type: thread }',
      'resources: { max_cpus: 1 }',
    ]);
    assert.equal(result.status, 'succeeded');
    const threads = new Set(
      Object.values(result.stages).map((stage) => (stage.output as { threadId: number }).threadId),
    );
    assert.equal(threads.size, 1, 'one worker, reused');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
  }
});
