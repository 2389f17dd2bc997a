/**
 * Environments (SPEC D2) through the real CLI: venvs made with python3 and pip from the
 * machine's wheelhouse, an npm environment with a local `file:` package, a real conda-pack
 * style archive unpacked with tar and zstd, and uv's exit-5 error where uv is missing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Finished, gpipe } from './fixtures/cli/harness.ts';
import {
  git,
  operatorRepo,
  project,
  pythonEnv,
  seedProject,
  tempDir,
  writeFiles,
} from './fixtures/toml/toml-project.ts';

const env = pythonEnv();

function ok(result: Finished): Finished {
  assert.equal(result.code, 0, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

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
    "gpipe: environment 'shared' is not made (no envs/shared): run 'init conf/pipeline.toml' first (or run without --skip-init)\n",
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

test('a YAML Python module in a venv; a command module in an unpacked conda archive; a URI is refused', async () => {
  const dir = project();
  // A packed environment as conda-pack makes one: bin/ and a conda-unpack fix-up script.
  const packed = tempDir();
  writeFiles(packed, {
    'bin/conda-unpack': '#!/bin/sh\necho fixed > "$(dirname "$0")/../unpacked"\n',
    'bin/greet': '#!/bin/sh\necho "greetings from $CONDA_PREFIX"\n',
  });
  execFileSync('chmod', ['+x', join(packed, 'bin', 'conda-unpack'), join(packed, 'bin', 'greet')]);
  execFileSync('tar', [
    '--use-compress-program',
    'zstd',
    '-c',
    '-f',
    join(dir, 'env.tar.zst'),
    '-C',
    packed,
    '.',
  ]);
  const out = join(dir, 'out');
  writeFiles(dir, {
    'requirements.txt': 'six\n',
    'show.py': `import sys, six\ndef run(context):\n    open(${JSON.stringify(join(dir, 'py.txt'))}, "w").write(sys.prefix + " " + six.__file__)\n`,
    'pipeline.yaml': [
      'pipeline:',
      '  name: mixed',
      '  modules:',
      '    - name: py',
      '      script: ./show.py:run',
      '      environment: {env_name: pyenv, requirements_path: requirements.txt}',
      '    - name: packed',
      '      command: "greet > out"',
      '      shell: true',
      `      cwd: .`,
      '      environment: {env_name: packed, s3_compress_path: env.tar.zst}',
      '',
    ].join('\n'),
  });
  const skipped = await gpipe(['run', 'pipeline.yaml', '--skip-init'], dir, env);
  assert.equal(skipped.code, 5, skipped.stderr);
  assert.match(
    skipped.stderr,
    /environment 'pyenv' is not made \(no envs\/pyenv\): run 'init pipeline\.yaml' first/,
  );

  ok(await gpipe(['run', 'pipeline.yaml'], dir, env));
  const pyenv = join(dir, 'envs', 'pyenv');
  const [prefix, six] = readFileSync(join(dir, 'py.txt'), 'utf8').split(' ');
  assert.equal(prefix, pyenv);
  assert.ok(six!.startsWith(`${pyenv}/`), six);
  const condaEnv = join(dir, 'envs', 'packed');
  assert.equal(readFileSync(out, 'utf8'), `greetings from ${condaEnv}\n`);
  assert.equal(readFileSync(join(condaEnv, 'unpacked'), 'utf8'), 'fixed\n', 'conda-unpack ran');

  // The requirements changed since: run --skip-init refuses the stale env rather than use it.
  writeFileSync(join(dir, 'requirements.txt'), 'six\npackaging\n');
  const stale = await gpipe(['run', 'pipeline.yaml', '--skip-init'], dir, env);
  assert.equal(stale.code, 5);
  assert.equal(
    stale.stderr,
    "gpipe: environment 'pyenv' in envs/pyenv was made from another spec than requirements.txt is now: run 'init pipeline.yaml' (or run without --skip-init)\n",
  );

  const file = join(dir, 'pipeline.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('env.tar.zst', 'tos://bucket/env.tar.zst'),
  );
  const uri = await gpipe(['init', 'pipeline.yaml'], dir, env);
  assert.equal(uri.code, 5);
  assert.equal(
    uri.stderr,
    "gpipe: module 'packed': environment 'packed' comes from tos://bucket/env.tar.zst, but object storage is not supported yet: give a local path to the archive\n",
  );
});

test('a build that fails: exit 5 with the end of its log, and no marker, so nothing runs in it', async () => {
  const dir = project({
    'requirements.txt': 'no-such-package-for-gpipe-tests==1.0\n',
    'pipeline.yaml': [
      'pipeline:',
      '  name: broken',
      '  modules:',
      '    - name: a',
      '      command: [python, -c, "print(1)"]',
      '      environment: {env_name: broken, requirements_path: requirements.txt}',
      '',
    ].join('\n'),
  });
  const failed = await gpipe(['init', 'pipeline.yaml'], dir, env);
  assert.equal(failed.code, 5, failed.stderr);
  const log = join(dir, 'envs', 'broken', '.gpipe-env.log');
  const [first, ...tail] = failed.stderr.trimEnd().split('\n');
  assert.equal(
    first,
    `gpipe: environment 'broken' (venv) could not be made: python -m pip install failed (exit 1); the end of ${log}:`,
  );
  assert.ok(tail.length > 0 && tail.length <= 20, failed.stderr);
  assert.match(tail.join('\n'), /no-such-package-for-gpipe-tests/);
  assert.ok(!existsSync(join(dir, 'envs', 'broken', '.gpipe-env.json')), 'no marker');
  const skipped = await gpipe(['run', 'pipeline.yaml', '--skip-init'], dir, env);
  assert.equal(skipped.code, 5);
  assert.match(skipped.stderr, /environment 'broken' is not made/);
});

test('environment mistakes in YAML: exit 1 at their line and column', async () => {
  const dir = project({
    'b.ts': 'export function run() {}\n',
    'c.py': 'def run(context):\n    pass\n',
    'pipeline.yaml': [
      'pipeline:',
      '  name: y',
      '  modules:',
      '    - name: a',
      '      command: [true]',
      '      environment: {env_name: "../x", requirements_path: r.txt}',
      '    - name: b',
      '      script: ./b.ts:run',
      '      environment: {env_name: js, package_json_path: package.json}',
      '    - name: c',
      '      script: ./c.py:run',
      '      python: python3',
      '      environment: {env_name: py, requirements_pth: r.txt}',
      '    - name: d',
      '      script: ./c.py:run',
      '      python: python3',
      '      environment: {env_name: py, requirements_path: r.txt}',
      '',
    ].join('\n'),
  });
  const result = await gpipe(['validate', 'pipeline.yaml'], dir, env);
  assert.equal(result.code, 1);
  assert.deepStrictEqual(result.stderr.trimEnd().split('\n'), [
    'pipeline.yaml:6:31: module \'a\': environment.env_name is not a usable environment name: it contains a path separator, got "../x"',
    "pipeline.yaml:9:7: module 'b': environment applies to Python and command modules, not to JavaScript ones",
    "pipeline.yaml:13:20: module 'c': missing required key 'requirements_path' in environment",
    "pipeline.yaml:13:35: module 'c': unknown key 'requirements_pth' in environment (hint: did you mean 'requirements_path'?)",
    "pipeline.yaml:16:7: module 'd': has both python and environment (hint: drop python: the environment's own python runs the module)",
    'gpipe: 5 problems in pipeline.yaml',
  ]);
});

test('two inits at once make a shared environment once', async () => {
  const dir = project();
  const counter = join(dir, 'builds.txt');
  const packed = tempDir();
  // conda-unpack counts the builds, slowly enough that the two inits overlap.
  writeFiles(packed, {
    'bin/conda-unpack': `#!/bin/sh\necho built >> ${JSON.stringify(counter)}\nsleep 1\n`,
  });
  execFileSync('chmod', ['+x', join(packed, 'bin', 'conda-unpack')]);
  execFileSync('tar', ['-c', '-f', join(dir, 'env.tar'), '-C', packed, '.']);
  writeFiles(dir, {
    'pipeline.yaml': [
      'pipeline:',
      '  name: racing',
      '  modules:',
      '    - name: a',
      '      command: [true]',
      '      environment: {env_name: packed, s3_compress_path: env.tar}',
      '',
    ].join('\n'),
  });
  const [one, two] = await Promise.all([
    gpipe(['init', 'pipeline.yaml'], dir, env),
    gpipe(['init', 'pipeline.yaml'], dir, env),
  ]);
  ok(one);
  ok(two);
  assert.equal(readFileSync(counter, 'utf8'), 'built\n', `${one.stdout}\n${two.stdout}`);
  const said = `${one.stdout}${two.stdout}`;
  assert.equal(said.match(/: created envs\/packed/g)?.length, 1, said);
  assert.ok(!existsSync(join(dir, 'envs', 'packed.lock')), 'the lock is gone');
});

test('pixi: the manifest copied into the env dir, its channels added, installed; a module runs on its python', async () => {
  const dir = project();
  const calls = join(dir, 'pixi-calls.txt');
  // A stand-in for pixi (not installable here): it accepts only gpipe's two commands and makes
  // the default environment pixi would, with a python that runs python3.
  const bin = tempDir();
  writeFiles(bin, {
    pixi: [
      '#!/bin/sh',
      `echo "pixi $*" >> ${JSON.stringify(calls)}`,
      'case "$1 $2 $3" in',
      '  "project channel add") exit 0 ;;',
      '  "install --manifest-path "*) ;;',
      '  *) exit 9 ;;',
      'esac',
      'prefix="$(dirname "$3")/.pixi/envs/default"',
      'mkdir -p "$prefix/bin"',
      // Its python says it was the one started.
      `printf '#!/bin/sh\\nPIXI_PYTHON=yes exec python3 "$@"\\n' > "$prefix/bin/python"`,
      'chmod +x "$prefix/bin/python"',
      '',
    ].join('\n'),
  });
  execFileSync('chmod', ['+x', join(bin, 'pixi')]);
  writeFiles(dir, {
    'pixi.toml': '[project]\nname = "demo"\nchannels = ["conda-forge"]\nplatforms = ["linux-64"]\n',
    'where.py': `import os\ndef run(context):\n    return {"conda_prefix": os.environ["CONDA_PREFIX"], "pixi_python": os.environ.get("PIXI_PYTHON")}\n`,
    'pipeline.yaml': [
      'pipeline:',
      '  name: pixi',
      '  modules:',
      '    - name: where',
      '      script: ./where.py:run',
      '      environment:',
      '        env_name: px',
      '        pixi_toml_path: pixi.toml',
      '        pixi_channels: [bioconda]',
      '        pixi_extra_args: [--frozen]',
      '',
    ].join('\n'),
  });
  const withPixi = { ...env, PATH: `${bin}:${env.PATH}` };
  ok(await gpipe(['init', 'pipeline.yaml'], dir, withPixi));
  const manifest = join(dir, 'envs', 'px', 'pixi.toml');
  assert.deepStrictEqual(readFileSync(calls, 'utf8').trimEnd().split('\n'), [
    `pixi project channel add --manifest-path ${manifest} bioconda`,
    `pixi install --manifest-path ${manifest} --frozen`,
  ]);
  assert.equal(readFileSync(manifest, 'utf8'), readFileSync(join(dir, 'pixi.toml'), 'utf8'));
  ok(await gpipe(['run', 'pipeline.yaml', '--skip-init'], dir, withPixi));
  const runs = join(dir, '.gpipe', 'runs');
  const [runId] = readdirSync(runs);
  const prefix = join(dir, 'envs', 'px', '.pixi', 'envs', 'default');
  assert.deepStrictEqual(
    JSON.parse(readFileSync(join(runs, runId!, 'where', 'result.json'), 'utf8')),
    { conda_prefix: prefix, pixi_python: 'yes' },
  );
});
