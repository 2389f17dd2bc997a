// A project moved or renamed between a failed run and its resume: the resume writes into the
// run directory where the project now is, never at the absolute path the store kept.
import assert from 'node:assert/strict';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { durableWorkspaces, expectExit, runFinished } from './fixtures/durable/durable-harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const spaces = durableWorkspaces();

test('a resume after the project moved goes on in the run directory where it is now', async () => {
  const parent = spaces.make([], {
    'proj/p.yaml': yamlPipeline('moving', [
      '- name: a',
      '  command: [sh, -c, \'printf "{}" > "$GP_RESULT_FILE"\']',
      '- name: b',
      // Fails until the marker exists.
      `  command: [sh, -c, 'test -f ok && echo done']`,
      '  depends_on: [a]',
    ]),
  });
  const before = join(parent, 'proj');
  const failed = await expectExit(3, ['run', 'p.yaml', '--json'], before);
  const { runId } = runFinished(failed.stdout);
  const moved = join(parent, 'proj2');
  renameSync(before, moved);
  writeFileSync(join(moved, 'ok'), '');
  // The store kept the pipeline file's old path too: it is given again.
  const resumed = await expectExit(0, ['resume', runId, '--file', 'p.yaml', '--json'], moved);
  assert.equal(runFinished(resumed.stdout).status, 'succeeded');
  assert.ok(existsSync(join(moved, '.gpipe', 'runs', runId, 'b', 'stage.log')));
  assert.ok(!existsSync(before), 'nothing made at the old path');
});
