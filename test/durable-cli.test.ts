/**
 * Durable runs end to end through the real `gpipe` (SPEC B6, C2, C4, C6, E4): the run
 * directory's files, the inspection commands, resume after a failure, `checkpoint.enabled`,
 * `--force-restart`, `--stage` / `--from`, and dry runs that change nothing on disk. Stages are
 * shell commands that count their invocations in the workspace (fixtures/durable/flow.yaml).
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { openSqlite } from '../src/store/sqlite/sqlite-driver.ts';
import {
  assertUnchanged,
  durableWorkspaces,
  expectExit,
  expectInputError,
  fixtureText,
  gpipeJson,
  hasStateDir,
  InvocationWatch,
  readJson,
  runFinished,
  snapshot,
} from './fixtures/durable/durable-harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const spaces = durableWorkspaces();

interface StageState {
  stage: string;
  status: string;
  attempts: number;
  exitCode?: number;
  reusedFrom?: string;
}
interface RunStatus {
  runId: string;
  pipeline: string;
  status: string;
  stages: StageState[];
}
interface PreviewJson {
  pipeline: string;
  resumes?: string;
  rows: { stage: string; action: string; detail: string }[];
}

/** Status, attempts and exit code of each stage of the latest run, from `status --json`. */
async function stagesOf(
  cwd: string,
): Promise<Record<string, { status: string; attempts: number; exitCode: number | null }>> {
  const status = await gpipeJson<RunStatus>(['status', '--json'], cwd);
  return Object.fromEntries(
    status.stages.map((s) => [
      s.stage,
      { status: s.status, attempts: s.attempts, exitCode: s.exitCode ?? null },
    ]),
  );
}

function manifestStatuses(runDir: string): Record<string, string> {
  const manifest = readJson<{ stages: { name: string; status: string }[] }>(
    join(runDir, 'manifest.json'),
  );
  return Object.fromEntries(manifest.stages.map((s) => [s.name, s.status]));
}

/** The run directories of the workspace. */
function runDirs(cwd: string): string[] {
  return readdirSync(join(cwd, '.gpipe', 'runs'));
}

const sha256 = /^sha256:[0-9a-f]{64}$/;
const bOutput = { inputs: { a: { n: 1 } }, file: 'hello' };

describe('a finished run: its files and the inspection commands', () => {
  let cwd = '';
  let runId = '';
  let runDir = '';
  before(async () => {
    cwd = spaces.make(['flow.yaml']);
    runId = runFinished((await expectExit(0, ['run', 'flow.yaml', '--json'], cwd)).stdout).runId;
    runDir = join(cwd, '.gpipe', 'runs', runId);
  });

  test('run.json, manifest.json, {stage}/output.json with _meta and data, .gpipe/latest', () => {
    assert.equal(realpathSync(join(cwd, '.gpipe', 'latest')), realpathSync(runDir));
    const run = readJson(join(runDir, 'run.json'));
    assert.equal(run.run_id, runId);
    assert.equal(run.pipeline, 'flow');
    assert.equal(run.status, 'succeeded');
    assert.equal(run.source, realpathSync(join(cwd, 'flow.yaml')));
    assert.equal(run.stages, 3);
    assert.ok(!Number.isNaN(Date.parse(run.ended_at as string)), 'ended_at is a time');
    assert.deepEqual(readJson(join(runDir, 'manifest.json')).stages, [
      { name: 'a', status: 'succeeded', depends_on: [], output: 'a/output.json' },
      { name: 'b', status: 'succeeded', depends_on: ['a'], output: 'b/output.json' },
      { name: 'c', status: 'succeeded', depends_on: ['b'], output: 'c/output.json' },
    ]);

    const outputs = Object.fromEntries(
      ['a', 'b', 'c'].map((stage) => [
        stage,
        readJson<{ _meta: Record<string, unknown>; data: unknown }>(
          join(runDir, stage, 'output.json'),
        ),
      ]),
    );
    for (const [stage, { _meta }] of Object.entries(outputs)) {
      assert.equal(_meta.stage, stage);
      assert.equal(_meta.run_id, runId);
      assert.equal(_meta.status, 'succeeded');
      assert.equal(_meta.attempt, 1);
      assert.ok(!Number.isNaN(Date.parse(_meta.created_at as string)), `${stage}: created_at`);
      assert.equal(typeof _meta.duration_seconds, 'number');
      assert.ok((_meta.duration_seconds as number) >= 0);
      assert.match(_meta.input_hash as string, sha256);
      assert.match(_meta.output_hash as string, sha256);
    }
    assert.equal(outputs.a!._meta.version, '3');
    assert.equal(outputs.b!._meta.version, null);
    assert.deepEqual(outputs.a!.data, { n: 1 });
    // b read a's artifact through $INPUT_ROOT and a's output through $GP_INPUTS_FILE.
    assert.deepEqual(outputs.b!.data, bOutput);
    assert.equal(readFileSync(join(runDir, 'b', 'artifacts', 'copy'), 'utf8'), 'hello\n');
    assert.notEqual(outputs.a!._meta.output_hash, outputs.b!._meta.output_hash);
    assert.notEqual(outputs.b!._meta.input_hash, outputs.c!._meta.input_hash);
  });

  test('runs --json, status --json and status, show RUN STAGE', async () => {
    const [runs, stages, text, shown] = await Promise.all([
      gpipeJson<Record<string, unknown>[]>(['runs', '--json'], cwd),
      stagesOf(cwd),
      expectExit(0, ['status', runId], cwd),
      expectExit(0, ['show', runId, 'b'], cwd),
    ]);
    assert.equal(runs.length, 1);
    assert.deepEqual(
      { runId: runs[0]!.runId, pipeline: runs[0]!.pipeline, status: runs[0]!.status },
      { runId, pipeline: 'flow', status: 'succeeded' },
    );
    assert.equal(runs[0]!.stages, 3);
    assert.deepEqual(stages, {
      a: { status: 'succeeded', attempts: 1, exitCode: 0 },
      b: { status: 'succeeded', attempts: 1, exitCode: 0 },
      c: { status: 'succeeded', attempts: 1, exitCode: 0 },
    });
    assert.match(text.stdout, new RegExp(`^run ${runId}: pipeline 'flow', succeeded`, 'm'));
    assert.match(
      text.stdout,
      /^b +succeeded +1 +\d+\.\ds +0 +[\d.]+ MB +[\d.]+ +[\d.]+% +[\d.]+ MB\/[\d.]+ MB$/m,
    );
    // The file as the run wrote it, with the stage's resource figures put first.
    const file = readFileSync(join(runDir, 'b', 'output.json'), 'utf8');
    assert.ok(shown.stdout.endsWith(file.slice(1)));
    const { resources, ...rest } = JSON.parse(shown.stdout) as { resources: { samples: number } };
    assert.deepEqual(rest, JSON.parse(file));
    assert.ok(resources.samples >= 1);
  });

  test('bad inputs: one line on stderr, exit 2', async () => {
    await Promise.all([
      expectInputError(['status', 'nosuchrun'], cwd, /no run 'nosuchrun' in this workspace/),
      expectInputError(['show', runId, 'nosuchstage'], cwd, /has no stage 'nosuchstage'.*a, b, c/),
      expectInputError(['cache', 'gc', '--keep-days', 'x'], cwd, /--keep-days 'x': must be/),
      expectInputError(['cache', 'gc', '--keep-days', ''], cwd, /--keep-days '': must be/),
      expectInputError(['cache', 'gc', '--keep-days', '0x1E'], cwd, /--keep-days '0x1E': must be/),
      expectInputError(['resume'], cwd, /no unfinished run to resume/),
    ]);
  });
});

test('an empty workspace: inspection commands say so, exit 2, and create nothing', async () => {
  const cwd = spaces.make(['flow.yaml']);
  const before = snapshot(cwd);
  const nothing = /no runs in this workspace/;
  const [runs] = await Promise.all([
    expectExit(0, ['runs'], cwd),
    expectInputError(['status'], cwd, nothing),
    expectInputError(['show', 'nosuchrun', 'a'], cwd, nothing),
    expectInputError(['cache', 'gc', '--keep-days', '1'], cwd, nothing),
    expectInputError(['resume'], cwd, nothing),
    expectInputError(['run', 'flow.yaml', '--stage', 'b'], cwd, /stage 'a' is needed/),
    expectInputError(['run', 'flow.yaml', '--from', 'c'], cwd, /stage 'b' is needed/),
    expectInputError(['resume', '--file', 'flow.yaml'], cwd, /no unfinished run/),
  ]);
  assert.equal(runs.stdout, 'no runs yet\n');
  assert.equal(hasStateDir(cwd), false, 'no .gpipe');
  assertUnchanged(cwd, before, 'asking an empty workspace');
});

describe('resume', () => {
  test('after a failure only the failed stage and its downstream run again, in the same run', async () => {
    const cwd = spaces.make(['flow.yaml'], { 'fail-b': '' });
    const invoked = new InvocationWatch(cwd);
    const failed = runFinished((await expectExit(3, ['run', 'flow.yaml', '--json'], cwd)).stdout);
    const runDir = join(cwd, '.gpipe', 'runs', failed.runId);
    assert.deepEqual(invoked.since(), ['a', 'b']);
    assert.deepEqual(await stagesOf(cwd), {
      a: { status: 'succeeded', attempts: 1, exitCode: 0 },
      b: { status: 'failed', attempts: 1, exitCode: 7 },
      c: { status: 'upstream_failed', attempts: 0, exitCode: null },
    });
    assert.deepEqual(manifestStatuses(runDir), {
      a: 'succeeded',
      b: 'failed',
      c: 'upstream_failed',
    });
    assert.equal(readJson(join(runDir, 'run.json')).status, 'failed');
    assert.equal(existsSync(join(runDir, 'b', 'output.json')), false);

    rmSync(join(cwd, 'fail-b'));
    const resumed = runFinished((await expectExit(0, ['resume', '--json'], cwd)).stdout);
    assert.equal(resumed.runId, failed.runId, 'the same run goes on');
    assert.deepEqual(resumed.stages, { a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    assert.deepEqual(invoked.since(), ['b', 'c']);
    assert.deepEqual(await stagesOf(cwd), {
      a: { status: 'succeeded', attempts: 1, exitCode: 0 },
      b: { status: 'succeeded', attempts: 2, exitCode: 0 },
      c: { status: 'succeeded', attempts: 1, exitCode: 0 },
    });
    assert.deepEqual(runDirs(cwd), [failed.runId], 'no other run was started');
    assert.deepEqual(manifestStatuses(runDir), { a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    assert.equal(readJson(join(runDir, 'run.json')).status, 'succeeded');
    const b = readJson<{ _meta: { attempt: number }; data: unknown }>(
      join(runDir, 'b', 'output.json'),
    );
    assert.equal(b._meta.attempt, 2);
    assert.deepEqual(b.data, bOutput);

    // A plain run now would take everything from the cache; --force-restart reuses nothing.
    const restarted = runFinished(
      (await expectExit(0, ['run', 'flow.yaml', '--force-restart', '--json'], cwd)).stdout,
    );
    assert.notEqual(restarted.runId, failed.runId);
    assert.deepEqual(restarted.stages, { a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    assert.deepEqual(invoked.since(), ['a', 'b', 'c']);
    assert.equal(
      realpathSync(join(cwd, '.gpipe', 'latest')),
      realpathSync(join(cwd, '.gpipe', 'runs', restarted.runId)),
      'latest follows the newest run',
    );
  });

  test('checkpoint.enabled: running again resumes the unfinished run; --force-restart does not', async () => {
    const yaml = fixtureText('flow.yaml').replace(
      '  name: flow\n',
      '  name: flow_checkpoint\n  checkpoint: {enabled: true}\n',
    );
    assert.match(yaml, /checkpoint/);
    const cwd = spaces.make([], { 'flow.yaml': yaml, 'fail-b': '' });
    const invoked = new InvocationWatch(cwd);
    const run = (code: number, ...flags: string[]) =>
      expectExit(code, ['run', 'flow.yaml', '--json', ...flags], cwd).then((f) =>
        runFinished(f.stdout),
      );

    const first = await run(3);
    assert.deepEqual(invoked.since(), ['a', 'b']);
    rmSync(join(cwd, 'fail-b'));
    const again = await run(0);
    assert.equal(again.runId, first.runId, 'resumed, not started anew');
    assert.deepEqual(invoked.since(), ['b', 'c']);

    // Two failed runs started afresh: the second does not resume the first, nor take a from
    // the cache.
    writeFileSync(join(cwd, 'fail-b'), '');
    const restarted = await run(3, '--force-restart');
    assert.deepEqual(invoked.since(), ['a', 'b']);
    const restartedAgain = await run(3, '--force-restart');
    assert.deepEqual(invoked.since(), ['a', 'b']);
    assert.equal(new Set([first.runId, restarted.runId, restartedAgain.runId]).size, 3);
    // Without the flag the latest unfinished run goes on, b and c from the cache this time.
    rmSync(join(cwd, 'fail-b'));
    const resumed = await run(0);
    assert.equal(resumed.runId, restartedAgain.runId);
    assert.deepEqual(resumed.stages, { a: 'succeeded', b: 'cached', c: 'cached' });
    assert.deepEqual(invoked.since(), []);
  });

  test('a resume after a crash writes the output.json it cut short and clears its temporary file', async () => {
    const cwd = spaces.make(['flow.yaml']);
    const done = runFinished((await expectExit(0, ['run', 'flow.yaml', '--json'], cwd)).stdout);
    const runDir = join(cwd, '.gpipe', 'runs', done.runId);
    // What kill -9 in the middle of writing b's output.json leaves: its temporary file, no
    // output.json, and the run still recorded as running, by a process that is gone.
    const output = join(runDir, 'b', 'output.json');
    const written = readJson(output);
    rmSync(output);
    const leftover = `${output}.tmp-999999-1`;
    writeFileSync(leftover, '{"_meta": {"st');
    const db = openSqlite(join(cwd, '.gpipe', 'state.db'));
    db.prepare("UPDATE runs SET status = 'running', ended_at = NULL, pid = 999999").run();
    db.close();
    const invoked = new InvocationWatch(cwd);
    const resumed = runFinished((await expectExit(0, ['resume', '--json'], cwd)).stdout);
    assert.equal(resumed.runId, done.runId);
    assert.deepEqual(invoked.since(), [], 'nothing ran again');
    assert.equal(existsSync(leftover), false, 'the temporary file is gone');
    assert.deepEqual(readJson(output), written, 'the output.json is back, as it was');
    assert.ok(existsSync(join(runDir, 'b', 'artifacts', 'copy')), 'artifacts are untouched');
  });
});

describe('selective runs', () => {
  test('--stage runs one stage and --from its descendants, with inputs from earlier runs', async () => {
    const cwd = spaces.make(['flow.yaml']);
    const invoked = new InvocationWatch(cwd);
    const full = runFinished((await expectExit(0, ['run', 'flow.yaml', '--json'], cwd)).stdout);
    assert.deepEqual(invoked.since(), ['a', 'b', 'c']);

    // --no-cache: b would otherwise be a cache hit, and not run at all.
    const one = runFinished(
      (await expectExit(0, ['run', 'flow.yaml', '--stage', 'b', '--no-cache', '--json'], cwd))
        .stdout,
    );
    assert.deepEqual(invoked.since(), ['b']);
    assert.deepEqual(one.stages, { a: 'cached', b: 'succeeded', c: 'skipped' });
    const status = await gpipeJson<RunStatus>(['status', '--json'], cwd);
    assert.equal(status.runId, one.runId);
    const [a, b, c] = status.stages;
    assert.deepEqual(
      { status: a!.status, reusedFrom: a!.reusedFrom },
      { status: 'cached', reusedFrom: full.runId },
    );
    assert.deepEqual(
      { status: b!.status, attempts: b!.attempts },
      { status: 'succeeded', attempts: 1 },
    );
    assert.deepEqual(
      { status: c!.status, attempts: c!.attempts },
      { status: 'skipped', attempts: 0 },
    );
    const oneDir = join(cwd, '.gpipe', 'runs', one.runId);
    assert.deepEqual(readJson(join(oneDir, 'b', 'output.json')).data, bOutput);
    assert.equal(readFileSync(join(oneDir, 'b', 'artifacts', 'copy'), 'utf8'), 'hello\n');

    // a's latest success is now the output run `one` reused: it is reused again, from there.
    const from = runFinished(
      (await expectExit(0, ['run', 'flow.yaml', '--from', 'b', '--no-cache', '--json'], cwd))
        .stdout,
    );
    assert.deepEqual(invoked.since(), ['b', 'c']);
    assert.deepEqual(from.stages, { a: 'cached', b: 'succeeded', c: 'succeeded' });
    const fromDir = join(cwd, '.gpipe', 'runs', from.runId);
    assert.deepEqual(readJson(join(fromDir, 'b', 'output.json')).data, bOutput);
  });

  test('--stage whose upstream never succeeded, or an unknown stage: exit 2, nothing runs', async () => {
    const cwd = spaces.make(['flow.yaml'], { 'fail-a': '' });
    const invoked = new InvocationWatch(cwd);
    await expectExit(3, ['run', 'flow.yaml', '--quiet'], cwd);
    assert.deepEqual(invoked.since(), ['a']);
    await Promise.all([
      expectInputError(
        ['run', 'flow.yaml', '--stage', 'b'],
        cwd,
        /stage 'a' is needed but it has never succeeded: run it first, or use --from a/,
      ),
      expectInputError(
        ['run', 'flow.yaml', '--stage', 'nosuch'],
        cwd,
        /--stage nosuch: no stage of that name in 'flow'/,
      ),
      expectInputError(
        ['run', 'flow.yaml', '--stage', 'b', '--from', 'a'],
        cwd,
        /--stage and --from cannot be used together/,
      ),
    ]);
    assert.deepEqual(invoked.since(), []);
    assert.equal(runDirs(cwd).length, 1, 'no new run');
  });
});

describe('dry run', () => {
  test('in an empty workspace: every stage would run, and nothing is created', async () => {
    const cwd = spaces.make(['flow.yaml']);
    const before = snapshot(cwd);
    const [text, json] = await Promise.all([
      expectExit(0, ['run', 'flow.yaml', '--dry-run'], cwd),
      gpipeJson<PreviewJson>(['run', 'flow.yaml', '--dry-run', '--json'], cwd),
    ]);
    assert.equal(
      text.stdout,
      [
        "Dry run of pipeline 'flow' (a new run); nothing runs.",
        '  a  run     runs',
        '  b  run     runs',
        '  c  run     runs',
        '3 stages: 3 to run, 0 reused, 0 from the cache, 0 left out',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      json.rows.map((row) => row.action),
      ['run', 'run', 'run'],
    );
    assert.equal(hasStateDir(cwd), false);
    assertUnchanged(cwd, before, 'run --dry-run');
  });

  test('after a failure: run and resume --dry-run print the plan and change nothing', async () => {
    const cwd = spaces.make(['flow.yaml'], { 'fail-b': '' });
    const invoked = new InvocationWatch(cwd);
    const { runId } = runFinished(
      (await expectExit(3, ['run', 'flow.yaml', '--json'], cwd)).stdout,
    );
    invoked.since();
    const before = snapshot(cwd);
    const plan = async (args: string[]) => {
      const preview = await gpipeJson<PreviewJson>([...args, '--dry-run', '--json'], cwd);
      return {
        resumes: preview.resumes,
        rows: preview.rows.map((row) => `${row.stage} ${row.action}: ${row.detail}`),
      };
    };
    // One at a time, as a user would: see `snapshot` on SQLite's -wal and -shm files.
    assert.deepEqual(await plan(['resume']), {
      resumes: runId,
      rows: ['a reuse: done in this run', 'b run: again: attempt 2', "c run: runs after 'b'"],
    });
    assert.deepEqual(await plan(['run', 'flow.yaml']), {
      resumes: undefined,
      rows: [
        `a cached: cache hit: output of run ${runId}`,
        'b run: runs: it has not succeeded before',
        "c run: runs after 'b'",
      ],
    });
    assert.deepEqual(await plan(['run', 'flow.yaml', '--no-cache']), {
      resumes: undefined,
      rows: ['a run: runs', 'b run: runs', 'c run: runs'],
    });
    const selected = await expectExit(0, ['run', 'flow.yaml', '--stage', 'b', '--dry-run'], cwd);
    assert.equal(
      selected.stdout,
      [
        "Dry run of pipeline 'flow' (a new run); nothing runs.",
        `  a  reuse   output of run ${runId}`,
        '  b  run     runs: it has not succeeded before',
        '  c  skip    not selected',
        '3 stages: 1 to run, 1 reused, 0 from the cache, 1 left out',
        '',
      ].join('\n'),
    );
    assertUnchanged(cwd, before, 'the dry runs');
    assert.deepEqual(invoked.since(), [], 'nothing ran');

    // The plan was right: the resume does what its dry run said.
    rmSync(join(cwd, 'fail-b'));
    await expectExit(0, ['resume', '--quiet'], cwd);
    assert.deepEqual(invoked.since(), ['b', 'c']);
  });
});

test('show reads the run directory after the project was moved or renamed', async () => {
  const parent = spaces.make([], {
    'proj/flow.yaml': fixtureText('flow.yaml'),
    'proj/invocations/.keep': '',
  });
  const before = join(parent, 'proj');
  const runId = runFinished(
    (await expectExit(0, ['run', 'flow.yaml', '--json'], before)).stdout,
  ).runId;
  const cwd = join(parent, 'proj2');
  renameSync(before, cwd);
  // Marked, so that what show prints is told apart from the output it makes from the store.
  const file = join(cwd, '.gpipe', 'runs', runId, 'b', 'output.json');
  const written = readJson<{ data: Record<string, unknown> }>(file);
  written.data.note = 'read from the moved run directory';
  writeFileSync(file, `${JSON.stringify(written, null, 2)}\n`);
  const shown = await expectExit(0, ['show', runId, 'b'], cwd);
  const { resources: _resources, ...rest } = JSON.parse(shown.stdout) as Record<string, unknown>;
  assert.deepEqual(rest, written);
});

test("'latest' names the newest run in status, show and logs", async () => {
  const cwd = spaces.make([], {
    'hello.yaml': yamlPipeline('hello', [
      '- name: a',
      `  command: [sh, -c, 'echo x >> count; echo "hello $(wc -l < count)"']`,
    ]),
  });
  await expectExit(0, ['run', 'hello.yaml', '--quiet'], cwd);
  const newest = runFinished(
    (await expectExit(0, ['run', 'hello.yaml', '--json', '--no-cache'], cwd)).stdout,
  );
  const status = await gpipeJson<{ runId: string }>(['status', 'latest', '--json'], cwd);
  assert.equal(status.runId, newest.runId);
  const show = await expectExit(0, ['show', newest.runId, 'a'], cwd);
  assert.equal((await expectExit(0, ['show', 'latest', 'a'], cwd)).stdout, show.stdout);
  assert.match(show.stdout, /"resources"/);
  const logs = await expectExit(0, ['logs', 'latest', 'a'], cwd);
  assert.match(logs.stdout, /stdout \| hello 2\n$/);
  await expectInputError(
    ['show', 'nosuchrun', 'a'],
    cwd,
    /^gpipe: no run 'nosuchrun' in this workspace \(see gpipe runs\)$/m,
  );
});
