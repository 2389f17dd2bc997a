// `gpipe logs` (SPEC E2) end to end: real runs, real processes, judged by the lines printed.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLogLine } from '../src/logs/stage-log-line.ts';
import type { RunRecord } from '../src/store/run-store.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { followTalk, onlyRun, printedLines, ranOnce } from './fixtures/cli/follow-talk.ts';
import { eventually, gpipe, startGpipe, workspaces } from './fixtures/cli/harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const workspace = workspaces();

const twoStages = yamlPipeline('chatty', [
  '- name: a',
  '  command: [sh, -c, "echo a-out; echo a-err >&2"]',
  '- name: b',
  '  command: [sh, -c, "echo b-out"]',
  '  depends_on: [a]',
]);

test('logs prints a stage, filters by stream and time, and interleaves all stages by time', async () => {
  const { dir, id, started } = await ranOnce(workspace, twoStages, 0);

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
    printedLines(stderr.stdout).map((l) => l.text),
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

test('logs -f follows a running stage and exits once it has ended', async () => {
  const { dir, run, follow } = await followTalk(workspace, 'follow', { secondToStderr: true });
  assert.equal(follow.child.exitCode, null, 'still following while the stage runs');
  writeFileSync(join(dir, 'go'), '');
  const followed = await follow.finished;
  assert.equal(followed.code, 0, followed.stderr);
  assert.deepEqual(
    printedLines(followed.stdout).map((line) => `${line.stream} ${line.text}`),
    ['stdout first', 'stderr second'],
  );
  assert.equal((await run.finished).code, 0);
});

test('logs -f of one stage exits when that stage ends, while the run goes on', async () => {
  const { dir, run, follow } = await followTalk(workspace, 'follow-one', {
    more: [
      '- name: after',
      '  depends_on: [talk]',
      '  command: [sh, -c, "while [ ! -e done ]; do sleep 0.02; done"]',
    ],
  });
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

/**
 * numbers → square[i] (a command per item). With `wait`, numbers waits for a file `go` after
 * its first line, and each item for a file `done` after its own.
 */
function fanOutYaml(wait: boolean): string {
  const hold = (file: string) => (wait ? `; while [ ! -e ${file} ]; do sleep 0.02; done` : '');
  return yamlPipeline('fanned', [
    '- name: numbers',
    `  command: [sh, -c, 'echo counting${hold('go')}; echo "[1,2]" > "$GP_RESULT_FILE"']`,
    '- name: square',
    '  for_each: numbers',
    `  command: [sh, -c, 'echo "item $GP_ITEM says hi"${hold('done')}; echo 1 > "$GP_RESULT_FILE"']`,
  ]);
}

/** The lines printed, each as `prefix text` (the time and stream left out); ordered by time. */
function prefixedTexts(stdout: string): string[] {
  const lines = stdout.trimEnd().split('\n');
  const times = lines.map((line) => parseLogLine(line.replace(/^(\[[^ ]+\] )/, '')).time);
  assert.deepEqual(
    times,
    [...times].sort((x, y) => x - y),
    `ordered by time:\n${stdout}`,
  );
  return lines.map((line) => {
    const prefix = /^(\[[^ ]+\] )/.exec(line)?.[1] ?? '';
    return `${prefix}${parseLogLine(line.slice(prefix.length)).text}`;
  });
}

test("logs shows fan-out items: one item, a mapped stage's items merged, and all stages", async () => {
  const { dir, id } = await ranOnce(workspace, fanOutYaml(false), 0);

  const item = await gpipe(['logs', id, 'square[0]'], dir);
  assert.equal(item.code, 0, item.stderr);
  assert.deepEqual(prefixedTexts(item.stdout), ['item 1 says hi']);

  const mapped = await gpipe(['logs', id, 'square'], dir);
  assert.equal(mapped.code, 0, mapped.stderr);
  assert.deepEqual(prefixedTexts(mapped.stdout).sort(), [
    '[square[0]] item 1 says hi',
    '[square[1]] item 2 says hi',
  ]);

  const all = await gpipe(['logs', id], dir);
  assert.equal(all.code, 0, all.stderr);
  const texts = prefixedTexts(all.stdout);
  assert.equal(texts[0], '[numbers] counting', 'the items ran after numbers');
  assert.deepEqual(texts.slice(1).sort(), [
    '[square[0]] item 1 says hi',
    '[square[1]] item 2 says hi',
  ]);

  const missing = await gpipe(['logs', id, 'square[7]'], dir);
  assert.equal(missing.code, 0, missing.stderr);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /^stage 'square\[7\]' of run \S+ has no log: it never ran\n$/);
  const other = await gpipe(['logs', id, 'cube[0]'], dir);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /has no stage 'cube\[0\]'/);
});

test('logs -f of a mapped stage, and of the whole run, picks up items as they start', async () => {
  const dir = workspace({ 'pipeline.yaml': fanOutYaml(true) });
  const run = startGpipe(['run', 'pipeline.yaml'], dir);
  const bothItems = ({ stdout }: { stdout: string }) =>
    stdout.includes('item 1 says hi') && stdout.includes('item 2 says hi');
  try {
    await eventually('the run directory', () => existsSync(join(dir, '.gpipe', 'runs')));
    const id = onlyRun(dir);
    const mapped = startGpipe(['logs', id, 'square', '-f'], dir);
    const all = startGpipe(['logs', id, '-f'], dir);
    // Following before any item exists: numbers waits for `go`.
    await all.waitFor('the first line of numbers', ({ stdout }) => stdout.includes('counting'));
    writeFileSync(join(dir, 'go'), '');
    // The items wait for `done`: what they said is printed while they run.
    await Promise.all([
      mapped.waitFor('both items', bothItems),
      all.waitFor('both items', bothItems),
    ]);
    writeFileSync(join(dir, 'done'), '');
    const [followedMapped, followedAll] = await Promise.all([mapped.finished, all.finished]);
    assert.equal(followedMapped.code, 0, followedMapped.stderr);
    assert.deepEqual(prefixedTexts(followedMapped.stdout).sort(), [
      '[square[0]] item 1 says hi',
      '[square[1]] item 2 says hi',
    ]);
    assert.equal(followedAll.code, 0, followedAll.stderr);
    assert.deepEqual(prefixedTexts(followedAll.stdout).sort(), [
      '[numbers] counting',
      '[square[0]] item 1 says hi',
      '[square[1]] item 2 says hi',
    ]);
  } finally {
    writeFileSync(join(dir, 'go'), '');
    writeFileSync(join(dir, 'done'), '');
  }
  assert.equal((await run.finished).code, 0);
});

test('logs finds a run after the project was moved, and says why a stage has no log', async () => {
  const parent = workspace({ 'proj/pipeline.yaml': twoStages });
  const before = join(parent, 'proj');
  assert.equal((await gpipe(['run', 'pipeline.yaml'], before)).code, 0);
  const first = onlyRun(before);
  // A second run takes both stages from the cache: they write no log.
  assert.equal((await gpipe(['run', 'pipeline.yaml'], before)).code, 0);
  const second = readdirSync(join(before, '.gpipe', 'runs')).find((id) => id !== first)!;

  const cwd = join(parent, 'proj2');
  renameSync(before, cwd);
  const moved = await gpipe(['logs', first, 'b'], cwd);
  assert.equal(moved.code, 0, moved.stderr);
  assert.deepEqual(prefixedTexts(moved.stdout), ['b-out']);
  assert.equal(moved.stderr, '');

  const cached = await gpipe(['logs', second, 'a'], cwd);
  assert.equal(cached.code, 0, cached.stderr);
  assert.equal(cached.stdout, '');
  assert.equal(
    cached.stderr,
    `stage 'a' of run ${second} has no log: it was cached (output of run ${first})\n`,
  );
  const none = await gpipe(['logs', second], cwd);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stderr, `run ${second} has no logs: none of its stages wrote one (2 cached)\n`);

  rmSync(join(cwd, '.gpipe', 'runs', first), { recursive: true });
  const gone = await gpipe(['logs', first, 'b'], cwd);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /stage 'b' of run \S+ has no log: its run directory is not there/);
});

test('logs says a stage that never ran has no log', async () => {
  const dir = workspace({
    'pipeline.yaml': twoStages.replace('echo a-out; echo a-err >&2', 'exit 4'),
  });
  assert.equal((await gpipe(['run', 'pipeline.yaml'], dir)).code, 3);
  const never = await gpipe(['logs', onlyRun(dir), 'b'], dir);
  assert.equal(never.code, 0, never.stderr);
  assert.match(never.stderr, /^stage 'b' of run \S+ has no log: it never ran/);
});
