/**
 * Environments (SPEC D2) of TOML operators through the real CLI: a venv made with python3 and
 * pip from the machine's wheelhouse and shared by two operators, an npm environment with a
 * local `file:` package, and uv's exit-5 error where uv is missing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpipe, ok } from './fixtures/cli/harness.ts';
import {
  git,
  operatorRepo,
  project,
  pythonEnv,
  seedProject,
  tempDir,
} from './fixtures/toml/toml-project.ts';

const env = pythonEnv();

/** What each operator's python says of itself: sys.prefix and where six comes from. */
const showPy = `import json, os, sys, six
with open(os.path.join(os.environ["OUTPUT_ROOT"], "seen.json"), "w") as f:
    json.dump({"prefix": sys.prefix, "six": six.__file__, "venv": os.environ.get("VIRTUAL_ENV")}, f)
`;

/** Two operators a and b, each in its own repo, both naming the env "shared". */
function twoOperatorProject(requirements: string): { dir: string; repos: string[] } {
  const repos = ['a', 'b'].map(() =>
    operatorRepo({ v1: { 'requirements.txt': requirements, 'show.py': showPy } }),
  );
  const operator = (repo: string) =>
    [
      `git_repo = "${repo}"`,
      'git_tag = "v1"',
      'start_command = "python show.py"',
      '[env_config]',
      'env_name = "shared"',
      'requirements_path = "requirements.txt"',
      '',
    ].join('\n');
  const dir = project({
    'conf/pipeline.toml':
      'pipeline_id = "envs"\nname = "Envs"\nnodes = ["n"]\noperators = ["a", "b"]\n',
    'conf/nodes/n.toml': 'operator_ids = ["a", "b"]\n',
    'conf/operators/a.toml': operator(repos[0]!),
    'conf/operators/b.toml': operator(repos[1]!),
  });
  return { dir, repos };
}

function seenBy(dir: string, operator: string): { prefix: string; six: string; venv: string } {
  const runs = join(dir, 'pipeline_workspace', 'runs');
  const [latest] = readdirSync(runs).sort().reverse();
  return JSON.parse(readFileSync(join(runs, latest!, operator, 'artifacts', 'seen.json'), 'utf8'));
}

const marker = (dir: string, name: string) =>
  JSON.parse(readFileSync(join(dir, 'envs', name, '.gpipe-env.json'), 'utf8')) as {
    hash: string;
    createdAt: string;
  };

test('a venv made once, shared by two operators; a changed spec: a conflict, then a new env', async () => {
  const { dir, repos } = twoOperatorProject('six\n');
  const shared = join(dir, 'envs', 'shared');

  const first = ok(await gpipe(['init', 'conf/pipeline.toml'], dir, env));
  assert.equal(first.stdout.match(/^environment 'shared': created/gm)?.length, 1, first.stdout);
  assert.match(
    first.stdout,
    /^environment 'shared': created envs\/shared \(venv, for operators a, b\)$/m,
  );
  const made = marker(dir, 'shared');
  assert.match(readFileSync(join(shared, '.gpipe-env.log'), 'utf8'), /Successfully installed six/);

  const again = ok(await gpipe(['init', 'conf/pipeline.toml'], dir, env));
  assert.match(
    again.stdout,
    /^environment 'shared': envs\/shared is made already \(for operators a, b\)$/m,
  );
  assert.doesNotMatch(again.stdout, /created|rebuilt|making/);
  assert.deepStrictEqual(marker(dir, 'shared'), made, 'the second init made nothing');

  ok(await gpipe(['run', 'conf/pipeline.toml', '--skip-init'], dir, env));
  for (const operator of ['a', 'b']) {
    const seen = seenBy(dir, operator);
    assert.equal(seen.prefix, shared, `${operator} runs the venv's python`);
    assert.equal(seen.venv, shared);
    assert.ok(
      seen.six.startsWith(`${shared}/`),
      `${operator} imports six from the venv: ${seen.six}`,
    );
  }

  // a's requirements change: one name, two specs.
  for (const [index, repo] of repos.entries()) {
    writeFileSync(join(repo, 'requirements.txt'), 'six\npackaging\n');
    git(repo, 'commit', '--quiet', '-am', 'packaging');
    git(repo, 'tag', 'v2');
    if (index === 1) break;
    const file = join(dir, 'conf', 'operators', 'a.toml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('git_tag = "v1"', 'git_tag = "v2"'));
    const conflict = await gpipe(['init', 'conf/pipeline.toml'], dir, env);
    assert.equal(conflict.code, 5, conflict.stderr);
    assert.equal(
      conflict.stderr,
      "gpipe: environment 'shared' has two different specs: operator 'a' makes it from operators/a/requirements.txt (venv), operator 'b' from operators/b/requirements.txt (venv); give one of them another env_name\n",
    );
    assert.deepStrictEqual(marker(dir, 'shared'), made, 'the conflict touched nothing');
  }
  // Both at v2: the same spec again, a changed one: made anew.
  const file = join(dir, 'conf', 'operators', 'b.toml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('git_tag = "v1"', 'git_tag = "v2"'));

  const rebuilt = ok(await gpipe(['init', 'conf/pipeline.toml'], dir, env));
  assert.match(
    rebuilt.stdout,
    /^environment 'shared': rebuilt envs\/shared \(venv, for operators a, b\)$/m,
  );
  assert.notEqual(marker(dir, 'shared').hash, made.hash);
  const packaging = execFileSync(
    join(shared, 'bin', 'python'),
    ['-c', 'import packaging; print(packaging.__file__)'],
    { encoding: 'utf8' },
  );
  assert.ok(packaging.startsWith(`${shared}/`), packaging);

  // Gone: run --skip-init never makes it, and says which command does.
  rmSync(shared, { recursive: true });
  const missing = await gpipe(['run', 'conf/pipeline.toml', '--skip-init'], dir, env);
  assert.equal(missing.code, 5);
  assert.equal(
    missing.stderr,
    "gpipe: environment 'shared' is not made (no envs/shared): run 'gpipe init conf/pipeline.toml' first (or run without --skip-init)\n",
  );
  assert.ok(!existsSync(shared), 'run --skip-init made nothing');
});

test('uv missing: init fails with exit 5 naming it; with uv, its commands make the env', async () => {
  const { dir } = seedProject();
  const noUv = { PATH: (env.PATH ?? '').split(':').slice(1).join(':') };
  const failed = await gpipe(['init', 'conf/pipeline.toml'], dir, noUv);
  assert.equal(failed.code, 5, failed.stderr);
  assert.equal(
    failed.stderr,
    "gpipe: environment 'cleaner_env' (uv) needs uv, which is not installed (not found on PATH)\n",
  );
  assert.ok(!existsSync(join(dir, 'envs', 'cleaner_env')), 'nothing was made');

  const calls = join(tempDir(), 'uv.log');
  ok(await gpipe(['init', 'conf/pipeline.toml'], dir, { ...env, FAKE_UV_LOG: calls }));
  const envDir = join(dir, 'envs', 'cleaner_env');
  assert.deepStrictEqual(readFileSync(calls, 'utf8').trimEnd().split('\n'), [
    `uv venv ${envDir}`,
    `uv pip install --python ${envDir}/bin/python -r ${join(dir, 'operators', 'cleaner', 'pyproject.toml')}`,
  ]);
});

test('npm: a local file: package installed into the env; the operator requires it and runs its bin', async () => {
  const repo = operatorRepo({
    v1: {
      'package.json': JSON.stringify({
        name: 'op',
        version: '1.0.0',
        private: true,
        dependencies: { tiny: 'file:./vendor/tiny' },
      }),
      'vendor/tiny/package.json': JSON.stringify({
        name: 'tiny',
        version: '1.0.0',
        main: 'index.js',
        bin: { 'tiny-hello': 'hello.js' },
      }),
      'vendor/tiny/index.js': "module.exports = 'hi from tiny';\n",
      'vendor/tiny/hello.js': "#!/usr/bin/env node\nconsole.log('hello from the bin');\n",
    },
  });
  const dir = project({
    'conf/pipeline.toml': 'pipeline_id = "js"\nname = "JS"\nnodes = ["n"]\noperators = ["op"]\n',
    'conf/nodes/n.toml': 'operator_ids = ["op"]\n',
    'conf/operators/op.toml': [
      `git_repo = "${repo}"`,
      'git_tag = "v1"',
      `start_command = "node -e \\"console.log(require('tiny'))\\" > \\"$OUTPUT_ROOT/out.txt\\" && tiny-hello >> \\"$OUTPUT_ROOT/out.txt\\""`,
      '[env_config]',
      'env_name = "js"',
      'package_json_path = "package.json"',
      '',
    ].join('\n'),
  });
  const run = ok(await gpipe(['run', 'conf/pipeline.toml'], dir, env));
  assert.match(run.stdout, /^environment 'js': created envs\/js \(npm, for operator op\)$/m);
  assert.ok(existsSync(join(dir, 'envs', 'js', 'node_modules', 'tiny', 'index.js')));
  assert.ok(!existsSync(join(dir, 'operators', 'op', 'node_modules')), 'the checkout stays clean');
  const runs = join(dir, 'pipeline_workspace', 'runs');
  const [runId] = readdirSync(runs);
  assert.equal(
    readFileSync(join(runs, runId!, 'op', 'artifacts', 'out.txt'), 'utf8'),
    'hi from tiny\nhello from the bin\n',
  );
});
