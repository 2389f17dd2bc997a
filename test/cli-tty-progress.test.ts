// The live view's progress bars on a real pseudo-terminal (util-linux `script`), and the plain
// lines and --quiet of the same run on a pipe: judged by content, never by timing.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stripAnsi } from '../src/cli/format-text.ts';
import { CliProcess, gpipe, gpipeBin, workspaces } from './fixtures/cli/harness.ts';

const workspace = workspaces();

/**
 * A fan-out of 24 items, `shard[i]`, each waiting for the file `go`: 26 stages in all, all of
 * them known to the live view from the moment the list is (`stage_mapped`).
 */
function shards(): string {
  const dir = workspace({
    'pipeline.yaml': [
      'pipeline:',
      '  name: shards',
      '  modules:',
      '    - name: list',
      `      command: [sh, -c, 'echo "[${Array.from({ length: 24 }, (_, i) => i).join(',')}]" > "$GP_RESULT_FILE"']`,
      '    - name: shard',
      '      for_each: list',
      '      command: [sh, -c, "while [ ! -e go ]; do sleep 0.02; done"]',
      '',
    ].join('\n'),
  });
  return dir;
}

test('on a terminal: a progress bar for the shard[…] group, running stages by name', async () => {
  const cwd = shards();
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(gpipeBin)} run pipeline.yaml`;
  const cli = new CliProcess('script', ['-qfec', command, '/dev/null'], {
    cwd,
    env: { TERM: 'xterm', NO_COLOR: '1' },
  });
  const text = () => stripAnsi(cli.stdout).replaceAll('\r', '');
  await cli.waitFor(
    'the bars and a running shard',
    () =>
      /^ {2}shard\[…\] \[░{10}\] 0% 0\/24$/m.test(text()) &&
      /^ {2}▸ shard\[\d+\] +\d+\.\ds$/m.test(text()),
  );
  writeFileSync(join(cwd, 'go'), '');
  const { code } = await cli.finished;
  assert.equal(code, 0, text());
  assert.match(
    text(),
    /^. shards \d+\.\ds {2}\d+\/\d+ done · \d+ running · 0 failed · \d+ pending$/m,
  );
  assert.match(text(), /^✓ run \S+ succeeded in \d+\.\ds: 26 succeeded$/m);
});

test('on a pipe: one plain line per transition, no escape codes; --quiet: the summary alone', async () => {
  const cwd = shards();
  writeFileSync(join(cwd, 'go'), '');
  const plain = await gpipe(['run', 'pipeline.yaml', '--no-cache'], cwd);
  assert.equal(plain.code, 0, plain.stderr);
  assert.ok(!plain.stdout.includes('\x1b'), 'no escape codes on a pipe');
  for (let i = 0; i < 24; i++) {
    assert.match(plain.stdout, new RegExp(`^\\d\\d:\\d\\d:\\d\\d ▸ shard\\[${i}\\] started$`, 'm'));
    assert.match(
      plain.stdout,
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d ✓ shard\\[${i}\\] \\(\\d+\\.\\ds\\) · shard\\[…\\] \\d+/24( · .*)?$`,
        'm',
      ),
    );
  }
  const quiet = await gpipe(['run', 'pipeline.yaml', '--no-cache', '--quiet'], cwd);
  assert.equal(quiet.code, 0);
  assert.doesNotMatch(quiet.stdout, /started/);
  assert.match(quiet.stdout, /run \S+ succeeded/);
});
