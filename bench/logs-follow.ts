/**
 * `gpipe logs RUN -f` on a big fan-out: a run directory with N item logs (`square[i]`), a few
 * items still running and appending a line every 100 ms, the rest finished. Measured: the
 * follower's CPU per second of following (from /proc/PID/stat) and the lines it printed,
 * following the whole run and the mapped stage alone.
 *
 *   npm run bench:logs [-- --items 100000 --seconds 5]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatLogLine } from '../src/logs/stage-log-line.ts';
import type { RunRecord, RunStore, StoreWrite } from '../src/store/run-store.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { printRows } from './print-rows.ts';

const argument = (name: string, fallback: number) =>
  process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback;
const items = argument('--items', 100_000);
const seconds = argument('--seconds', 5);
const growing = 5;
const gpipe = join(import.meta.dirname, '..', 'bin', 'gpipe.js');
const name = (i: number) => `square[${i}]`;

/** A run of `items` items in a fresh workspace: all logged, the first `growing` still running. */
async function fanOutRun(): Promise<{ dir: string; run: RunRecord; store: RunStore }> {
  const dir = mkdtempSync(join(tmpdir(), 'gp-bench-follow-'));
  const runId = '20261202_010000_abcdef';
  const runDir = join(dir, '.gpipe', 'runs', runId);
  const t0 = Date.now() - 60_000;
  for (let i = 0; i < items; i++) {
    mkdirSync(join(runDir, name(i)), { recursive: true });
    const line = formatLogLine(new Date(t0 + i).toISOString(), 'stdout', `item ${i}`);
    writeFileSync(join(runDir, name(i), 'stage.log'), line);
  }
  const run: RunRecord = {
    runId,
    pipeline: 'fan',
    status: 'running',
    startedAt: t0,
    host: hostname(),
    pid: process.pid,
    runDir,
    stages: ['square'],
    options: {},
  };
  const event = (type: 'stage_started' | 'stage_finished', stage: string): StoreWrite => ({
    kind: 'event',
    event: {
      runId,
      ts: t0,
      type,
      stage,
      attempt: 1,
      ...(type === 'stage_finished' && { data: { status: 'succeeded' } }),
    },
  });
  const writes: StoreWrite[] = [{ kind: 'run', run }, event('stage_started', 'square')];
  for (let i = 0; i < items; i++) {
    writes.push(event('stage_started', name(i)));
    if (i >= growing) writes.push(event('stage_finished', name(i)));
  }
  const store = await openSqliteStore(join(dir, '.gpipe', 'state.db'));
  await store.append(writes);
  return { dir, run, store };
}

function cpuMs(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, 100 ticks a second
}

/** Follows `args` while the running items grow: CPU ms per second, lines printed meanwhile. */
async function follow(dir: string, runDir: string, args: string[]) {
  const child = spawn(process.execPath, [gpipe, 'logs', ...args, '-f'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let lines = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) lines++;
  });
  // The first read prints every log; following starts after it.
  while (lines < items && child.exitCode === null) await sleep(100);
  await sleep(1000);
  const grow = setInterval(() => {
    for (let i = 0; i < growing; i++) {
      const line = formatLogLine(new Date().toISOString(), 'stdout', 'more');
      appendFileSync(join(runDir, name(i), 'stage.log'), line);
    }
  }, 100);
  const [cpu0, lines0] = [cpuMs(child), lines];
  await sleep(seconds * 1000);
  const perSecond = (cpuMs(child) - cpu0) / seconds;
  const followed = lines - lines0;
  clearInterval(grow);
  child.kill();
  return { perSecond, followed };
}

const { dir, run, store } = await fanOutRun();
const rows = [['follower', 'logs', 'CPU per second of -f', `lines followed in ${seconds} s`]];
for (const [label, args] of [
  ['gpipe logs RUN -f', [run.runId]],
  ['gpipe logs RUN square -f', [run.runId, 'square']],
] as const) {
  const { perSecond, followed } = await follow(dir, run.runDir, [...args]);
  const expected = growing * 10 * seconds;
  rows.push([
    label,
    `${items}`,
    `${perSecond.toFixed(0)} ms`,
    `${followed} (~${expected} appended)`,
  ]);
}
await store.close();
rmSync(dir, { recursive: true, force: true });
printRows(rows);
