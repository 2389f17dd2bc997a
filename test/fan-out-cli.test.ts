/**
 * Dynamic fan-out through the real `gpipe` (SPEC A8): a YAML pipeline of command and Python
 * items, each recorded as its own stage instance; `gpipe resume` after a failure or a kill -9
 * runs again only the items that had not succeeded, then the collector. Each item appends a
 * line to `invocations/<instance>`, so the counts say what ran.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jsonEvents, startGpipe } from './fixtures/cli/harness.ts';
import {
  durableWorkspaces,
  edit,
  expectExit,
  gpipeJson,
  InvocationWatch,
  readJson,
  runFinished,
} from './fixtures/durable/durable-harness.ts';
import { mappedCommand, returning } from './fixtures/fan-out-modules.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const workspaces = durableWorkspaces();

/** list → square[i] (command) → plus[i] (Python) → total (Python, the collector). */
const pipelineYaml = `pipeline:
  name: fan
  execution:
    failure_policy: collect_all
  resources:
    max_cpus: 4
  modules:
    - name: list
      command: [sh, -c, 'echo x >> invocations/list; echo "[1, 2, 3, 4]" > "$GP_RESULT_FILE"']
    - name: square
      for_each: list
      command:
        - sh
        - -c
        - 'echo x >> "invocations/$OPERATOR_ID"; while [ -e "hold-$GP_ITEM" ]; do sleep 0.05; done; if [ -e "fail-$GP_ITEM" ]; then exit 9; fi; echo $((GP_ITEM * GP_ITEM)) > "$GP_RESULT_FILE"'
    - name: plus
      for_each: square
      script: "items.py:plus_one"
    - name: total
      depends_on: [plus]
      script: "items.py:total"
`;

const itemsPy = `import os


def plus_one(context):
    with open(os.path.join("invocations", context.module_name), "a") as file:
        file.write("x\\n")
    assert context.item_index == [int(context.module_name[5:-1])]
    return context.item + 1


def total(context):
    with open(os.path.join("invocations", "total"), "a") as file:
        file.write("x\\n")
    values = context.get_result("plus")
    return {"sum": sum(values), "all": values}
`;

interface StatusJson {
  runId: string;
  stages: { stage: string; status: string; attempts: number; errorCode?: string }[];
}

function statusOf(status: StatusJson): Record<string, string> {
  return Object.fromEntries(status.stages.map((s) => [s.stage, s.status]));
}

const allItems = (name: string) => [0, 1, 2, 3].map((i) => `${name}[${i}]`);

describe('gpipe with a mapped YAML module', () => {
  it('records every item as its own stage; resume re-runs only the failed item, then the collector', async () => {
    const dir = workspaces.make([], {
      'fan.yaml': pipelineYaml,
      'items.py': itemsPy,
      'fail-3': '',
    });
    const watch = new InvocationWatch(dir);
    await expectExit(3, ['run', 'fan.yaml', '--quiet'], dir);
    assert.deepEqual(
      watch.since(),
      ['list', ...allItems('square'), 'plus[0]', 'plus[1]', 'plus[3]'].sort(),
    );
    const failed = await gpipeJson<StatusJson>(['status', '--json'], dir);
    const statuses = statusOf(failed);
    assert.equal(statuses['square[2]'], 'failed');
    assert.equal(statuses['plus[2]'], 'upstream_failed');
    assert.equal(statuses['plus[3]'], 'succeeded');
    assert.equal(statuses.square, 'failed');
    assert.equal(statuses.total, 'upstream_failed');
    // Instances come right after their mapped stage, in index order.
    const names = failed.stages.map((s) => s.stage);
    assert.deepEqual(names.slice(names.indexOf('square'), names.indexOf('square') + 5), [
      'square',
      ...allItems('square'),
    ]);
    const text = await expectExit(0, ['status'], dir);
    assert.match(text.stdout, /^square\[2\]\s+failed\s+1\s/m);
    assert.match(
      text.stdout,
      /^square\s+failed\s.*ITEMS_FAILED: 1 item of 'square' failed: square\[2\]/m,
    );

    rmSync(join(dir, 'fail-3'));
    await expectExit(0, ['resume', '--quiet'], dir);
    assert.deepEqual(watch.since(), ['plus[2]', 'square[2]', 'total']);
    const done = await gpipeJson<StatusJson>(['status', '--json'], dir);
    assert.equal(done.runId, failed.runId);
    for (const s of done.stages) assert.match(s.status, /succeeded|cached/, s.stage);
    const square2 = done.stages.find((s) => s.stage === 'square[2]');
    assert.equal(square2?.attempts, 2);
    const total = readJson<{ data: unknown }>(
      join(dir, `.gpipe/runs/${failed.runId}/total/output.json`),
    );
    assert.deepEqual(total.data, { sum: 34, all: [2, 5, 10, 17] });
    const item = readJson<{ data: unknown }>(
      join(dir, `.gpipe/runs/${failed.runId}/plus[1]/output.json`),
    );
    assert.equal(item.data, 5);
    const shown = await expectExit(0, ['show', failed.runId, 'plus[1]'], dir);
    assert.equal((JSON.parse(shown.stdout) as { data: unknown }).data, 5);

    // Run again: every item hits the cache (its own key), nothing runs.
    await expectExit(0, ['run', 'fan.yaml', '--quiet'], dir);
    assert.deepEqual(watch.since(), []);
    // An element added in front: the items keep their keys (by value), one new item runs.
    edit(dir, 'fan.yaml', '[1, 2, 3, 4]', '[0, 1, 2, 3, 4]');
    const more = await expectExit(0, ['run', 'fan.yaml', '--json'], dir);
    assert.deepEqual(watch.since(), ['list', 'plus[0]', 'square[0]', 'total']);
    assert.equal(runFinished(more.stdout).stages['square[4]'], 'cached');
  });

  it('after kill -9 mid fan-out, resume runs only the unfinished item and the collector', async () => {
    const dir = workspaces.make([], {
      'fan.yaml': pipelineYaml,
      'items.py': itemsPy,
      'hold-3': '',
    });
    const watch = new InvocationWatch(dir);
    const cli = startGpipe(['run', 'fan.yaml', '--json'], dir);
    const finished = (stdout: string) =>
      jsonEvents(stdout).filter((e) => e.event === 'stage_finished' && e.status === 'succeeded');
    // Items 0, 1 and 3 went all the way through plus while item 2 is held: no barrier.
    await cli.waitFor('plus[0], plus[1], plus[3]', ({ stdout }) => {
      const names = finished(stdout).map((e) => e.stage);
      return ['plus[0]', 'plus[1]', 'plus[3]'].every((name) => names.includes(name));
    });
    const names = finished(cli.stdout).map((e) => e.stage);
    assert.ok(!names.includes('square[2]'));
    cli.child.kill('SIGKILL');
    await cli.finished;
    assert.deepEqual(
      watch.since(),
      ['list', ...allItems('square'), 'plus[0]', 'plus[1]', 'plus[3]'].sort(),
    );
    const interrupted = statusOf(await gpipeJson<StatusJson>(['status', '--json'], dir));
    assert.equal(interrupted['square[2]'], 'interrupted');
    assert.equal(interrupted['square[1]'], 'succeeded');

    rmSync(join(dir, 'hold-3'));
    await expectExit(0, ['resume', '--quiet'], dir);
    assert.deepEqual(watch.since(), ['plus[2]', 'square[2]', 'total']);
  });

  it('a module mapped over an output that is not a list fails with a clear error (exit 3)', async () => {
    const yaml = yamlPipeline('one', [
      ...returning('one', '{\\"a\\": 1}'),
      ...mappedCommand('each', 'one', 'true'),
    ]);
    const dir = workspaces.make([], { 'one.yaml': yaml });
    const { stderr } = await expectExit(3, ['run', 'one.yaml'], dir);
    assert.match(
      stderr + (await expectExit(0, ['status'], dir)).stdout,
      /NOT_A_LIST: stage 'each' is mapped over 'one', whose output is an object, not a list/,
    );
  });

  it('for_each naming an unknown module is a config error at its line', async () => {
    const yaml =
      'pipeline:\n  name: bad\n  modules:\n    - name: each\n      for_each: nowhere\n      command: [sh, -c, "true"]\n';
    const dir = workspaces.make([], { 'bad.yaml': yaml });
    writeFileSync(join(dir, 'bad.yaml'), yaml);
    const { stderr } = await expectExit(1, ['validate', 'bad.yaml'], dir);
    assert.match(stderr, /bad\.yaml:5:\d+.*unknown stage 'nowhere'/);
  });
});

/** docs → words[i] (each a list) → upper[i][j] (nested): files written by each item. */
const filesYaml = yamlPipeline('files', [
  ...returning('docs', '[2, 3]'),
  ...mappedCommand(
    'words',
    'docs',
    'echo "doc $GP_ITEM" > "$OUTPUT_ROOT/doc.txt"; seq -s, 1 "$GP_ITEM" | sed "s/.*/[&]/" > "$GP_RESULT_FILE"',
  ),
  ...mappedCommand(
    'upper',
    'words',
    'echo "word $GP_ITEM" > "$OUTPUT_ROOT/word.txt"; echo 0 > "$GP_RESULT_FILE"',
    ['  nested: true'],
  ),
  '- name: collect',
  '  depends_on: [words, upper]',
  `  command: [sh, -c, 'cat "$INPUT_ROOT/words/1/doc.txt" "$INPUT_ROOT/upper/1/2/word.txt"']`,
]);

describe("a mapped stage's files", () => {
  it('are under its artifacts by item place, for the stages downstream', async () => {
    const dir = workspaces.make([], { 'files.yaml': filesYaml });
    const finished = runFinished(
      (await expectExit(0, ['run', 'files.yaml', '--json'], dir)).stdout,
    );
    const runDir = join(dir, '.gpipe', 'runs', finished.runId);
    const log = readFileSync(join(runDir, 'collect', 'stage.log'), 'utf8');
    assert.match(log, /stdout \| doc 3\n.*stdout \| word 3\n/);
    assert.equal(
      readlinkSync(join(runDir, 'upper', 'artifacts', '1', '2')),
      '../../../upper[1][2]/artifacts',
    );
    assert.deepEqual(readdirSync(join(runDir, 'upper', 'artifacts', '0')).sort(), ['0', '1']);
  });
});
