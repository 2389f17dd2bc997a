/**
 * Environments (SPEC D2) of YAML modules through the real CLI: a venv, a conda-pack style
 * archive unpacked with tar and zstd, pixi's commands, a failed build's log, two inits at
 * once, and config mistakes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpipe, ok } from './fixtures/cli/harness.ts';
import { project, pythonEnv, tempDir, writeFiles } from './fixtures/toml/toml-project.ts';

const env = pythonEnv();

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
    /environment 'pyenv' is not made \(no envs\/pyenv\): run 'gpipe init pipeline\.yaml' first/,
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
    "gpipe: environment 'pyenv' in envs/pyenv was made from another spec than requirements.txt is now: run 'gpipe init pipeline.yaml' (or run without --skip-init)\n",
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
      '    - name: e',
      '      script: ./c.py:run',
      '      environment: {env_name: js, package_json_path: package.json}',
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
    "pipeline.yaml:20:35: module 'e': an npm environment has no python to run a Python module (hint: give it requirements_path (venv), pyproject_path (uv), pixi_toml_path or s3_compress_path)",
    'gpipe: 6 problems in pipeline.yaml',
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
