// "A finished stage whose outputs are intact is never run again" (SPEC C2): a command stage's
// outputs are the files it left in its artifacts/. One deleted makes a resume, and the cache,
// run the stage again, where its downstream stage would read nothing.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  countInvocation,
  durableWorkspaces,
  expectExit,
  InvocationWatch,
  runFinished,
} from './fixtures/durable/durable-harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const spaces = durableWorkspaces();

/** The files a stage's artifacts.json lists, with their sizes. */
function listedFiles(stageDir: string): [string, number][] {
  return JSON.parse(readFileSync(join(stageDir, 'artifacts.json'), 'utf8')).files;
}

const pipeline = yamlPipeline('files', [
  '- name: a',
  `  command: [sh, -c, '${countInvocation}; mkdir -p "$OUTPUT_ROOT/sub"; echo data > "$OUTPUT_ROOT/sub/file.txt"']`,
  '- name: b',
  // Fails until the marker exists; reads what a left.
  `  command: [sh, -c, '${countInvocation}; test -f ok && cat "$INPUT_ROOT/a/sub/file.txt"']`,
  '  depends_on: [a]',
]);

test('a resume runs again a command stage whose files are gone, and the cache misses on them', async () => {
  const cwd = spaces.make([], { 'p.yaml': pipeline });
  const invoked = new InvocationWatch(cwd);
  const failed = runFinished((await expectExit(3, ['run', 'p.yaml', '--json'], cwd)).stdout);
  assert.deepEqual(invoked.since(), ['a', 'b']);
  const stageDir = join(cwd, '.gpipe', 'runs', failed.runId, 'a');
  assert.deepEqual(listedFiles(stageDir), [['sub/file.txt', 5]]);

  rmSync(join(stageDir, 'artifacts', 'sub', 'file.txt'));
  writeFileSync(join(cwd, 'ok'), '');
  const plan = await expectExit(0, ['resume', '--dry-run'], cwd);
  assert.match(plan.stdout, /^\s*a\s+run\b/m);
  const resumed = runFinished((await expectExit(0, ['resume', '--json'], cwd)).stdout);
  assert.equal(resumed.status, 'succeeded');
  assert.deepEqual(invoked.since(), ['a', 'b'], 'a made its file again before b read it');

  // The cache: the entry of a whose file was cut short is not reused.
  writeFileSync(join(stageDir, 'artifacts', 'sub', 'file.txt'), 'd');
  const explained = await expectExit(0, ['explain', 'p.yaml', 'a'], cwd);
  assert.match(explained.stdout, /has files that are gone or changed: it runs again/);
  const again = runFinished((await expectExit(0, ['run', 'p.yaml', '--json'], cwd)).stdout);
  assert.equal(again.stages.a, 'succeeded');
  // b's input, a's output, is the same: b hits.
  assert.deepEqual([again.stages.b, invoked.since()], ['cached', ['a']]);
  const untouched = runFinished((await expectExit(0, ['run', 'p.yaml', '--json'], cwd)).stdout);
  assert.deepEqual([untouched.stages.a, untouched.stages.b], ['cached', 'cached']);
});

// A module stage writes its files through context.outputRoot; a command downstream reads them.
const moduleStages = [
  "import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';",
  'export function make(context: { outputRoot: string }) {',
  "  mkdirSync('invocations', { recursive: true });",
  "  appendFileSync('invocations/a', 'x\\n');",
  "  writeFileSync(context.outputRoot + '/corpus.txt', 'words\\n');",
  '  return 1;',
  '}',
  '',
].join('\n');

const readsModuleFiles = (marker: string) =>
  yamlPipeline('module-files', [
    '- name: a',
    '  script: "stages.ts:make"',
    '- name: b',
    `  command: [sh, -c, '${countInvocation}; cat "$INPUT_ROOT/a/corpus.txt"; echo ${marker}']`,
    '  depends_on: [a]',
  ]);

test("a module stage's cache hit brings its files, and misses once they are gone", async () => {
  const cwd = spaces.make([], { 'stages.ts': moduleStages, 'p.yaml': readsModuleFiles('one') });
  const invoked = new InvocationWatch(cwd);
  const first = runFinished((await expectExit(0, ['run', 'p.yaml', '--json'], cwd)).stdout);
  assert.deepEqual(invoked.since(), ['a', 'b']);
  const sourceDir = join(cwd, '.gpipe', 'runs', first.runId, 'a');
  assert.deepEqual(listedFiles(sourceDir), [['corpus.txt', 6]]);

  // b changed: it runs again, a hits, and b reads a's file through the hit's link.
  writeFileSync(join(cwd, 'p.yaml'), readsModuleFiles('two'));
  const second = runFinished((await expectExit(0, ['run', 'p.yaml', '--json'], cwd)).stdout);
  assert.deepEqual(
    [second.stages.a, second.stages.b, invoked.since()],
    ['cached', 'succeeded', ['b']],
  );
  const log = readFileSync(join(cwd, '.gpipe', 'runs', second.runId, 'b', 'stage.log'), 'utf8');
  assert.match(log, /stdout \| words\n.*stdout \| two\n/);

  // a's file gone from the run that made it: a runs again, and so does nothing else (same output).
  rmSync(join(sourceDir, 'artifacts', 'corpus.txt'));
  const third = runFinished((await expectExit(0, ['run', 'p.yaml', '--json'], cwd)).stdout);
  assert.deepEqual(
    [third.stages.a, third.stages.b, invoked.since()],
    ['succeeded', 'cached', ['a']],
  );
});
