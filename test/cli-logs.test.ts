// `gpipe logs` (SPEC E2) end to end: real runs, real processes, judged by the lines printed.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLogLine } from '../src/logs/stage-log-line.ts';
import type { RunRecord } from '../src/store/run-store.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { eventually, gpipe, startGpipe, workspaces } from './fixtures/cli/harness.ts';

const workspace = workspaces();

function onlyRun(dir: string): string {
  const runs = readdirSync(join(dir, '.gpipe', 'runs'));
  assert.equal(runs.length, 1);
  return runs[0]!;
}

const twoStages = [
  'pipeline:',
  '  name: chatty',
  '  modules:',
  '    - name: a',
  '      command: [sh, -c, "echo a-out; echo a-err >&2"]',
  '    - name: b',
  '      command: [sh, -c, "echo b-out"]',
  '      depends_on: [a]',
].join('\n');

test('logs prints a stage, filters by stream and time, and interleaves all stages by time', async () => {
  const dir = workspace({ 'pipeline.yaml': twoStages });
  const started = Date.now();
  assert.equal((await gpipe(['run', 'pipeline.yaml'], dir)).code, 0);
  const id = onlyRun(dir);

  const a = await gpipe(['logs', id, 'a'], dir);
  assert.equal(a.code, 0, a.stderr);
  const lines = a.stdout.trimEnd().split('\n').map(parseLogLine);
  assert.deepEqual(lines.map((l) => `${l.stream} ${l.text}`).sort(), [
    'stderr a-err',
    'stdout a-out',
  ]);
  for (const line of lines) assert.ok(line.time >= started - 1000 && line.time <= Date.now());

  const stderr = await gpipe(['logs', id, 'a', '--stderr'], dir);
  assert.deepEqual(
    stderr.stdout
      .trimEnd()
      .split('\n')
      .map((l) => parseLogLine(l).text),
    ['a-err'],
  );

  const all = await gpipe(['logs', id], dir);
  assert.equal(all.code, 0, all.stderr);
  const prefixed = all.stdout.trimEnd().split('\n');
  assert.equal(prefixed.length, 3);
  assert.ok(
    prefixed.every((line) => /^\[(a|b)\] \S+Z std(out|err) \| /.test(line)),
    all.stdout,
  );
  const times = prefixed.map((line) => parseLogLine(line.replace(/^\[\w+\] /, '')).time);
  assert.deepEqual(
    times,
    [...times].sort((x, y) => x - y),
    'ordered by time',
  );
  // b ran after a: its line comes last.
  assert.match(prefixed[2]!, /^\[b\] .* b-out$/);

  assert.equal(
    (await gpipe(['logs', id, '--since', '1h'], dir)).stdout.trimEnd().split('\n').length,
    3,
  );
  const future = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await gpipe(['logs', id, '--since', future], dir)).stdout, '');

  const bad = await gpipe(['logs', id, '--since', 'yesterday-ish'], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--since: expected a duration such as 5m/);
  const missing = await gpipe(['logs', id, 'nope'], dir);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /has no stage 'nope'/);
});

/**
 * A run whose stage `talk` prints `first`, waits for a file `go`, then prints `second` (to
 * stderr when `secondToStderr`); `more` modules follow. Returns once `gpipe logs RUN talk -f`
 * follows it and has printed the first line.
 */
async function followTalk(name: string, secondToStderr: boolean, more: string[] = []) {
  const second = secondToStderr ? 'echo second >&2' : 'echo second';
  const dir = workspace({
    'pipeline.yaml': [
      'pipeline:',
      `  name: ${name}`,
      '  modules:',
      '    - name: talk',
      `      command: [sh, -c, "echo first; while [ ! -e go ]; do sleep 0.02; done; ${second}"]`,
      ...more,
    ].join('\n'),
  });
  const run = startGpipe(['run', 'pipeline.yaml'], dir);
  await eventually('the first line in stage.log', () => {
    if (!existsSync(join(dir, '.gpipe', 'runs'))) return false;
    const runs = readdirSync(join(dir, '.gpipe', 'runs'));
    const log = runs[0] ? join(dir, '.gpipe', 'runs', runs[0], 'talk', 'stage.log') : '';
    return log !== '' && existsSync(log) && readFileSync(log, 'utf8').includes('first');
  });
  const follow = startGpipe(['logs', onlyRun(dir), 'talk', '-f'], dir);
  await follow.waitFor('the first line', ({ stdout }) => stdout.includes('stdout | first'));
  return { dir, run, follow };
}

test('logs -f follows a running stage and exits once it has ended', async () => {
  const { dir, run, follow } = await followTalk('follow', true);
  assert.equal(follow.child.exitCode, null, 'still following while the stage runs');
  writeFileSync(join(dir, 'go'), '');
  const followed = await follow.finished;
  assert.equal(followed.code, 0, followed.stderr);
  assert.deepEqual(
    followed.stdout
      .trimEnd()
      .split('\n')
      .map((line) => `${parseLogLine(line).stream} ${parseLogLine(line).text}`),
    ['stdout first', 'stderr second'],
  );
  assert.equal((await run.finished).code, 0);
});

test('logs -f of one stage exits when that stage ends, while the run goes on', async () => {
  const { dir, run, follow } = await followTalk('follow-one', false, [
    '    - name: after',
    '      depends_on: [talk]',
    '      command: [sh, -c, "while [ ! -e done ]; do sleep 0.02; done"]',
  ]);
  writeFileSync(join(dir, 'go'), '');
  try {
    const followed = await follow.finished;
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /stdout \| second/);
    assert.equal(run.child.exitCode, null, 'the run still goes on: after waits');
  } finally {
    writeFileSync(join(dir, 'done'), '');
  }
  assert.equal((await run.finished).code, 0);
});

test('logs -f waits a moment for a run that is just starting, and no longer', async () => {
  const dir = workspace({});
  const runDir = join(dir, '.gpipe', 'runs', '20261202_010000_abcdef');
  mkdirSync(join(runDir, 'talk'), { recursive: true });
  writeFileSync(join(runDir, 'talk', 'stage.log'), '2026-12-02T01:00:00.000Z stdout | hello\n');
  const store = await openSqliteStore(join(dir, '.gpipe', 'state.db'));
  try {
    // The id is known (on the screen) before the run's first commit.
    const follow = startGpipe(['logs', '20261202_010000_abcdef', 'talk', '-f'], dir);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const run: RunRecord = {
      runId: '20261202_010000_abcdef',
      pipeline: 'late',
      status: 'succeeded',
      startedAt: Date.now(),
      endedAt: Date.now(),
      host: 'here',
      pid: process.pid,
      runDir,
      stages: ['talk'],
      options: {},
    };
    await store.append([{ kind: 'run', run }]);
    const followed = await follow.finished;
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /stdout \| hello/);
  } finally {
    await store.close();
  }
  const never = await gpipe(['logs', '20261202_010000_nosuch', '-f'], dir);
  assert.equal(never.code, 2);
  assert.match(never.stderr, /no run '20261202_010000_nosuch' in this workspace/);
});
