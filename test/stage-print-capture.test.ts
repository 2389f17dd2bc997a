// What TypeScript stages print with console.log / console.error lands in their stage.log as
// stamped lines, wherever they run (inline on the orchestrator's loop, a thread, a process),
// and never on gpipe's own stdout: `gpipe run --json` stays one JSON event per line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLogLine } from '../src/logs/stage-log-line.ts';
import { gpipe, jsonEvents, workspaces } from './fixtures/cli/harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const dir = workspaces();

const stages = `
export async function talk(context: { log: { warn(m: string): void }; moduleName: string }) {
  console.log('out one', context.moduleName);
  await new Promise((resolve) => setTimeout(resolve, 20));
  console.error('err two');
  context.log.warn('ctx three');
  process.stdout.write('part');
  process.stdout.write('ial four\\n');
  return 1;
}
`;

test('console output of inline, thread and process stages goes to stage.log, stamped; --json stays clean', async () => {
  const cwd = dir({
    'stages.ts': stages,
    'p.yaml': yamlPipeline('prints', [
      '- { name: inline_a, script: "stages.ts:talk" }',
      '- { name: inline_b, script: "stages.ts:talk" }',
      '- { name: thread, script: "stages.ts:talk", worker: thread }',
      '- { name: process, script: "stages.ts:talk", worker: process }',
    ]),
  });
  const run = await gpipe(['run', 'p.yaml', '--json'], cwd);
  assert.equal(run.code, 0, run.stderr);
  const events = jsonEvents(run.stdout);
  assert.equal(events.length, run.stdout.trimEnd().split('\n').length, 'every line is an event');
  assert.doesNotMatch(run.stdout + run.stderr, /out one|err two|partial four/);
  const runId = String(events[0]!.runId);
  for (const stage of ['inline_a', 'inline_b', 'thread', 'process']) {
    const log = readFileSync(join(cwd, '.gpipe', 'runs', runId, stage, 'stage.log'), 'utf8');
    const lines = log.trimEnd().split('\n').map(parseLogLine);
    assert.deepEqual(
      lines.map((line) => [line.stream, line.text]),
      [
        ['stdout', `out one ${stage}`],
        ['stderr', 'err two'],
        ['stderr', 'WARN ctx three'],
        ['stdout', 'partial four'],
      ],
      `${stage}: ${log}`,
    );
    assert.ok(
      lines.every((line) => !Number.isNaN(line.time)),
      stage,
    );
  }
  const stderr = await gpipe(['logs', runId, 'thread', '--stderr'], cwd);
  assert.match(stderr.stdout, /stderr \| err two\n.*stderr \| WARN ctx three\n$/);
});
