/**
 * TOML pipelines through the real CLI, named `pipeline-cli` as the seed's users call it: the
 * seed's example configs as written, with a real git repository standing in for git_repo.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { test } from 'node:test';
import {
  CliProcess,
  type Finished,
  gpipe,
  gpipeBin,
  jsonEvents,
  ok,
} from './fixtures/cli/harness.ts';
import {
  operatorRepo,
  project,
  pythonEnv,
  seedProject,
  tempDir,
} from './fixtures/toml/toml-project.ts';

const env = pythonEnv();

/** `pipeline-cli …args` in `cwd`: bin/gpipe.js through a link of that name. */
function pipelineCli(args: readonly string[], cwd: string): Promise<Finished> {
  const bin = join(tempDir('gpipe-toml-cli-'), 'pipeline-cli');
  symlinkSync(gpipeBin, bin);
  const cli = new CliProcess(process.execPath, [bin, ...args], { cwd, env });
  cli.child.stdin!.end();
  return cli.finished;
}

/** The one run directory under work_dir/runs holding `stage`, newest first. */
function runDirs(workDir: string): string[] {
  return readdirSync(join(workDir, 'runs'))
    .sort()
    .reverse()
    .map((id) => join(workDir, 'runs', id));
}

test('the seed example: validate, init, run --skip-init, --node and -op, as its README has them', async () => {
  const { dir } = seedProject();
  const validated = ok(
    await pipelineCli(['validate', '--conf', 'conf/pipeline.toml', '--config-root', 'conf/'], dir),
  );
  assert.match(
    validated.stdout,
    /pipeline 'data_pipeline_v1' is valid: 1 stage of 1 node in 1 wave/,
  );

  const init = ok(
    await pipelineCli(['init', '--conf', 'conf/pipeline.toml', '--config-root', 'conf/'], dir),
  );
  assert.match(init.stdout, /^cleaner: cloned .* at v2\.0\.0 \(\w+\) into operators\/cleaner$/m);
  assert.equal(readFileSync(join(dir, 'operators', 'cleaner', 'VERSION'), 'utf8'), '2.0.0\n');

  ok(await pipelineCli(['run', '--conf', 'conf/pipeline.toml', '--skip-init'], dir));
  const workDir = join(dir, 'pipeline_workspace');
  const [runDir] = runDirs(workDir);
  const seen = JSON.parse(readFileSync(join(runDir!, 'cleaner', 'artifacts', 'seen.json'), 'utf8'));
  assert.deepStrictEqual(
    { ...seen, INPUT_ROOT: undefined, OUTPUT_ROOT: undefined },
    {
      PIPELINE_ID: 'data_pipeline_v1',
      NODE_ID: 'node_1',
      OPERATOR_ID: 'cleaner',
      INPUT_ROOT: undefined,
      OUTPUT_ROOT: undefined,
      WORKSPACE_ROOT: join(workDir, 'workspace', 'data_pipeline_v1', 'node_1', 'cleaner'),
      BATCH_SIZE: '100',
      cwd: join(dir, 'operators', 'cleaner'),
      version: '2.0.0',
    },
  );
  // Absolute, and under work_dir: the seed leaves them relative to wherever the operator runs.
  for (const root of ['INPUT_ROOT', 'OUTPUT_ROOT', 'WORKSPACE_ROOT']) {
    assert.ok(
      isAbsolute(seen[root]) && seen[root].startsWith(`${workDir}/`),
      `${root}: ${seen[root]}`,
    );
  }
  assert.equal(seen.OUTPUT_ROOT, join(runDir!, 'cleaner', 'artifacts'));
  assert.equal(readFileSync(join(seen.WORKSPACE_ROOT, 'scratch.txt'), 'utf8'), 'used');

  // The README's other two ways to run: one node, one operator (the seed's -op).
  ok(
    await pipelineCli(
      ['run', '--conf', 'conf/pipeline.toml', '--node', 'node_1', '--skip-init', '--no-cache'],
      dir,
    ),
  );
  ok(
    await pipelineCli(
      ['run', '--conf', 'conf/pipeline.toml', '-op', 'cleaner', '--skip-init', '--no-cache'],
      dir,
    ),
  );
  assert.equal(runDirs(workDir).length, 3);
  const runs = ok(await gpipe(['runs', '--json'], dir, env));
  const listed = JSON.parse(runs.stdout) as { pipeline: string; status: string }[];
  assert.deepStrictEqual(
    listed.map((run) => [run.pipeline, run.status]),
    [
      ['data_pipeline_v1', 'succeeded'],
      ['data_pipeline_v1', 'succeeded'],
      ['data_pipeline_v1', 'succeeded'],
    ],
  );
});

/** Three operators in two nodes; the first node lists them against their dependency order. */
function chainProject(repo: string, extraEnv = ''): string {
  const operator = (id: string, deps: string[], command: string, extra = '') =>
    [
      `operator_id = "${id}"`,
      `git_repo = "${repo}"`,
      'git_tag = "v1"',
      `upstream_dependencies = ${JSON.stringify(deps)}`,
      `start_command = ${JSON.stringify(command)}`,
      extra,
    ].join('\n');
  // Each appends its name to the shared trail, then writes its own artifact from its input.
  const step = (id: string, from?: string) =>
    `echo ${id} >> "$TRAIL" && ${from ? `cat "$INPUT_ROOT/${from}/out.txt" > "$OUTPUT_ROOT/out.txt" && ` : ''}echo ${id} >> "$OUTPUT_ROOT/out.txt"`;
  return project({
    'conf/pipeline.toml':
      'pipeline_id = "chain"\nname = "Chain"\nnodes = ["prep", "train"]\noperators = ["load", "clean", "fit"]\n',
    'conf/nodes/prep.toml': 'operator_ids = ["clean", "load"]\n',
    'conf/nodes/train.toml': 'operator_ids = ["fit"]\n',
    'conf/operators/load.toml': operator('load', [], step('load'), extraEnv),
    'conf/operators/clean.toml': operator('clean', ['load'], step('clean', 'load'), extraEnv),
    'conf/operators/fit.toml': operator('fit', ['clean'], step('fit', 'clean'), extraEnv),
  });
}

test('upstream_dependencies order the run; outputs flow through INPUT_ROOT; --node reuses the rest', async () => {
  const repo = operatorRepo({ v1: { 'README.md': 'code\n' } });
  const trail = join(tempDir(), 'trail.txt');
  const dir = chainProject(repo, `[extra_env_vars]\nTRAIL = "${trail}"\n`);
  // Before any run, a node whose inputs never were made cannot run alone.
  const early = await gpipe(['run', 'conf/pipeline.toml', '--node', 'train'], dir, env);
  assert.equal(early.code, 2, early.stderr);
  assert.match(early.stderr, /stage 'clean' is needed but it has never succeeded/);

  ok(await gpipe(['run', 'conf/pipeline.toml'], dir, env));
  assert.equal(
    readFileSync(trail, 'utf8'),
    'load\nclean\nfit\n',
    'dependency order, not list order',
  );
  const [first] = runDirs(join(dir, 'pipeline_workspace'));
  assert.equal(
    readFileSync(join(first!, 'fit', 'artifacts', 'out.txt'), 'utf8'),
    'load\nclean\nfit\n',
  );

  writeFileSync(trail, '');
  const node = ok(
    await gpipe(['run', 'conf/pipeline.toml', '--node', 'train', '--no-cache', '--json'], dir, env),
  );
  assert.equal(readFileSync(trail, 'utf8'), 'fit\n', 'only the node’s operator ran');
  const [second] = runDirs(join(dir, 'pipeline_workspace'));
  assert.equal(
    readFileSync(join(second!, 'fit', 'artifacts', 'out.txt'), 'utf8'),
    'load\nclean\nfit\n',
  );
  // With --json, init's lines go to stderr and stdout holds events only.
  assert.match(node.stderr, /load: .* is at v1 .* already/);
  assert.ok(jsonEvents(node.stdout).length > 0);

  // Run again in full: every operator comes from the cache.
  writeFileSync(trail, '');
  const cached = ok(await gpipe(['run', 'conf/pipeline.toml', '--json'], dir, env));
  const finished = jsonEvents(cached.stdout).filter((event) => event.event === 'stage_finished');
  assert.deepStrictEqual(
    finished.map((event) => event.status),
    ['cached', 'cached', 'cached'],
  );
  assert.equal(readFileSync(trail, 'utf8'), '');
});

test('standard variables win over extra_env_vars; config values never reach the shell as code', async () => {
  const repo = operatorRepo({ v1: { 'README.md': 'code\n' } });
  const dir = project({
    'conf/pipeline.toml':
      'pipeline_id = "env"\nname = "Env"\nnodes = ["n"]\noperators = ["show"]\n',
    'conf/nodes/n.toml': 'operator_ids = ["show"]\n',
    'conf/operators/show.toml': [
      `git_repo = "${repo}"`,
      'git_tag = "v1"',
      'start_command = "env > \\"$OUTPUT_ROOT/env.txt\\""',
      '[extra_env_vars]',
      ...[
        'PIPELINE_ID',
        'NODE_ID',
        'OPERATOR_ID',
        'INPUT_ROOT',
        'OUTPUT_ROOT',
        'WORKSPACE_ROOT',
      ].map((name) => `${name} = "mine"`),
      'EVIL = "$(touch pwned); `touch pwned2`"',
      '',
    ].join('\n'),
  });
  ok(await gpipe(['run', 'conf/pipeline.toml'], dir, env));
  const [runDir] = runDirs(join(dir, 'pipeline_workspace'));
  const seen = Object.fromEntries(
    readFileSync(join(runDir!, 'show', 'artifacts', 'env.txt'), 'utf8')
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  assert.equal(seen.PIPELINE_ID, 'env');
  assert.equal(seen.NODE_ID, 'n');
  assert.equal(seen.OPERATOR_ID, 'show');
  assert.equal(seen.OUTPUT_ROOT, join(runDir!, 'show', 'artifacts'));
  assert.equal(seen.INPUT_ROOT, join(runDir!, 'show', 'inputs'));
  assert.equal(
    seen.WORKSPACE_ROOT,
    join(dir, 'pipeline_workspace', 'workspace', 'env', 'n', 'show'),
  );
  assert.equal(seen.EVIL, '$(touch pwned); `touch pwned2`');
  assert.ok(
    !existsSync(join(dir, 'operators', 'show', 'pwned')) &&
      !existsSync(join(dir, 'operators', 'show', 'pwned2')),
  );
});

test('a failed operator: exit 3; resume with the config root the run used finishes it without rerunning', async () => {
  const repo = operatorRepo({ v1: { 'README.md': 'code\n' } });
  const trail = join(tempDir(), 'trail.txt');
  const gate = join(tempDir(), 'gate');
  const dir = chainProject(repo, `[extra_env_vars]\nTRAIL = "${trail}"\n`);
  // fit fails until the gate file exists; the configs live outside the pipeline file's folder.
  const fit = readFileSync(join(dir, 'conf', 'operators', 'fit.toml'), 'utf8');
  writeFileSync(
    join(dir, 'conf', 'operators', 'fit.toml'),
    fit.replace('start_command = "', `start_command = "test -e ${gate} && `),
  );
  const elsewhere = join(dir, 'main.toml');
  writeFileSync(elsewhere, readFileSync(join(dir, 'conf', 'pipeline.toml')));
  const failed = await pipelineCli(['run', '-c', 'main.toml', '--config-root', 'conf'], dir);
  assert.equal(failed.code, 3, failed.stderr);
  assert.equal(readFileSync(trail, 'utf8'), 'load\nclean\n');
  writeFileSync(gate, '');
  ok(await gpipe(['resume'], dir, env));
  assert.equal(
    readFileSync(trail, 'utf8'),
    'load\nclean\nfit\n',
    'load and clean did not run again',
  );
});

test('an operator past its timeout is ended: exit 4', async () => {
  const repo = operatorRepo({ v1: { 'README.md': 'code\n' } });
  const dir = project({
    'conf/pipeline.toml':
      'pipeline_id = "slow"\nname = "Slow"\nnodes = ["n"]\noperators = ["nap"]\n',
    'conf/nodes/n.toml': 'operator_ids = ["nap"]\n',
    'conf/operators/nap.toml': `git_repo = "${repo}"\ngit_tag = "v1"\nstart_command = "sleep 30"\ntimeout = 0.5\n`,
  });
  const result = await gpipe(['run', 'conf/pipeline.toml'], dir, env);
  assert.equal(result.code, 4, result.stderr);
});

test('validation errors: exit 1, each with its file, line and column, no stack trace', async () => {
  const { dir } = seedProject();
  const operator = join(dir, 'conf', 'operators', 'cleaner_v2.0.toml');
  writeFileSync(
    operator,
    readFileSync(operator, 'utf8').replace('timeout = 1800', 'timeout = "soon"\ntimout = 5'),
  );
  const result = await pipelineCli(['run', '-c', 'conf/pipeline.toml'], dir);
  assert.equal(result.code, 1);
  assert.deepStrictEqual(result.stderr.trimEnd().split('\n'), [
    'conf/operators/cleaner_v2.0.toml:7:11: cleaner.timeout must be a positive number of seconds or a duration like "90s", "5m" or "1h30m", got "soon"',
    "conf/operators/cleaner_v2.0.toml:8:1: unknown key 'timout' in [cleaner] (hint: did you mean 'timeout'?)",
    'pipeline-cli: 2 problems in conf/operators/cleaner_v2.0.toml',
  ]);
  assert.ok(!existsSync(join(dir, 'operators')), 'nothing was cloned');
});

test('gpipe schema prints the JSON Schema of each kind of file; a bad kind is exit 2', async () => {
  const dir = tempDir();
  for (const kind of ['yaml', 'toml-pipeline', 'toml-node', 'toml-operator']) {
    const result = ok(await gpipe(['schema', kind], dir));
    assert.equal(JSON.parse(result.stdout).$schema, 'https://json-schema.org/draft/2020-12/schema');
  }
  const bad = await gpipe(['schema', 'toml'], dir);
  assert.equal(bad.code, 2);
});
