// A run of a selection (`--stage`, `--from`) resumed: it goes on with the stages it was asked
// for, and the ones it left out stay out.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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

test('resume of a --stage run runs that stage alone, not the stages it left out', async () => {
  const cwd = spaces.make([], {
    'p.yaml': yamlPipeline('chosen', [
      '- name: a',
      `  command: [sh, -c, '${countInvocation}']`,
      '- name: b',
      // Fails until the marker exists.
      `  command: [sh, -c, '${countInvocation}; test -f ok']`,
      '  depends_on: [a]',
      '- name: c',
      `  command: [sh, -c, '${countInvocation}']`,
      '  depends_on: [b]',
    ]),
  });
  const invoked = new InvocationWatch(cwd);
  await expectExit(3, ['run', 'p.yaml'], cwd);
  assert.deepEqual(invoked.since(), ['a', 'b']);
  const chosen = runFinished(
    (await expectExit(3, ['run', 'p.yaml', '--stage', 'b', '--json'], cwd)).stdout,
  );
  assert.deepEqual(invoked.since(), ['b']);
  writeFileSync(join(cwd, 'ok'), '');
  const plan = await expectExit(0, ['resume', '--dry-run'], cwd);
  assert.match(plan.stdout, /^\s*c\s+skip\b/m);
  const resumed = runFinished(
    (await expectExit(0, ['resume', chosen.runId, '--json'], cwd)).stdout,
  );
  assert.equal(resumed.runId, chosen.runId);
  assert.deepEqual(invoked.since(), ['b'], 'c was left out of the run, and stays out');
  assert.equal(resumed.stages.c, 'skipped');
});
