/**
 * A TOML node's runner_count through the real `gpipe run`: operators append start and end
 * lines to one file, which shows how many ran at the same time.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpipe } from './fixtures/cli/harness.ts';
import { project } from './fixtures/toml/toml-project.ts';

/** The most operators of `ids` running at once, by the order of the log's lines. */
function mostAtOnce(lines: readonly string[], ids: readonly string[]): number {
  let running = 0;
  let most = 0;
  for (const line of lines) {
    const [what, id] = line.split(' ');
    if (!ids.includes(id!)) continue;
    running += what === 'start' ? 1 : -1;
    most = Math.max(most, running);
  }
  return most;
}

test('runner_count bounds how many operators of a node run at once; other nodes run meanwhile', async () => {
  const limited = ['l1', 'l2', 'l3', 'l4', 'l5'];
  const free = ['f1', 'f2', 'f3'];
  const all = [...limited, ...free];
  const files: Record<string, string> = {
    'conf/pipeline.toml': `pipeline_id = "rc"\nname = "Runner count"\nnodes = ["lim", "free"]\noperators = ${JSON.stringify(all)}\n`,
    // A quarter of a CPU each: the CPU slots alone would let all eight run at once.
    'conf/nodes/lim.toml': `operator_ids = ${JSON.stringify(limited)}\nrunner_count = 2\n\n[resource]\ncpu_request = 0.25\n`,
    'conf/nodes/free.toml': `operator_ids = ${JSON.stringify(free)}\n\n[resource]\ncpu_request = 0.25\n`,
  };
  // Operators run in their code directory, <project>/operators/<id>.
  const command =
    'echo "start $OPERATOR_ID" >> ../../overlap.log; sleep 1; echo "end $OPERATOR_ID" >> ../../overlap.log';
  for (const id of all) {
    files[`conf/operators/${id}.toml`] =
      `git_repo = "/nowhere"\ngit_tag = "v1"\nstart_command = ${JSON.stringify(command)}\n`;
  }
  const dir = project(files);
  for (const id of all) mkdirSync(join(dir, 'operators', id), { recursive: true });
  const run = await gpipe(['run', 'conf/pipeline.toml', '--skip-init'], dir, {});
  assert.equal(run.code, 0, run.stderr);
  const lines = readFileSync(join(dir, 'overlap.log'), 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 2 * all.length, lines.join('\n'));
  assert.equal(mostAtOnce(lines, limited), 2, lines.join('\n'));
  // The three of the other node started alongside the first two, not after the limited five.
  assert.equal(mostAtOnce(lines, all), 5, lines.join('\n'));
});
