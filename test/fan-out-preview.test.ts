/**
 * Dry runs and `explain` of a mapped stage through the real `gpipe` (SPEC C6 with A8): its
 * items are cached one by one, so the preview splits its source's known output into items
 * and looks each one up, as a run would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  durableWorkspaces,
  edit,
  expectExit,
  gpipeJson,
} from './fixtures/durable/durable-harness.ts';
import { mappedCommand, returning } from './fixtures/fan-out-modules.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const workspaces = durableWorkspaces();

/** list → square[i] → total. */
const pipelineYaml = yamlPipeline('preview', [
  ...returning('list', '[1, 2, 3]'),
  ...mappedCommand('square', 'list', 'echo $((GP_ITEM * GP_ITEM)) > "$GP_RESULT_FILE"'),
  '- name: total',
  '  depends_on: [square]',
  "  command: [sh, -c, 'echo done']",
]);

interface Explained {
  verdict: string;
  summary: string;
  changes: string[];
}

/** A workspace where the pipeline ran once; then, when given, `from` became `to` in p.yaml. */
async function ranOnce(change?: { from: string; to: string }): Promise<string> {
  const dir = workspaces.make([], { 'p.yaml': pipelineYaml });
  await expectExit(0, ['run', 'p.yaml', '--quiet'], dir);
  if (change) edit(dir, 'p.yaml', change.from, change.to);
  return dir;
}

function explain(dir: string): Promise<Explained> {
  return gpipeJson<Explained>(['explain', 'p.yaml', 'square', '--json'], dir);
}

/** Each stage's action and detail in the dry run's table. */
async function dryRun(dir: string): Promise<Record<string, string>> {
  const { stdout } = await expectExit(0, ['run', 'p.yaml', '--dry-run'], dir);
  const rows: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^ {2}(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (match) rows[match[1]!] = `${match[2]} ${match[3]}`;
  }
  return rows;
}

describe('a preview of a mapped stage', () => {
  it('says it and what follows it hit the cache when each of its items would', async () => {
    const dir = await ranOnce();
    const rows = await dryRun(dir);
    assert.equal(rows.square, 'cached each of its 3 items from the cache');
    assert.match(rows.total!, /^cached cache hit/);
    const explained = await explain(dir);
    assert.equal(explained.verdict, 'cached');
    assert.match(explained.summary, /mapped over 'list': each of its 3 items/);
    const item = await expectExit(2, ['explain', 'p.yaml', 'square[1]'], dir);
    assert.match(
      item.stderr,
      /\(an item of mapped stage 'square': explain 'square' tells of its items\)/,
    );
  });

  it('counts the items that would run, and says why against the last success', async () => {
    const dir = await ranOnce({ from: 'GP_ITEM * GP_ITEM', to: 'GP_ITEM * GP_ITEM * 1' });
    const rows = await dryRun(dir);
    assert.equal(rows.square, 'run runs 3 of 3 items (0 from the cache)');
    assert.match(rows.total!, /^run /);
    const explained = await explain(dir);
    assert.equal(explained.verdict, 'run');
    assert.match(explained.summary, /3 of its 3 items would run/);
    assert.equal(explained.changes.length, 1);
    assert.match(explained.changes[0]!, /^command changed: .*GP_ITEM \* GP_ITEM\b.*→/);
  });

  it('waits for the source when the source must run first', async () => {
    const dir = await ranOnce({ from: '[1, 2, 3]', to: '[3, 4]' });
    const rows = await dryRun(dir);
    assert.match(rows.list!, /^run runs: command changed since run \w+$/);
    assert.equal(rows.square, "run runs: its items are known once 'list' has run");
    // Once it has: 3 was an item before and is cached, 4 is new.
    await expectExit(0, ['run', 'p.yaml', '--quiet', '--stage', 'list'], dir);
    const explained = await explain(dir);
    assert.match(explained.summary, /1 of its 2 items would run.*\(1, counting from 0\)/);
    assert.ok(
      explained.changes.includes('item 1 has another value'),
      JSON.stringify(explained.changes),
    );
  });
});

describe('a resume preview of a mapped stage', () => {
  it('tells the items done in the run it goes on with from those the cache holds', async () => {
    const dir = workspaces.make([], {
      // collect_all: the other items finish, whichever ends first.
      'p.yaml': pipelineYaml
        .replace(
          '  name: preview\n',
          '  name: preview\n  execution: { failure_policy: collect_all }\n',
        )
        .replace(
          "'echo $((GP_ITEM * GP_ITEM))",
          '\'test "$GP_ITEM" != 3 || test -f ok || exit 7; echo $((GP_ITEM * GP_ITEM))',
        ),
    });
    await expectExit(3, ['run', 'p.yaml', '--quiet'], dir);
    const { stdout } = await expectExit(0, ['resume', '--dry-run'], dir);
    assert.match(stdout, /^ {2}square\s+run\s+runs 1 of 3 items \(2 done in this run\)$/m);
  });
});
