/**
 * The benchmark suite: `npm run bench` (node --import tsx bench/run.ts).
 *
 *   --runs N        fresh processes per case; the table shows medians (default 3)
 *   --warm N        further executions in the same process, for the "warm ms" column (default 20,
 *                   the median of the later half is shown; at most 6 on layered-10k, 1 on layered-100k, none for dask there)
 *   --only TEXT     only cases whose id (`A/ours/layered-10k`, `B/ninja/chain-1k`…) contains TEXT
 *   --quick         skip layered-100k
 *   --budget S      a case stops repeating once its runs took S seconds in all (default 20; it
 *                   always runs once): the slowest command cases run once or twice
 *   --write / --no-write   write bench/RESULTS.md (default: only when --only is not given)
 *
 * Every run of every case is its own child process, so that peak RSS is that case's. The runs
 * go round by round (each case once, then again), so that peers share the machine's noise.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCaseArgs, resultPrefix } from './case-io.ts';
import { buildDag, dagToJson, type ShapeName, shapeNames } from './dags.ts';
import {
  type Group,
  type Measured,
  type Row,
  renderScaling,
  renderTable,
  renderTargets,
  summarise,
} from './table.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const systemPython = '/usr/bin/python3';
const notInstalled = 'not installed (apt-get install -y make ninja-build python3-dask)';
const childTimeoutMs = 300_000;

interface Case {
  id: string;
  group: Group;
  impl: string;
  label: string;
  shape: ShapeName;
  stages: number;
  /** The child's argv; undefined when the peer is missing. */
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  missing?: string;
  /** Arguments for the first run only. */
  firstRunArgs?: string[];
}

/** Other work on the machine skews absolute figures (ratios hold better): shown with the results. */
const loadAtStart = loadavg();
const args = parseCaseArgs();
const runs = Number(args.get('runs') ?? 3);
const warm = Number(args.get('warm') ?? 20);
const only = args.get('only');
const quick = args.has('quick');
const budgetMs = Number(args.get('budget') ?? 20) * 1000;
const write = args.has('no-write') ? false : args.has('write') || only === undefined;
if (!(Number.isInteger(runs) && runs >= 1)) throw new Error('--runs must be an integer ≥ 1');

function succeeds(command: string, commandArgs: string[]): boolean {
  const result = spawnSync(command, commandArgs, { stdio: 'ignore' });
  return result.status === 0;
}

function firstLine(command: string, commandArgs: string[]): string | undefined {
  const result = spawnSync(command, commandArgs, { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().split('\n')[0] : undefined;
}

/** The executor reads GP_SPAWNER (the native spawn helper is being added alongside). */
function spawnerSwitchHonoured(): boolean {
  const dir = join(root, 'src', 'executors');
  return readdirSync(dir).some(
    (file) => file.endsWith('.ts') && readFileSync(join(dir, file), 'utf8').includes('GP_SPAWNER'),
  );
}

const haveMake = succeeds('make', ['--version']);
const haveNinja = succeeds('ninja', ['--version']);
const haveDask = existsSync(systemPython) && succeeds(systemPython, ['-c', 'import dask.threaded']);
const spawnerSwitch = spawnerSwitchHonoured();
const nativeHelper = existsSync(join(root, 'native', 'build', 'spawn-helper'));
/** A RAM file system for the extra workspace row: this machine's disk makes mkdir cost ~0.5 ms. */
const tmpfs = '/dev/shm';
const haveTmpfs = existsSync(tmpfs) && statSync(tmpfs).isDirectory();

const shapes = shapeNames.filter((shape) => !(quick && shape === 'layered-100k'));
const dagDir = mkdtempSync(join(tmpdir(), 'gp-bench-dags-'));
const sizes = new Map<ShapeName, number>();
const dagFiles = new Map<ShapeName, string>();
for (const shape of shapes) {
  const dag = buildDag(shape);
  sizes.set(shape, dag.names.length);
  const file = join(dagDir, `${shape}.json`);
  writeFileSync(file, dagToJson(dag));
  dagFiles.set(shape, file);
}

const node = (script: string, ...rest: string[]) => [
  process.execPath,
  '--import',
  'tsx',
  join(benchDir, script),
  ...rest,
];
// Warm runs let the JIT reach its top tier, as in any long-lived orchestrator; 100k stages
// warm up within one run.
const warmFor = (shape: ShapeName) =>
  String(
    shape === 'layered-100k'
      ? Math.min(warm, 1)
      : shape === 'layered-10k'
        ? Math.min(warm, 4)
        : warm,
  );
const envWithout = (key: string): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env[key];
  return env;
};

function allCases(): Case[] {
  const cases: Case[] = [];
  const add = (c: Omit<Case, 'id' | 'stages'>) =>
    cases.push({ ...c, id: `${c.group}/${c.impl}/${c.shape}`, stages: sizes.get(c.shape)! });
  for (const shape of shapes) {
    const inProcess = (impl: string) =>
      node('cases/in-process.ts', '--impl', impl, '--shape', shape, '--warm', warmFor(shape));
    add({
      group: 'A',
      impl: 'ours',
      label: 'A ours: runPipeline, inline no-op',
      shape,
      argv: inProcess('ours'),
    });
    add({
      group: 'A',
      impl: 'ours-api',
      label: 'A ours + construction: stage() + pipeline() + run()',
      shape,
      argv: inProcess('ours-api'),
    });
    add({ group: 'A', impl: 'bare', label: 'A bare Promise loop', shape, argv: inProcess('bare') });
    const daskWarm = shape === 'layered-100k' ? '0' : warmFor(shape);
    add({
      group: 'A',
      impl: 'dask',
      label: 'A dask threaded, 2 workers',
      shape,
      ...(haveDask
        ? {
            argv: [
              systemPython,
              join(benchDir, 'peers', 'dask-peer.py'),
              '--dag',
              dagFiles.get(shape)!,
              '--warm',
              daskWarm,
            ],
          }
        : { missing: notInstalled }),
    });
  }
  for (const shape of shapes) {
    if (shape === 'layered-100k') continue; // never 100k processes
    const command = node('cases/command.ts', '--shape', shape);
    const which = spawnerSwitch
      ? `default spawner (${nativeHelper ? 'native helper' : 'Node: helper not built'})`
      : 'child_process';
    const defaultEnv = envWithout('GP_SPAWNER');
    add({
      group: 'B',
      impl: 'ours',
      label: `B ours: command \`true\`, ${which}`,
      shape,
      argv: command,
      env: defaultEnv,
    });
    if (spawnerSwitch) {
      const env = { ...process.env, GP_SPAWNER: 'node' };
      add({
        group: 'B',
        impl: 'ours-node',
        label: 'B ours: command `true`, GP_SPAWNER=node',
        shape,
        argv: command,
        env,
      });
    }
    if (haveTmpfs) {
      const label = `B ours: command \`true\`, ${which}, workspace on tmpfs`;
      add({
        group: 'B',
        impl: 'ours-tmpfs',
        label,
        shape,
        argv: command,
        env: { ...defaultEnv, TMPDIR: tmpfs },
      });
    }
    const tool = (name: string, have: boolean) =>
      have
        ? {
            argv: node('peers/build-tool.ts', '--tool', name, '--shape', shape),
            firstRunArgs: ['--verify'],
          }
        : { missing: notInstalled };
    add({
      group: 'B',
      impl: 'make',
      label: 'B make -j2 (phony targets)',
      shape,
      ...tool('make', haveMake),
    });
    add({ group: 'B', impl: 'ninja', label: 'B ninja -j2', shape, ...tool('ninja', haveNinja) });
  }
  return cases.filter((c) => only === undefined || c.id.includes(only));
}

function runChild(c: Case, first: boolean): Promise<Measured> {
  const argv = [...c.argv!, ...(first ? (c.firstRunArgs ?? []) : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: root,
      env: c.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), childTimeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(resultPrefix));
      if (code === 0 && line) resolve(JSON.parse(line.slice(resultPrefix.length)) as Measured);
      else {
        const why = signal ? `killed by ${signal}` : `exit ${code}`;
        const tail = stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 300);
        reject(new Error(`child ${why}${tail ? `: ${tail}` : ''}`));
      }
    });
  });
}

function machineInfo(): string {
  const cpu = cpus()[0]?.model ?? 'unknown';
  const dask = haveDask
    ? firstLine(systemPython, ['-c', 'import dask; print(dask.__version__)'])
    : undefined;
  return [
    `- CPU: ${cpu}, ${availableParallelism()} cores available (${cpus().length} logical)`,
    `- Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Linux ${release()}`,
    `- Node ${process.version}; peers: ${firstLine('make', ['--version']) ?? 'make missing'}, ninja ${firstLine('ninja', ['--version']) ?? 'missing'}, dask ${dask ?? 'missing'} (${systemPython} ${firstLine(systemPython, ['--version']) ?? ''})`.trimEnd(),
    `- Load average (1, 5, 15 min) at start ${loadAtStart.map((l) => l.toFixed(2)).join(', ')}; at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
    `- Date: ${new Date().toISOString()}`,
  ].join('\n');
}

const notes = [
  `Each run of each case is a fresh child process (${runs} run${runs === 1 ? '' : 's'}; medians shown). "wall ms" is that process's first execution (cold: JIT not warmed up); "warm ms" is the median of the later half of ${warm} more execution${warm === 1 ? '' : 's'} in the same process, once the JIT has warmed up (at most 6 on layered-10k, 1 on layered-100k; none for dask there).`,
  'A (in-process no-op stages): only the execution is timed, not the DAG generation nor the building of the PipelineSpec / dask graph; the "ours + construction" row times stage() objects + pipeline() + run() together. ours and the bare loop load the same modules, so "+ over start" (peak RSS growth past the runtime\'s own footprint) compares what the DAG costs each.',
  "B (command stages running `true`, parallelism 2): ours is timed from createExecutors to the end of runPipeline (stage directories, logs, processes). make and ninja are timed from spawn to exit, startup and parsing included, under /usr/bin/time for their peak RSS; their first run also checks that every stage ran exactly once. ninja runs each command through /bin/sh; make execs `true` directly. Ours' RSS is the orchestrator process only (a spawn helper process is not counted).",
  "Ours' command workspace (a directory per stage with inputs/ and artifacts/, a symlink per dependency, a log file) is in the temporary directory, on this machine's ext4 disk, where one mkdir costs about 0.5 ms and one symlink 0.3 ms (20 µs and 5 µs on tmpfs): the \"workspace on tmpfs\" row (TMPDIR=/dev/shm) separates that cost from the engine's and the spawner's. make and ninja run in the same temporary directory on disk and write nothing there but ninja's log.",
  `A case stops repeating once its runs took ${budgetMs / 1000} s in all (--budget); its wall time then says of how many runs it is the median.`,
  'layered-10k is 100 layers of 100; layered-100k is 1,000 layers of 100; fan-1k is 1 → 1,000 → 1 (1,002 stages). Each stage of a layer L > 0 depends on 1–3 distinct random stages of layer L − 1 (mulberry32, fixed seed). "ours ÷ peer" < 1 means ours is faster.',
];

async function main(): Promise<void> {
  const cases = allCases();
  const measured = new Map<string, Measured[]>(cases.map((c) => [c.id, []]));
  const errors = new Map<string, string>();
  const spentMs = new Map<string, number>();
  const started = performance.now();
  for (let r = 0; r < runs; r++) {
    for (const c of cases) {
      if (!c.argv || errors.has(c.id) || (spentMs.get(c.id) ?? 0) >= budgetMs) continue;
      const t0 = performance.now();
      try {
        const result = await runChild(c, r === 0);
        spentMs.set(c.id, (spentMs.get(c.id) ?? 0) + performance.now() - t0);
        measured.get(c.id)!.push(result);
        process.stderr.write(
          `[run ${r + 1}/${runs}] ${c.id.padEnd(26)} ${result.wallMs.toFixed(1).padStart(10)} ms${result.verified ? '' : '  NOT VERIFIED'}\n`,
        );
      } catch (error) {
        errors.set(c.id, `error: ${(error as Error).message}`);
        process.stderr.write(
          `[run ${r + 1}/${runs}] ${c.id} failed: ${(error as Error).message}\n`,
        );
      }
    }
  }
  rmSync(dagDir, { recursive: true, force: true });
  const rows: Row[] = cases.map((c) =>
    summarise(
      { group: c.group, impl: c.impl, label: c.label, shape: c.shape, stages: c.stages },
      measured.get(c.id)!,
      c.missing ?? errors.get(c.id),
    ),
  );
  const scaling = renderScaling(rows);
  const elapsed = ((performance.now() - started) / 1000).toFixed(0);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const report = [
    '# Benchmark results',
    '',
    `\`${command}\` — ${elapsed} s in all.`,
    '',
    machineInfo(),
    '',
    renderTable(rows, runs),
    '',
    ...(scaling ? [scaling, ''] : []),
    '## Targets (from the issue)',
    '',
    renderTargets(rows),
    '',
    '## Notes',
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  process.stdout.write(`\n${report}`);
  if (write) {
    writeFileSync(join(benchDir, 'RESULTS.md'), report);
    process.stderr.write(`written to ${join('bench', 'RESULTS.md')}\n`);
  }
}

await main();
