// A fan-out's size from the start (`stage_mapped`): on a pipe, on a real pseudo-terminal (util-
// linux `script`), in `gpipe run --json` and in `gpipe status` of the running run. Items 0–36
// finish at once and the rest wait for the file `go`; on 2 CPUs items start in index order, so
// the run holds at exactly 37 of 100 done. Judged by content, never by timing.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stripAnsi } from '../src/cli/format-text.ts';
import { CliProcess, gpipe, gpipeBin, ok, workspaces } from './fixtures/cli/harness.ts';

const workspace = workspaces();

function hundredItems(): string {
  return workspace({
    'pipeline.yaml': [
      'pipeline:',
      '  name: hundred',
      '  resources: {max_cpus: 2}',
      '  modules:',
      '    - name: list',
      `      command: [sh, -c, '(printf "["; seq -s, 0 99; printf "]") > "$GP_RESULT_FILE"']`,
      '    - name: shard',
      '      for_each: list',
      '      command: [sh, -c, "[ $GP_ITEM_INDEX -lt 37 ] || while [ ! -e go ]; do sleep 0.05; done"]',
      '',
    ].join('\n'),
  });
}

const gpipeCommand = (args: string) =>
  `${JSON.stringify(process.execPath)} ${JSON.stringify(gpipeBin)} ${args}`;

type JsonEvent = { event: string; stage?: string; over?: string; items?: number; ts?: number };

/** The `--json` event lines; checks `stage_mapped` comes before the first item starts. */
function mappedBeforeItems(stdout: string): JsonEvent {
  const events = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JsonEvent);
  const mapped = events.findIndex((event) => event.event === 'stage_mapped');
  const first = events.findIndex(
    (event) => event.event === 'stage_started' && event.stage?.startsWith('shard['),
  );
  assert.ok(mapped >= 0 && mapped < first, stdout);
  return events[mapped]!;
}

interface StatusJson {
  status: string;
  stages: { stage: string; status: string; items?: number; itemsDone?: number }[];
}

test('on a pipe: the fan-out is announced, each item line says where it stands of 100; status knows it mid-run', async () => {
  const cwd = hundredItems();
  const cli = new CliProcess(process.execPath, [gpipeBin, 'run', 'pipeline.yaml'], { cwd });
  // The 37th item to end says 37/100: shard[36], or shard[35] when the two ran together and
  // [36] ended first.
  await cli.waitFor('37 of 100 done', ({ stdout }) =>
    /^\d\d:\d\d:\d\d ✓ shard\[3[56]\] \(\d+\.\ds\) · shard\[…\] 37\/100( · [\d.]+\/s · ETA \S+)?$/m.test(
      stdout,
    ),
  );
  // The run store has it too, while the run goes on.
  const status = ok(await gpipe(['status', '--json'], cwd));
  const running = JSON.parse(status.stdout) as StatusJson;
  const shard = running.stages.find((stage) => stage.stage === 'shard');
  assert.equal(running.status, 'running');
  assert.deepEqual([shard?.items, shard?.itemsDone], [100, 37], status.stdout);
  const text = ok(await gpipe(['status'], cwd));
  assert.match(text.stdout, /^shard +running .* 37\/100 items done$/m);

  writeFileSync(join(cwd, 'go'), '');
  const { code, stdout } = await cli.finished;
  assert.equal(code, 0, stdout);
  const lines = stdout.split('\n');
  const announced = lines.findIndex((line) => / ⋯ shard mapped over list: 100 items$/.test(line));
  const firstItem = lines.findIndex((line) => / ▸ shard\[\d+\] started$/.test(line));
  assert.ok(announced >= 0 && announced < firstItem, stdout);
  // The k-th item to end says k/100: the total was right from the first.
  for (let k = 1; k <= 100; k++) {
    const said = lines.filter((line) => line.includes(` · shard[…] ${k}/100`));
    assert.equal(said.length, 1, `${k}/100\n${stdout}`);
  }
  const done = JSON.parse(ok(await gpipe(['status', '--json'], cwd)).stdout) as StatusJson;
  const finished = done.stages.find((stage) => stage.stage === 'shard');
  assert.deepEqual([finished?.items, finished?.itemsDone], [100, 100]);
});

test('on a terminal: the shard[…] bar counts 100 items from the first frame, 37/100 when 37 ended', async () => {
  const cwd = hundredItems();
  const cli = new CliProcess('script', ['-qfec', gpipeCommand('run pipeline.yaml'), '/dev/null'], {
    cwd,
    env: { TERM: 'xterm', NO_COLOR: '1' },
  });
  const text = () => stripAnsi(cli.stdout).replaceAll('\r', '');
  await cli.waitFor('the bar at 37 of 100', () =>
    /^ {2}shard\[…\] \[████░░░░░░\] 37% 37\/100( · [\d.]+\/s · ETA \S+)?$/m.test(text()),
  );
  // Every frame with a shard bar had the whole fan-out as its total.
  const totals = [...text().matchAll(/^ {2}shard\[…\] \[[█░]+\] \d+% \d+\/(\d+)/gm)].map(
    (m) => m[1],
  );
  assert.ok(totals.length > 0);
  assert.deepEqual([...new Set(totals)], ['100']);
  assert.match(text(), /^. hundred \d+\.\ds {2}38\/102 done · 3 running · 0 failed · 61 pending$/m);
  writeFileSync(join(cwd, 'go'), '');
  const { code } = await cli.finished;
  assert.equal(code, 0, text());
  assert.match(text(), /^✓ run \S+ succeeded in \d+\.\ds: 102 succeeded$/m);
});

test('gpipe run --json: stage_mapped comes before the first item starts; the pipeline log says it', async () => {
  const cwd = hundredItems();
  writeFileSync(join(cwd, 'go'), '');
  const run = ok(await gpipe(['run', 'pipeline.yaml', '--json'], cwd));
  assert.deepEqual(
    { ...mappedBeforeItems(run.stdout), ts: 0 },
    { event: 'stage_mapped', stage: 'shard', over: 'list', items: 100, ts: 0 },
  );
  const { runId } = JSON.parse(run.stdout.split('\n')[0]!) as { runId: string };
  const log = readFileSync(join(cwd, '.gpipe', 'runs', runId, 'pipeline.log'), 'utf8');
  assert.match(log, /\| INFO +\| stage shard mapped over list: 100 items$/m);
});

test('resume: the fan-out is announced again, counted once by status; --json says it first', async () => {
  const cwd = workspace({
    'pipeline.yaml': [
      'pipeline:',
      '  name: resumed',
      '  modules:',
      '    - name: list',
      `      command: [sh, -c, 'echo "[0,1,2,3,4,5,6,7,8,9]" > "$GP_RESULT_FILE"']`,
      '    - name: shard',
      '      for_each: list',
      '      command: [sh, -c, "[ $GP_ITEM_INDEX -ne 5 ] || [ -e fixed ]"]',
      '',
    ].join('\n'),
  });
  const failed = await gpipe(['run', 'pipeline.yaml'], cwd);
  assert.equal(failed.code, 3, failed.stdout);
  writeFileSync(join(cwd, 'fixed'), '');
  const resumed = ok(await gpipe(['resume', '--json'], cwd));
  assert.equal(mappedBeforeItems(resumed.stdout).items, 10);
  const status = JSON.parse(ok(await gpipe(['status', '--json'], cwd)).stdout) as StatusJson;
  const shard = status.stages.find((stage) => stage.stage === 'shard');
  // Both runs announced the same list: it counts once.
  assert.deepEqual([shard?.status, shard?.items, shard?.itemsDone], ['succeeded', 10, 10]);
});
