import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileHash } from './code-files.ts';
import { exportCode, readExportCode, writeExportCode } from './export-code.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A directory holding `files`, and a writer that rewrites one of them. */
function project(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'gp-export-code-'));
  dirs.push(dir);
  const write = (name: string, text: string) => {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  };
  for (const [name, text] of Object.entries(files)) write(name, text);
  return { dir, write };
}

const stages = (evaluateBody: string, comment = '// helpers') =>
  [
    "import { readFileSync } from 'node:fs';",
    "import { scale } from './lib/scale.ts';",
    comment,
    'const round = (x: number) => Math.round(x);',
    'export function train() { return round(scale(2)); }',
    `export function evaluate() { ${evaluateBody} }`,
    'export class Report { run() { return readFileSync("x"); } }',
  ].join('\n');

describe('exportCode of a TypeScript module: what the export reaches, file by file', () => {
  test("the module's own part first, then the local files it reaches; others' edits change nothing", () => {
    const { dir, write } = project({
      'stages.ts': stages('return 1;'),
      'lib/scale.ts': 'export const scale = (x: number) => x * 2;\nexport const unused = 0;\n',
    });
    const file = join(dir, 'stages.ts');
    const train = exportCode(file, 'train', 'script')!;
    assert.deepEqual(
      train.map((part) => part.label),
      ['stages.ts', 'lib/scale.ts'],
    );
    const evaluate = exportCode(file, 'evaluate', 'script')!;
    assert.deepEqual(
      evaluate.map((part) => part.label),
      ['stages.ts'],
    );
    assert.notEqual(evaluate[0]!.hash, train[0]!.hash);

    write('stages.ts', stages('return 2;', '// helpers, edited'));
    write('lib/scale.ts', 'export const scale = (x: number) => x * 2;\nexport const unused = 1;\n');
    assert.deepEqual(exportCode(file, 'train', 'script'), train, 'a comment, another export');
    assert.notDeepEqual(exportCode(file, 'evaluate', 'script'), evaluate);

    write('lib/scale.ts', 'export const scale = (x: number) => x * 3;\nexport const unused = 1;\n');
    const scaled = exportCode(file, 'train', 'script')!;
    assert.equal(scaled[0]!.hash, train[0]!.hash);
    assert.notEqual(scaled[1]!.hash, train[1]!.hash);
    assert.equal(exportCode(file, 'Report', 'script')?.length, 1, 'packages are not followed');
  });

  test('a module esbuild cannot build gives undefined: whole files stand for it', () => {
    const { dir } = project({ 'broken.ts': 'export function run( { return 1; }\n' });
    assert.equal(exportCode(join(dir, 'broken.ts'), 'run', 'script'), undefined);
  });
});

describe('exportCode of a Python module', () => {
  test("the module's part for the export, labelled by the file", () => {
    const { dir, write } = project({
      'stages.py': 'def a(c):\n    return 1\n\ndef b(c):\n    return 2\n',
    });
    const file = join(dir, 'stages.py');
    const a = exportCode(file, 'a', 'python')!;
    const b = exportCode(file, 'b', 'python')!;
    assert.equal(a[0]!.label, 'stages.py');
    assert.notEqual(a[0]!.hash, b[0]!.hash);
    write('stages.py', 'def a(c):\n    return 1\n\ndef b(c):\n    return 3\n');
    assert.deepEqual(exportCode(file, 'a', 'python'), a);
    assert.notDeepEqual(exportCode(file, 'b', 'python'), b);
  });
});

describe('results kept between processes', () => {
  test('are used while the files they were made from hold the same bytes, and only then', () => {
    const { dir, write } = project({ 'kept.ts': 'export const run = () => 1;\n' });
    const file = join(dir, 'kept.ts');
    const saved = join(dir, '.gpipe', 'export-code.json');
    const marker = [{ label: 'kept.ts', hash: 'sha256:made-by-another-process' }];
    const known = { inputs: [[file, fileHash(file)]], code: marker };
    mkdirSync(join(dir, '.gpipe'));
    writeFileSync(
      saved,
      JSON.stringify({ version: 1, known: { [`script\0${file}\0run`]: known } }),
    );
    readExportCode(saved);
    assert.deepEqual(exportCode(file, 'run', 'script'), marker);

    write('kept.ts', 'export const run = () => 2;\n');
    const made = exportCode(file, 'run', 'script')!;
    assert.notDeepEqual(made, marker);
    writeExportCode(saved);
    const written = JSON.parse(readFileSync(saved, 'utf8'));
    assert.deepEqual(written.known[`script\0${file}\0run`].code, made);
  });

  test('a torn or foreign file is as good as none', () => {
    const { dir } = project({ 'x.ts': 'export const run = () => 1;\n' });
    const saved = join(dir, 'export-code.json');
    const malformed = [
      { inputs: [5], code: [] },
      { inputs: [['a']], code: [] },
      { inputs: [], code: [{ label: 1 }] },
      { inputs: 'x' },
    ];
    const entries = Object.fromEntries(
      malformed.map((entry, i) => [`script\0${join(dir, 'x.ts')}\0e${i}`, entry]),
    );
    for (const text of [
      '{"version":1,"known":',
      '[1,2]',
      '{"version":2,"known":{}}',
      'null',
      JSON.stringify({ version: 1, known: entries }),
    ]) {
      writeFileSync(saved, text);
      assert.doesNotThrow(() => readExportCode(saved));
    }
    assert.equal(exportCode(join(dir, 'x.ts'), 'run', 'script')?.[0]?.label, 'x.ts');
    // The malformed entries were not taken (one would throw, one would give its own parts):
    // each is made anew, from the file.
    for (let i = 0; i < malformed.length; i++)
      assert.equal(exportCode(join(dir, 'x.ts'), `e${i}`, 'script')?.[0]?.label, 'x.ts');
  });
});
