import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { describe, test } from 'node:test';
import { workspaces } from '../../test/fixtures/cli/harness.ts';
import type { CodeFile } from './code-files.ts';
import { commandCode } from './command-code.ts';

/** A fresh directory holding `files` (path → text), removed after the tests. */
const project = workspaces();

const labels = (files: CodeFile[]) => files.map((file) => file.label);

describe('commandCode', () => {
  const dir = project({
    'train.py': 'from helpers import load\nimport os; import config_tools as ct  # a comment\n',
    'helpers.py': 'import os\nfrom .missing import nothing\n',
    'config_tools/__init__.py': '',
    'settings.yaml': 'lr: 0.1\n',
    'data.csv': 'a,b\n',
    run: '#!/bin/sh\n',
    'notes.txt': 'not code\n',
    'scripts/plain.py': 'import sibling\n',
    'scripts/sibling.py': '',
    'scripts/tool': 'echo tool\n',
    'scripts/main.sh': '. scripts/lib.sh\nsource "scripts/more.sh"\necho "$V"\n',
    'scripts/lib.sh': 'V=1\n',
    'scripts/more.sh': 'W=1\n',
    'pkg/__init__.py': '',
    'pkg/train.py': 'from src.models import net\n',
    'src/__init__.py': '',
    'src/models/__init__.py': '',
    'src/models/net.py': '',
  });
  const code = (argv: string[], env?: Record<string, string>) =>
    labels(commandCode(argv, false, dir, env));

  test('names the scripts and config files of an argv, and what the scripts import', () => {
    const files = commandCode(
      ['python3', 'train.py', '--config=settings.yaml', 'data.csv', 'notes.txt', 'gone.py'],
      false,
      dir,
      undefined,
    );
    assert.deepEqual(labels(files), [
      'train.py',
      'helpers.py',
      'config_tools/__init__.py',
      'settings.yaml',
    ]);
    for (const file of files) assert.match(file.hash, /^sha256:[0-9a-f]{16}$/);
  });

  test('a program given by a relative path is code whatever its name; one on PATH is not', () => {
    assert.deepEqual(code(['./run', '-v']), ['run']);
    assert.deepEqual(code(['sh', '-c', 'true']), []);
  });

  test("an interpreter's script, whatever its extension, and what it sources or imports", () => {
    assert.deepEqual(code(['bash', 'scripts/tool']), ['scripts/tool']);
    assert.deepEqual(code(['sh', 'scripts/main.sh']), [
      'scripts/main.sh',
      'scripts/lib.sh',
      'scripts/more.sh',
    ]);
    assert.deepEqual(code(['python3', '-u', 'scripts/plain.py']), [
      'scripts/plain.py',
      'scripts/sibling.py',
    ]);
  });

  test('python3 -m: the module and its packages, found from where it runs and on PYTHONPATH', () => {
    assert.deepEqual(code(['python3', '-m', 'pkg.train']), [
      'pkg/__init__.py',
      'pkg/train.py',
      'src/__init__.py',
      'src/models/__init__.py',
      'src/models/net.py',
    ]);
    const elsewhere = project({ 'job.py': 'import helpers\n' });
    assert.deepEqual(
      labels(commandCode(['python3', 'job.py'], false, elsewhere, { PYTHONPATH: dir })),
      ['job.py', `${relative(elsewhere, dir)}/helpers.py`],
    );
  });

  test('through wrappers and shells: env, timeout, bash -lc, bash -e -c, cd dir &&', () => {
    assert.deepEqual(
      code(['env', 'A=1', '-u', 'B', 'timeout', '-s', 'KILL', '60', 'python3', 'train.py']),
      ['train.py', 'helpers.py', 'config_tools/__init__.py'],
    );
    assert.deepEqual(code(['/usr/bin/env', 'bash', '-lc', 'python3 scripts/plain.py']), [
      'scripts/plain.py',
      'scripts/sibling.py',
    ]);
    assert.deepEqual(code(['bash', '-e', '-c', 'cd scripts && python3 plain.py', 'argv0']), [
      'scripts/plain.py',
      'scripts/sibling.py',
    ]);
  });

  test('a shell string: quoted words count; expansions and redirection targets do not', () => {
    const files = commandCode(
      [
        `cd "$INPUT_ROOT" ; python3 'train.py' > "out.py" 2>&1 | tee log.yaml; cat *.yaml | ./run < settings.yaml`,
      ],
      true,
      dir,
      undefined,
    );
    assert.deepEqual(labels(files), ['train.py', 'helpers.py', 'config_tools/__init__.py', 'run']);
  });
});
