import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type CodeFile, codeText, commandCode, fileHash, moduleCode } from './code-files.ts';

const root = mkdtempSync(join(tmpdir(), 'gp-code-files-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A directory holding `files` (path → text), in a fresh place under the test's root. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 'p-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

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
  });

  test('names the scripts and config files of an argv, and what the scripts import', () => {
    const files = commandCode(
      ['python3', 'train.py', '--config=settings.yaml', 'data.csv', 'notes.txt', 'gone.py'],
      false,
      dir,
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
    assert.deepEqual(labels(commandCode(['./run', '-v'], false, dir)), ['run']);
    assert.deepEqual(labels(commandCode(['sh', '-c', 'true'], false, dir)), []);
  });

  test('a shell string: quoted words count, words with expansions do not', () => {
    const files = commandCode(
      [`cd "$INPUT_ROOT" && python3 'train.py' > "$OUTPUT_ROOT/log.py"; cat *.yaml | ./run`],
      true,
      dir,
    );
    assert.deepEqual(labels(files), ['train.py', 'helpers.py', 'config_tools/__init__.py', 'run']);
    const script = commandCode(['bash', '-c', 'python3 train.py --fast', 'argv0'], false, dir);
    assert.deepEqual(labels(script), ['train.py', 'helpers.py', 'config_tools/__init__.py']);
  });
});

describe('moduleCode', () => {
  test('a TypeScript module and its relative imports, .js specifiers found as .ts', () => {
    const dir = project({
      'stages.ts': [
        "import { a } from './lib/a.js';",
        "import type { T } from './types';",
        "export * from './more/index.ts';",
        "import 'node:fs'; import x from 'some-package';",
        "const later = await import('./lazy.mjs');",
      ].join('\n'),
      'lib/a.ts': "import { stages } from '../stages.ts';\nexport const a = 1;\n",
      'types.ts': 'export type T = number;\n',
      'more/index.ts': "export { b } from './b';\n",
      'more/b.ts': 'export const b = 2;\n',
      'lazy.mjs': 'export default 1;\n',
    });
    const files = moduleCode(join(dir, 'stages.ts'));
    assert.deepEqual(labels(files), [
      'stages.ts',
      'lib/a.ts',
      'types.ts',
      'more/index.ts',
      'more/b.ts',
      'lazy.mjs',
    ]);
  });

  test('a Python module: its package, relative imports and modules under the search path', () => {
    const dir = project({
      'pkg/__init__.py': '',
      'pkg/steps.py': [
        'from . import util',
        'from .models import (',
        '    Model,',
        '    train,',
        ')',
        'import shared.tools, numpy as np',
        'from nspkg.sub import thing',
      ].join('\n'),
      'pkg/util.py': 'import json\n',
      'pkg/models/__init__.py': 'from .train import train\n',
      'pkg/models/train.py': '',
      'shared/__init__.py': '',
      'shared/tools.py': '',
      'nspkg/sub.py': '',
    });
    const files = moduleCode(join(dir, 'pkg', 'steps.py'), [dir]);
    assert.deepEqual(labels(files), [
      'steps.py',
      '__init__.py',
      'util.py',
      'models/__init__.py',
      'models/train.py',
      '../shared/__init__.py',
      '../shared/tools.py',
      '../nspkg/sub.py',
    ]);
  });

  test('an edit changes the hash of the file edited, and only its', () => {
    const dir = project({ 'main.ts': "import './dep.ts';\n", 'dep.ts': 'export const v = 1;\n' });
    const before = moduleCode(join(dir, 'main.ts'));
    writeFileSync(join(dir, 'dep.ts'), 'export const v = 2;\n');
    const after = moduleCode(join(dir, 'main.ts'));
    assert.equal(after[0]!.hash, before[0]!.hash);
    assert.notEqual(after[1]!.hash, before[1]!.hash);
  });

  test('a file rewritten with the same size and mtime is read again while its mtime is recent', () => {
    const dir = project({ 'same.ts': 'export const v = 1;\n' });
    const file = join(dir, 'same.ts');
    const first = fileHash(file);
    const mtime = new Date();
    utimesSync(file, mtime, mtime);
    writeFileSync(file, 'export const v = 2;\n');
    utimesSync(file, mtime, mtime);
    assert.notEqual(fileHash(file), first);
    rmSync(file);
    assert.equal(fileHash(file), 'unreadable (ENOENT)');
  });
});

describe('codeText', () => {
  test('files as `label hash` entries; past 1,000 characters the rest by number and hash', () => {
    const file = (i: number): CodeFile => ({ label: `f${i}.py`, hash: `sha256:${'0'.repeat(16)}` });
    assert.equal(codeText([file(1), file(2)]), `f1.py ${file(1).hash}, f2.py ${file(2).hash}`);
    const many = Array.from({ length: 100 }, (_, i) => file(i));
    const text = codeText(many);
    assert.ok(text.length < 1100, `${text.length}`);
    assert.match(text, /, \d+ more files sha256:[0-9a-f]{16}$/);
    const changed = [...many.slice(0, 99), { ...file(99), hash: `sha256:${'1'.repeat(16)}` }];
    assert.notEqual(codeText(changed), text, 'a change past the cut still changes the text');
  });
});
