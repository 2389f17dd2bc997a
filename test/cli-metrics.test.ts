// Metrics files (SPEC E5) end to end: a command stage appends to $GP_METRICS_FILE while it runs,
// an inline and a Python stage call context.metric; `gpipe metrics` shows both from the run store.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, gpipe, startGpipe, workspaces } from './fixtures/cli/harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const workspace = workspaces();

const pipeline = yamlPipeline('metered', [
  '- name: train',
  '  command:',
  '    - sh',
  '    - -c',
  '    - |',
  '      echo \'{"step":1,"loss":0.9}\' >> "$GP_METRICS_FILE"',
  '      printf \'{"step":2,"loss":0.5}\\n{"step":3,\' >> "$GP_METRICS_FILE"',
  '      while [ ! -e go ]; do sleep 0.02; done',
  '      echo \'"loss":0.25,"note":"last"}\' >> "$GP_METRICS_FILE"',
  '- name: score',
  '  script: "stages.ts:score"',
  '- name: fit',
  '  script: "fit.py:fit"',
]);

const fit = [
  'def fit(context):',
  '    for step in range(1, 4):',
  '        context.metric("acc", step / 4, step=step)',
].join('\n');

const stages = [
  'export function score(context: { metric(name: string, value: number, fields?: object): void }) {',
  '  for (let step = 1; step <= 3; step++) context.metric("accuracy", step / 4, { step });',
  '}',
].join('\n');

test('metrics are ingested while a stage runs and at its end; gpipe metrics prints them', async () => {
  const dir = workspace({ 'pipeline.yaml': pipeline, 'stages.ts': stages, 'fit.py': fit });
  const run = startGpipe(['run', 'pipeline.yaml'], dir);
  let runId = '';
  await eventually('the run directory', () => {
    const runs = join(dir, '.gpipe', 'runs');
    runId = existsSync(runs) ? (readdirSync(runs)[0] ?? '') : '';
    return runId !== '';
  });
  // While train waits for `go`, its two whole lines reach the store; the partial third does not.
  let seen: Record<string, unknown>[] = [];
  const deadline = Date.now() + 30_000;
  while (seen.length < 2 && Date.now() < deadline) {
    const out = await gpipe(['metrics', runId, 'train', '--json'], dir);
    seen =
      out.stdout.trim() === ''
        ? []
        : out.stdout
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l));
  }
  assert.deepEqual(
    seen.map((m) => [m.step, m.loss]),
    [
      [1, 0.9],
      [2, 0.5],
    ],
  );
  assert.equal(run.child.exitCode, null, 'the stage was still running');
  writeFileSync(join(dir, 'go'), '');
  assert.equal((await run.finished).code, 0, run.stderr);

  const json = await gpipe(['metrics', runId, 'train', '--json'], dir);
  const all = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    all.map((m) => [m.attempt, m.line, m.step, m.loss]),
    [
      [1, 0, 1, 0.9],
      [1, 1, 2, 0.5],
      [1, 2, 3, 0.25],
    ],
  );
  assert.match(all[0].ts, /^\d{4}-\d\d-\d\dT/);

  const table = await gpipe(['metrics', runId, 'train'], dir);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^attempt +step +loss +note$/m);
  assert.match(table.stdout, /^1 +3 +0\.25 +last$/m);
  assert.match(table.stdout, /^loss +█▄▁ +0\.9 → 0\.25 +\(min 0\.25, max 0\.9, 3 points\)$/m);

  const inline = await gpipe(['metrics', runId, 'score'], dir);
  assert.match(inline.stdout, /^accuracy +▁▅█ +0\.25 → 0\.75/m);

  const python = await gpipe(['metrics', runId, 'fit', '--json'], dir);
  assert.deepEqual(
    python.stdout
      .trim()
      .split('\n')
      .map((l) => [JSON.parse(l).step, JSON.parse(l).acc]),
    [
      [1, 0.25],
      [2, 0.5],
      [3, 0.75],
    ],
  );

  const missing = await gpipe(['metrics', runId, 'nope'], dir);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /has no stage 'nope'/);
});

test('gpipe metrics takes a fan-out item by name, also after the project was moved', async () => {
  const parent = workspace({
    'proj/pipeline.yaml': yamlPipeline('fanned', [
      '- name: list',
      '  command: [sh, -c, \'echo "[2, 3]" > "$GP_RESULT_FILE"\']',
      '- name: square',
      '  for_each: list',
      '  command:',
      '    - sh',
      '    - -c',
      '    - \'echo "{\\"value\\": $((GP_ITEM * GP_ITEM))}" >> "$GP_METRICS_FILE"\'',
    ]),
  });
  const before = join(parent, 'proj');
  const ran = await gpipe(['run', 'pipeline.yaml'], before);
  assert.equal(ran.code, 0, ran.stderr);
  const runId = readdirSync(join(before, '.gpipe', 'runs'))[0]!;
  const cwd = join(parent, 'proj2');
  renameSync(before, cwd);
  const values = async (stage: string) => {
    const out = await gpipe(['metrics', runId, stage, '--json'], cwd);
    assert.equal(out.code, 0, out.stderr);
    return out.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).value);
  };
  assert.deepEqual(await values('square[0]'), [4]);
  assert.deepEqual(await values('square[1]'), [9]);
  const table = await gpipe(['metrics', runId, 'square[1]'], cwd);
  assert.match(table.stdout, /^1 +9$/m);
  const unknown = await gpipe(['metrics', runId, 'cube[0]'], cwd);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /has no stage 'cube\[0\]'/);
});
