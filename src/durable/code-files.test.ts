import assert from 'node:assert/strict';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { workspaces } from '../../test/fixtures/cli/harness.ts';
import { type CodeFile, codeText, fileHash, moduleCode } from './code-files.ts';

/** A fresh directory holding `files` (path → text), removed after the tests. */
const project = workspaces();

const labels = (files: CodeFile[]) => files.map((file) => file.label);

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
