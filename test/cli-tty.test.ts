// The live view of `gpipe run` on a terminal, through a pseudo-terminal made by util-linux `script`.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { stripAnsi } from '../src/cli/format-text.ts';
import { CliProcess, gpipeBin, workspaces } from './fixtures/cli/harness.ts';

const workspace = workspaces();

/** `gpipe run gate.yaml` on a pseudo-terminal; `script -e` exits with the command's code. */
function runOnTerminal(env: Record<string, string>): { cli: CliProcess; cwd: string } {
  const cwd = workspace({}, ['gate.yaml']);
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(gpipeBin)} run gate.yaml`;
  const cli = new CliProcess('script', ['-qfec', command, '/dev/null'], { cwd, env });
  return { cli, cwd };
}

const runningGate = /^ {2}▸ gate +\d+\.\ds$/m;
const esc = String.fromCharCode(27);
/** Moving up to a frame's first line and clearing what is below: a redraw in place. */
const redraw = new RegExp(`${esc}\\[\\d+F${esc}\\[J`);
const colourCode = new RegExp(`${esc}\\[\\d+m`);

describe('live view on a terminal', () => {
  test('redraws a frame in place with counts and running stages, then prints the summary', async () => {
    const { cli, cwd } = runOnTerminal({ TERM: 'xterm' });
    // The gate stage runs until the file appears: the frame must show it running meanwhile.
    await cli.waitFor('a frame with gate running', ({ stdout }) =>
      runningGate.test(stripAnsi(stdout).replaceAll('\r', '')),
    );
    await cli.waitFor('a redraw', ({ stdout }) => redraw.test(stdout));
    writeFileSync(join(cwd, 'go'), '');
    const { code, stdout } = await cli.finished;
    assert.equal(code, 3);

    assert.ok(stdout.startsWith('\x1b[?25l'), 'the cursor is hidden while the frame is live');
    assert.ok(stdout.includes('\x1b[?25h'), 'and shown again');
    assert.ok(stdout.includes('\x1b[31m'), 'colours');
    const text = stripAnsi(stdout).replaceAll('\r', '');
    assert.match(text, /^. gate \d+\.\ds {2}0\/2 done · 1 running · 0 failed · 1 pending$/m);
    // A failure is printed above the frame as it happens, and stays.
    assert.match(
      text,
      /^\d\d:\d\d:\d\d ✗ check failed \(exit 7, \d+\.\ds\): command exited with code 7.* … disk full$/m,
    );
    assert.match(text, /^✗ run \S+ failed after \d+\.\ds: 1 succeeded, 1 failed$/m);
    assert.match(text, /^ {2}✗ check \(exit 7\): command exited with code 7/m);
    assert.match(text, /^logs: \.gpipe\/runs\/\S+\/\{stage\}\/stage\.log$/m);
    // The summary comes after the last frame was erased: nothing is drawn after it.
    const summaryAt = stdout.lastIndexOf('run ');
    assert.ok(stdout.lastIndexOf('\x1b[J') < summaryAt);
  });

  test('NO_COLOR keeps the live view but drops the colours', async () => {
    const { cli, cwd } = runOnTerminal({ TERM: 'xterm', NO_COLOR: '1' });
    await cli.waitFor('a frame with gate running', ({ stdout }) =>
      runningGate.test(stdout.replaceAll('\r', '')),
    );
    writeFileSync(join(cwd, 'go'), '');
    const { code, stdout } = await cli.finished;
    assert.equal(code, 3);
    assert.ok(stdout.includes('\x1b[?25l'));
    assert.doesNotMatch(stdout, colourCode, 'no colour codes');
  });
});
