// Ctrl-C on `gpipe run`: once stops the run gracefully (exit 130), twice kills at once.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  eventually,
  isAlive,
  jsonEvents,
  readPidFile,
  startGpipe,
  workspaces,
} from './fixtures/cli/harness.ts';

const workspace = workspaces();

function stageStarted(stage: string) {
  return ({ stdout }: { stdout: string }) =>
    stdout
      .split('\n')
      .some(
        (line) => line.includes('"event":"stage_started"') && line.includes(`"stage":"${stage}"`),
      );
}

describe('Ctrl-C', () => {
  test('the first SIGINT cancels the run: running stages end, nothing new starts, exit 130', async () => {
    const cwd = workspace({}, ['long.yaml']);
    const cli = startGpipe(['run', 'long.yaml', '--json'], cwd);
    await cli.waitFor('long started', stageStarted('long'));
    const pid = await readPidFile(join(cwd, 'long.pid'));
    assert.ok(isAlive(pid));

    cli.child.kill('SIGINT');
    const { code, stdout, stderr } = await cli.finished;
    assert.equal(code, 130, stderr);
    assert.match(
      stderr,
      /^gpipe: stopping \(SIGINT\): .*press Ctrl-C again to kill them at once$/m,
    );
    const events = jsonEvents(stdout);
    const last = events.at(-1)!;
    assert.equal(last.event, 'run_finished');
    assert.equal(last.status, 'cancelled');
    assert.deepEqual(last.stages, { long: 'cancelled', after: 'cancelled' });
    assert.ok(
      !events.some((e) => e.event === 'stage_started' && e.stage === 'after'),
      'after never starts',
    );
    // The engine waits for the stage's process to exit before the run ends.
    assert.equal(isAlive(pid), false, 'the long-running stage is gone');
  });

  test('a second SIGINT kills a stage that ignores SIGTERM and exits 130 at once', async () => {
    const cwd = workspace({}, ['stubborn.yaml']);
    const cli = startGpipe(['run', 'stubborn.yaml'], cwd);
    const pid = await readPidFile(join(cwd, 'stubborn.pid'));

    cli.child.kill('SIGINT');
    await cli.waitFor('the stopping notice', ({ stderr }) =>
      stderr.includes('gpipe: stopping (SIGINT)'),
    );
    assert.ok(isAlive(pid), 'SIGTERM alone does not end it');
    cli.child.kill('SIGINT');
    const { code, stdout, stderr } = await cli.finished;
    assert.equal(code, 130);
    assert.match(stderr, /^gpipe: killing running stages$/m);
    assert.ok(!stdout.includes('survived'));
    // SIGKILL went to the stage's whole process group; the orphans are reaped by init.
    await eventually(`stage process ${pid} gone`, () => !isAlive(pid));
  });
});
