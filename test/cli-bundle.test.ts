// The CLI bundle (scripts/build-cli.js): bin/gpipe.js runs it only while it matches the files
// it was built from, and it does what the sources do — the example (TypeScript modules, a
// Python command, a shell command) end to end, and the inspection commands after it.
import assert from 'node:assert/strict';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { freshBundle } from '../bin/fresh-bundle.js';
import { gpipe, jsonEvents, removeWorkspace, repoRoot } from './fixtures/cli/harness.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) removeWorkspace(dir);
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gpipe-bundle-'));
  dirs.push(dir);
  return dir;
}

describe('the bundle is used only while it is fresh', () => {
  test('fresh while every input is as listed; stale once one changes or goes', () => {
    const root = tempDir();
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    mkdirSync(join(root, 'src'));
    const input = join(root, 'src', 'a.ts');
    writeFileSync(input, 'export const a = 1;\n');
    utimesSync(input, 1_700_000_000, 1_700_000_000);
    const list = (files: unknown[]) =>
      writeFileSync(join(root, 'dist', 'cli', 'inputs.json'), JSON.stringify({ files }));
    const url = pathToFileURL(`${root}/`);
    assert.equal(freshBundle(url), false, 'no inputs.json: no bundle');
    list([['src/a.ts', 1_700_000_000_000, 20]]);
    assert.equal(freshBundle(url), true);
    utimesSync(input, 1_700_000_001, 1_700_000_001);
    assert.equal(freshBundle(url), false, 'touched');
    list([['src/a.ts', 1_700_000_001_000, 21]]);
    assert.equal(freshBundle(url), false, 'another size');
    list([['src/gone.ts', 1_700_000_001_000, 20]]);
    assert.equal(freshBundle(url), false, 'an input is gone');
  });

  test('npm test builds it before the tests: the CLI tests run what a user runs', () => {
    assert.ok(
      freshBundle(pathToFileURL(repoRoot)),
      'dist/cli is missing or stale: run `node scripts/build-cli.js` (npm test does)',
    );
  });

  test('the worker threads have their own bundles, listing only their own inputs', () => {
    for (const name of ['writer-worker', 'run-files-entry']) {
      const inputs = `dist/workers/${name}.inputs.json`;
      assert.ok(freshBundle(pathToFileURL(repoRoot), inputs), `${inputs} is missing or stale`);
      const listed = JSON.parse(readFileSync(join(repoRoot, inputs), 'utf8')) as {
        files: [string, number, number][];
      };
      assert.ok(listed.files.length > 0);
      assert.ok(!listed.files.some(([path]) => path.startsWith('src/cli/')), 'no CLI code');
    }
  });
});

describe('the bundle and the sources run the example alike', () => {
  for (const from of ['bundle', 'sources'] as const) {
    test(`from the ${from}`, async () => {
      const cwd = tempDir();
      cpSync(join(repoRoot, 'examples', 'word-stats'), cwd, { recursive: true });
      writeFileSync(join(cwd, '.project_root'), '');
      const env: Record<string, string> = from === 'sources' ? { GP_FROM_SOURCE: '1' } : {};
      const run = await gpipe(['run', 'pipeline.yaml', '--json'], cwd, env);
      assert.equal(run.code, 0, run.stderr);
      const finished = jsonEvents(run.stdout).at(-1)!;
      assert.equal(finished.event, 'run_finished');
      assert.equal(finished.status, 'succeeded');
      const status = await gpipe(['status', '--json'], cwd, env);
      assert.equal(status.code, 0, status.stderr);
      const stages = (JSON.parse(status.stdout) as { stages: { status: string }[] }).stages;
      assert.deepEqual(
        stages.map((stage) => stage.status),
        stages.map(() => 'succeeded'),
      );
      assert.equal(stages.length, 5);
      rmSync(join(cwd, '.gpipe'), { recursive: true, force: true });
    });
  }
});
