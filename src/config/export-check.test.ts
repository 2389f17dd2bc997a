import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type ExportQuery, missingExports } from './export-check.ts';

const dir = mkdtempSync(join(tmpdir(), 'gp-export-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const js = (path: string, exportName: string): ExportQuery => ({
  kind: 'module',
  file: path,
  exportName,
});
const py = (path: string, exportName: string, python?: string): ExportQuery => ({
  kind: 'python',
  file: path,
  exportName,
  ...(python !== undefined && { python }),
});

/** Nothing is reported: the names are there, or the source cannot tell. */
async function assertNoneMissing(queries: ExportQuery[]): Promise<void> {
  assert.deepEqual(
    await missingExports(queries),
    queries.map(() => undefined),
  );
}

describe('missingExports, JavaScript and TypeScript', () => {
  file('helpers.ts', 'export const helper = (x: number) => x + 1;\n');
  const stages = file(
    'stages.ts',
    [
      "export * from './helpers.ts';",
      "export { helper as renamed } from './helpers.ts';",
      'export async function load(): Promise<number[]> { return [1]; }',
      'export class Trainer { run() { return 1; } }',
      'const hidden = 1;',
      'export default hidden;',
    ].join('\n'),
  );

  test('names exported directly, renamed or through a local star are there', async () => {
    const names = ['load', 'Trainer', 'helper', 'renamed', 'default'];
    await assertNoneMissing(names.map((name) => js(stages, name)));
  });

  test('a missing name: the file, the name, and the closest export', async () => {
    const [missing] = await missingExports([js(stages, 'lod')]);
    assert.deepEqual(missing, {
      message: `${stages} exports no 'lod'`,
      hint: "did you mean 'load'?",
    });
  });

  test('with nothing close, the hint lists what the file exports', async () => {
    const [missing] = await missingExports([js(stages, 'somethingElse')]);
    assert.equal(missing?.hint, 'it exports Trainer, helper, load, renamed');
    const [unexported] = await missingExports([js(stages, 'hidden')]);
    assert.equal(unexported?.message, `${stages} exports no 'hidden'`);
  });

  test('what the source cannot tell is left to the run', async () => {
    const star = file('star.ts', "export * from 'node:path';\nexport const mine = 1;\n");
    const common = file('common.cjs', 'module.exports = { fn() {} };\n');
    const broken = file('broken.ts', 'export function (\n');
    await assertNoneMissing([js(star, 'join'), js(common, 'fn'), js(broken, 'anything')]);
  });
});

describe('missingExports, Python', () => {
  const module = file(
    'mod.py',
    [
      'import os.path',
      'from json import dumps as to_json',
      'def score(context):',
      '    return 1',
      'async def fetch(context):',
      '    return 2',
      'class Features:',
      '    def run(self, context):',
      '        return 3',
      'alias = score',
      'try:',
      '    from fast import kernel',
      'except ImportError:',
      '    def kernel(context):',
      '        return 0',
    ].join('\n'),
  );

  test('functions, classes, assignments, imports and names in try blocks are there', async () => {
    const names = ['score', 'fetch', 'Features', 'alias', 'kernel', 'os', 'to_json'];
    await assertNoneMissing(names.map((name) => py(module, name)));
  });

  test('a missing name, with the closest one; several files in one interpreter run', async () => {
    const other = file('other.py', 'def main(context):\n    return 1\n');
    const missing = await missingExports([py(module, 'scor'), py(other, 'man'), py(other, 'main')]);
    assert.deepEqual(missing, [
      { message: `${module} defines no 'scor'`, hint: "did you mean 'score'?" },
      { message: `${other} defines no 'man'`, hint: "did you mean 'main'?" },
      undefined,
    ]);
  });

  test('a star import, a module __getattr__, a syntax error or no interpreter: left to the run', async () => {
    const star = file('star.py', 'from os.path import *\n');
    const lazy = file('lazy.py', 'def __getattr__(name):\n    return name\n');
    const broken = file('broken.py', 'def (:\n');
    await assertNoneMissing([
      py(star, 'join'),
      py(lazy, 'anything'),
      py(broken, 'anything'),
      py(module, 'nothing_here', join(dir, 'no-such-python')),
    ]);
  });
});
