/**
 * A run goes on as it was started, through the real `gpipe`: `resume` (and `run` of a
 * `checkpoint.enabled` pipeline) reads the run's `--override` files (and the file
 * PIPELINE_CONFIG_OVERRIDE_S3_PATH named) again, asks for its `--set`
 * keys again (their values are not stored), and keeps `--no-cache` on. `explain` and
 * `run --dry-run` take the same config flags as `run`.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gpipe } from './fixtures/cli/harness.ts';
import {
  assertExit,
  durableWorkspaces,
  expectExit,
  runFinished,
} from './fixtures/durable/durable-harness.ts';
import { operatorRepo, project, pythonEnv } from './fixtures/toml/toml-project.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const spaces = durableWorkspaces();

/**
 * a → b, each appending "<stage> $MODE" to log.txt; b fails while fail-b exists. `settings` go
 * under `pipeline:` (a checkpoint block).
 */
function modeYaml(...settings: string[]): string {
  return yamlPipeline(
    'modes',
    [
      '- name: a',
      `  command: [sh, -c, 'echo "a $MODE" >> log.txt']`,
      '  env: {MODE: normal}',
      '- name: b',
      `  command: [sh, -c, 'echo "b $MODE" >> log.txt; if [ -e fail-b ]; then exit 7; fi']`,
      '  env: {MODE: normal}',
      '  depends_on: [a]',
    ],
    settings,
  );
}

const setA = 'pipeline.modules.a.env.MODE';
const setB = 'pipeline.modules.b.env.MODE';
const overrideB = 'pipeline:\n  modules:\n    b:\n      env: {MODE: from-override}\n';

const envVariable = 'PIPELINE_CONFIG_OVERRIDE_S3_PATH';
/** An override of both stages, so that a stage loaded without it would not be reused. */
const overrideBoth =
  'pipeline:\n  modules:\n    a: {env: {MODE: from-env}}\n    b: {env: {MODE: from-env}}\n';

/** `gpipe …args` with the variable naming `file` ('' leaves it unset), exiting with `code`. */
async function withEnvOverride(code: number, file: string, args: string[], cwd: string) {
  return assertExit(await gpipe(args, cwd, { [envVariable]: file }), code, args);
}

/** The lines of log.txt written since the last call. */
function logReader(cwd: string): () => string[] {
  let seen = 0;
  return () => {
    let lines: string[] = [];
    try {
      lines = readFileSync(join(cwd, 'log.txt'), 'utf8').split('\n').filter(Boolean);
    } catch {}
    const fresh = lines.slice(seen);
    seen = lines.length;
    return fresh;
  };
}

/**
 * A run of modeYaml (with `settings`) started with the variable naming env.yaml, b failing;
 * then b fails no more. `log` has been read up to here.
 */
async function failedUnderEnvOverride(settings: string[] = [], files: Record<string, string> = {}) {
  const cwd = spaces.make([], {
    'p.yaml': modeYaml(...settings),
    'env.yaml': overrideBoth,
    'fail-b': '',
    ...files,
  });
  const log = logReader(cwd);
  const failed = runFinished(
    (await withEnvOverride(3, 'env.yaml', ['run', 'p.yaml', '--json'], cwd)).stdout,
  );
  const before = log();
  rmSync(join(cwd, 'fail-b'));
  return { cwd, log, failed, before };
}

/** The one line a refusal prints, without the `gpipe: ` prefix. */
function refusal(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0]!.replace(/^gpipe: /, '');
}

describe('resume goes on with the flags its run was started with', () => {
  test('--set keys must be given again, and their values apply', async () => {
    const cwd = spaces.make([], { 'p.yaml': modeYaml(), 'fail-b': '' });
    const log = logReader(cwd);
    const started = ['--set', `${setA}=special`, '--set', `${setB}=special`];
    const failed = runFinished(
      (await expectExit(3, ['run', 'p.yaml', ...started, '--json'], cwd)).stdout,
    );
    assert.deepEqual(log(), ['a special', 'b special']);
    rmSync(join(cwd, 'fail-b'));

    const bare = await expectExit(2, ['resume'], cwd);
    assert.equal(
      refusal(bare.stderr),
      `run ${failed.runId} was started with --set ${setA} --set ${setB}: resume it with the same --set (values are not stored)`,
    );
    const half = await expectExit(2, ['resume', '--set', `${setA}=special`], cwd);
    assert.match(refusal(half.stderr), new RegExp(`started with --set ${setB}: resume it`));
    assert.deepEqual(log(), [], 'nothing ran');

    const resumed = runFinished(
      (await expectExit(0, ['resume', ...started, '--json'], cwd)).stdout,
    );
    assert.equal(resumed.runId, failed.runId);
    assert.deepEqual(log(), ['b special'], 'b ran again with the value given');
  });

  test('--override files are read again; one that is gone stops the resume', async () => {
    const cwd = spaces.make([], { 'p.yaml': modeYaml(), 'o.yaml': overrideB, 'fail-b': '' });
    const log = logReader(cwd);
    const failed = runFinished(
      (await expectExit(3, ['run', 'p.yaml', '--override', 'o.yaml', '--json'], cwd)).stdout,
    );
    assert.deepEqual(log(), ['a normal', 'b from-override']);
    rmSync(join(cwd, 'fail-b'));

    renameSync(join(cwd, 'o.yaml'), join(cwd, 'moved.yaml'));
    const gone = await expectExit(2, ['resume'], cwd);
    assert.equal(
      refusal(gone.stderr),
      `run ${failed.runId} was started with --override o.yaml, which is no longer there (${join(cwd, 'o.yaml')}): put it back to resume the run`,
    );
    const other = await expectExit(2, ['resume', '--override', 'moved.yaml'], cwd);
    assert.match(refusal(other.stderr), /--override o\.yaml, which is no longer there/);
    assert.deepEqual(log(), [], 'nothing ran');

    renameSync(join(cwd, 'moved.yaml'), join(cwd, 'o.yaml'));
    // A flag the run was not started with applies to this resume, and a note says it is not kept.
    const resumed = await expectExit(
      0,
      ['resume', '--set', 'pipeline.modules.b.timeout=5m', '--json'],
      cwd,
    );
    assert.equal(runFinished(resumed.stdout).runId, failed.runId);
    assert.equal(
      resumed.stderr.trim(),
      `note: run ${failed.runId} keeps the flags it was started with: give --set pipeline.modules.b.timeout again on a later resume`,
    );
    assert.deepEqual(log(), ['b from-override']);
  });

  test(`${envVariable}'s file is read again where the variable is not set`, async () => {
    const { cwd, log, failed, before } = await failedUnderEnvOverride();
    assert.deepEqual(before, ['a from-env', 'b from-env']);
    const runJson = JSON.parse(readFileSync(join(cwd, '.gpipe', 'latest', 'run.json'), 'utf8'));
    assert.equal(runJson.options.envOverride, 'env.yaml');

    // Loaded without the override, a's config would differ and a would run again.
    const preview = await withEnvOverride(0, '', ['resume', '--dry-run', '--json'], cwd);
    const rows = (JSON.parse(preview.stdout) as { rows: { stage: string; action: string }[] }).rows;
    assert.deepEqual(
      rows.map((row) => [row.stage, row.action]),
      [
        ['a', 'reuse'],
        ['b', 'run'],
      ],
    );
    const resumed = await withEnvOverride(0, '', ['resume', '--json'], cwd);
    assert.equal(runFinished(resumed.stdout).runId, failed.runId);
    assert.equal(resumed.stderr, '', 'nothing to note');
    assert.deepEqual(log(), ['b from-env'], 'a was not run again; b saw the override');
  });

  test(`${envVariable} naming another file: the run's applies, then that one, with a note`, async () => {
    const { cwd, log, failed } = await failedUnderEnvOverride([], {
      'other.yaml': overrideB.replace('from-override', 'from-other'),
    });

    renameSync(join(cwd, 'env.yaml'), join(cwd, 'moved.yaml'));
    for (const now of ['', 'moved.yaml']) {
      const gone = await withEnvOverride(2, now, ['resume'], cwd);
      assert.equal(
        refusal(gone.stderr),
        `run ${failed.runId} was started with ${envVariable}=env.yaml, which is no longer there (${join(cwd, 'env.yaml')}): put it back to resume the run`,
      );
    }
    assert.deepEqual(log(), [], 'nothing ran');
    renameSync(join(cwd, 'moved.yaml'), join(cwd, 'env.yaml'));

    // As an --override given on resume: after the run's own, for this resume alone.
    const resumed = await withEnvOverride(0, 'other.yaml', ['resume', '--json'], cwd);
    assert.equal(runFinished(resumed.stdout).runId, failed.runId);
    assert.equal(
      resumed.stderr.trim(),
      `note: run ${failed.runId} keeps the flags it was started with: give ${envVariable}=other.yaml again on a later resume`,
    );
    assert.deepEqual(log(), ['b from-other'], 'a (loaded with the run’s file) was reused');
  });

  test('--no-cache stays on: stages that would hit the cache run again', async () => {
    const cwd = spaces.make([], { 'p.yaml': modeYaml() });
    const log = logReader(cwd);
    await expectExit(0, ['run', 'p.yaml'], cwd); // every stage now has a cache entry
    writeFileSync(join(cwd, 'fail-b'), '');
    await expectExit(3, ['run', 'p.yaml', '--no-cache'], cwd);
    assert.deepEqual(log(), ['a normal', 'b normal', 'a normal', 'b normal']);
    rmSync(join(cwd, 'fail-b'));

    // With the cache on, b would be a hit and not run at all.
    const preview = await expectExit(0, ['resume', '--dry-run', '--json'], cwd);
    const rows = (JSON.parse(preview.stdout) as { rows: { stage: string; action: string }[] }).rows;
    assert.deepEqual(
      rows.map((row) => [row.stage, row.action]),
      [
        ['a', 'reuse'],
        ['b', 'run'],
      ],
    );
    const resumed = runFinished((await expectExit(0, ['resume', '--json'], cwd)).stdout);
    assert.deepEqual(resumed.stages, { a: 'succeeded', b: 'succeeded' });
    assert.deepEqual(log(), ['b normal']);
  });

  test('--file without a run id: the flags of the pipeline’s unfinished run apply', async () => {
    const cwd = spaces.make([], { 'p.yaml': modeYaml(), 'o.yaml': overrideB, 'fail-b': '' });
    const log = logReader(cwd);
    await expectExit(3, ['run', 'p.yaml', '--override', 'o.yaml', '--set', `${setA}=x`], cwd);
    log();
    rmSync(join(cwd, 'fail-b'));
    const bare = await expectExit(2, ['resume', '--file', 'p.yaml'], cwd);
    assert.match(refusal(bare.stderr), new RegExp(`started with --set ${setA}: resume it`));
    await expectExit(0, ['resume', '--file', 'p.yaml', '--set', `${setA}=x`], cwd);
    assert.deepEqual(log(), ['b from-override']);
  });
});

describe('checkpoint.enabled: running again resumes as resume does', () => {
  test('with the run’s override files and --no-cache, and its --set keys asked for', async () => {
    const cwd = spaces.make([], {
      'p.yaml': modeYaml('checkpoint: {enabled: true}'),
      'o.yaml': overrideB,
    });
    const log = logReader(cwd);
    await expectExit(0, ['run', 'p.yaml'], cwd); // cache entries a resume must not use
    writeFileSync(join(cwd, 'fail-b'), '');
    const started = ['--override', 'o.yaml', '--set', `${setA}=normal`, '--no-cache'];
    const failed = runFinished(
      (await expectExit(3, ['run', 'p.yaml', '--force-restart', ...started, '--json'], cwd)).stdout,
    );
    assert.deepEqual(log(), ['a normal', 'b normal', 'a normal', 'b from-override']);
    rmSync(join(cwd, 'fail-b'));

    const bare = await expectExit(2, ['run', 'p.yaml'], cwd);
    assert.equal(
      refusal(bare.stderr),
      `run ${failed.runId} was started with --set ${setA}: resume it with the same --set (values are not stored), or start a new run with --force-restart`,
    );
    const again = runFinished(
      (await expectExit(0, ['run', 'p.yaml', '--set', `${setA}=normal`, '--json'], cwd)).stdout,
    );
    assert.equal(again.runId, failed.runId, 'resumed, not started anew');
    assert.deepEqual(again.stages, { a: 'succeeded', b: 'succeeded' }, 'no cache hit');
    assert.deepEqual(log(), ['b from-override']);
  });
  test(`with the file ${envVariable} named, where the variable is not set now`, async () => {
    const { cwd, log, failed } = await failedUnderEnvOverride(['checkpoint: {enabled: true}']);
    const again = runFinished(
      (await withEnvOverride(0, '', ['run', 'p.yaml', '--json'], cwd)).stdout,
    );
    assert.equal(again.runId, failed.runId, 'resumed, not started anew');
    assert.deepEqual(log(), ['b from-env']);
  });
});

describe('explain and run --dry-run take the config flags of run', () => {
  test('--set and --override explain a run made with them; -c gives the file', async () => {
    const cwd = spaces.make([], { 'p.yaml': modeYaml(), 'o.yaml': overrideB });
    await expectExit(0, ['run', 'p.yaml', '--set', `${setB}=special`], cwd);
    const explain = async (...args: string[]) =>
      JSON.parse((await expectExit(0, ['explain', ...args, '--json'], cwd)).stdout) as {
        verdict: string;
        changes: string[];
      };

    const plain = await explain('p.yaml', 'b');
    assert.equal(plain.verdict, 'run');
    assert.ok(plain.changes.length > 0, 'the env changed');
    assert.equal((await explain('p.yaml', 'b', '--set', `${setB}=special`)).verdict, 'cached');
    assert.equal(
      (await explain('-c', 'p.yaml', 'b', '--set', `${setB}=special`)).verdict,
      'cached',
    );
    writeFileSync(join(cwd, 'special.yaml'), overrideB.replace('from-override', 'special'));
    assert.equal((await explain('p.yaml', 'b', '--override', 'special.yaml')).verdict, 'cached');
    assert.equal((await explain('p.yaml', 'b', '--override', 'o.yaml')).verdict, 'run');

    const dryRun = async (...args: string[]) =>
      (
        JSON.parse(
          (await expectExit(0, ['run', 'p.yaml', '--dry-run', '--json', ...args], cwd)).stdout,
        ) as { rows: { stage: string; action: string }[] }
      ).rows.find((row) => row.stage === 'b')?.action;
    assert.equal(await dryRun(), 'run');
    assert.equal(await dryRun('--set', `${setB}=special`), 'cached');

    const noStage = await expectExit(2, ['explain', 'p.yaml'], cwd);
    assert.match(refusal(noStage.stderr), /no stage/);
    const tomlFlag = await expectExit(2, ['explain', 'p.yaml', 'b', '--config-root', '.'], cwd);
    assert.match(refusal(tomlFlag.stderr), /--config-root applies to TOML pipelines only/);
  });
});

test('explain -c takes a TOML pipeline with its --set, as run took it', async () => {
  const repo = operatorRepo({ v1: { 'README.md': 'code\n' } });
  const cwd = project({
    'conf/pipeline.toml':
      'pipeline_id = "batches"\nname = "Batches"\nnodes = ["n"]\noperators = ["show"]\n',
    'conf/nodes/n.toml': 'operator_ids = ["show"]\n',
    'conf/operators/show.toml': [
      `git_repo = "${repo}"`,
      'git_tag = "v1"',
      'start_command = "echo batch=$BATCH"',
      '[extra_env_vars]',
      'BATCH = "1"',
      '',
    ].join('\n'),
  });
  const env = pythonEnv();
  const set = ['--set', 'operators.show.extra_env_vars.BATCH=64'];
  const run = await gpipe(['run', '-c', 'conf/pipeline.toml', ...set], cwd, env);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  const verdict = async (...args: string[]) => {
    const explained = await gpipe(
      ['explain', '-c', 'conf/pipeline.toml', 'show', ...args],
      cwd,
      env,
    );
    assert.equal(explained.code, 0, explained.stderr);
    return explained.stdout.split(':')[0];
  };
  assert.equal(await verdict(...set), 'show would hit the cache');
  assert.equal(await verdict(), 'show would run');
});
