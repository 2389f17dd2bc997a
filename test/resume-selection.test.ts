// A run of a selection (`--stage`, `--from`) resumed: it goes on with the stages it was asked
// for, and the ones it left out stay out.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  expectExit,
  InvocationWatch,
  runFinished,
  Workspaces,
} from './fixtures/durable/durable-harness.ts';

const spaces = new Workspaces();
after(() => spaces.removeAll());

const count = 'echo x >> "invocations/$OPERATOR_ID"';

test('resume of a --stage run runs that stage alone, not the stages it left out', async () => {
  const cwd = spaces.make([], {
    'p.yaml': [
      'pipeline:',
      '  name: chosen',
      '  modules:',
      '    - name: a',
      `      command: [sh, -c, '${count}']`,
      '    - name: b',
      // Fails until the marker exists.
      `      command: [sh, -c, '${count}; test -f ok']`,
      '      depends_on: [a]',
      '    - name: c',
      `      command: [sh, -c, '${count}']`,
      '      depends_on: [b]',
    ].join('\n'),
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
