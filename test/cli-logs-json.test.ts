// `gpipe logs --json` and `gpipe show --json` end to end: real runs, judged by the JSON printed.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLogLine } from '../src/logs/stage-log-line.ts';
import { followTalk, ranOnce } from './fixtures/cli/follow-talk.ts';
import { gpipe, jsonEvents, workspaces } from './fixtures/cli/harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const workspace = workspaces();

const twoStages = yamlPipeline('chatty-json', [
  '- name: a',
  '  command: [sh, -c, "echo a-out; echo a-err >&2; echo \'{\\"n\\": 1}\' > $GP_RESULT_FILE"]',
  '- name: b',
  '  command: [sh, -c, "echo b-out"]',
  '  depends_on: [a]',
  '- name: c',
  '  command: [sh, -c, "exit 4"]',
  '  depends_on: [b]',
]);

/** The text mode's lines as the JSON mode prints them: `[stage] time stream | text`. */
function textAsJson(stdout: string, stage?: string): Record<string, unknown>[] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((text) => {
      const prefix = /^\[([^ ]+)\] /.exec(text);
      const line = parseLogLine(prefix ? text.slice(prefix[0].length) : text);
      return { ts: line.time, stage: prefix?.[1] ?? stage, stream: line.stream, line: line.text };
    });
}

test('logs --json prints one object per line, as the text mode in the same order', async () => {
  const { dir, id, started } = await ranOnce(workspace, twoStages, 3);

  const all = await gpipe(['logs', id, '--json'], dir);
  assert.equal(all.code, 0, all.stderr);
  const lines = jsonEvents(all.stdout);
  assert.deepEqual(lines.map(({ stage, stream, line }) => `${stage} ${stream} ${line}`).sort(), [
    'a stderr a-err',
    'a stdout a-out',
    'b stdout b-out',
  ]);
  for (const line of lines) {
    assert.deepEqual(Object.keys(line), ['ts', 'stage', 'stream', 'line']);
    assert.ok(typeof line.ts === 'number' && line.ts >= started - 1000 && line.ts <= Date.now());
  }
  assert.equal(lines[2]!.stage, 'b', 'b ran after a');
  const text = await gpipe(['logs', id], dir);
  assert.deepEqual(lines, textAsJson(text.stdout));

  const errors = await gpipe(['logs', id, 'a', '--stderr', '--json'], dir);
  assert.equal(errors.code, 0, errors.stderr);
  assert.deepEqual(
    jsonEvents(errors.stdout).map(({ ts: _ts, ...line }) => line),
    [{ stage: 'a', stream: 'stderr', line: 'a-err' }],
  );
  const future = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await gpipe(['logs', id, '--since', future, '--json'], dir)).stdout, '');

  // Errors stay one line on stderr, with the text mode's exit codes.
  const missing = await gpipe(['logs', id, 'nope', '--json'], dir);
  assert.equal(missing.code, 2);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /^gpipe: run '\S+' has no stage 'nope' \(its stages: a, b, c\)\n$/);
  const noRun = await gpipe(['logs', '20261202_010000_nosuch', '--json'], dir);
  assert.equal(noRun.code, 2);
  assert.match(noRun.stderr, /^gpipe: no run '20261202_010000_nosuch' in this workspace/);
});

test('show --json prints the output file with its resources as one compact document', async () => {
  const { dir, id } = await ranOnce(workspace, twoStages, 3);

  const text = await gpipe(['show', id, 'a'], dir);
  const json = await gpipe(['show', id, 'a', '--json'], dir);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.stdout.indexOf('\n'), json.stdout.length - 1, 'one line');
  const shown = JSON.parse(json.stdout) as Record<string, Record<string, unknown>>;
  assert.deepEqual(shown, JSON.parse(text.stdout));
  assert.deepEqual(Object.keys(shown), ['resources', '_meta', 'data', 'artifacts']);
  assert.deepEqual(shown.data, { n: 1 });
  assert.equal(shown._meta!.stage, 'a');
  assert.equal(shown._meta!.run_id, id);
  assert.equal(shown.resources!.attempt, 1);
  assert.equal(typeof shown.resources!.peak_rss_mb, 'number');

  // Without the file, made from the store: the same document.
  const file = join(dir, '.gpipe', 'runs', id, 'a', 'output.json');
  rmSync(file);
  const fromStore = await gpipe(['show', id, 'a', '--json'], dir);
  assert.equal(fromStore.code, 0, fromStore.stderr);
  assert.equal(fromStore.stdout, json.stdout);
  // A file changed since the run, not JSON any more, is an error of one line.
  writeFileSync(file, '{"_meta": ');
  const broken = await gpipe(['show', id, 'a', '--json'], dir);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /^gpipe: stage 'a' of run \S+: its output.json is not JSON/);
  assert.equal(broken.stderr.split('\n').length, 2, 'one line');

  const failed = await gpipe(['show', id, 'c', '--json'], dir);
  assert.equal(failed.code, 2);
  assert.equal(failed.stdout, '');
  assert.equal(failed.stderr, `gpipe: stage 'c' of run ${id} has no output: it failed\n`);
  const nope = await gpipe(['show', id, 'nope', '--json'], dir);
  assert.equal(nope.code, 2);
  assert.match(nope.stderr, /^gpipe: run '\S+' has no stage 'nope'/);
});

test('logs -f --json follows a running stage line by line until it ends', async () => {
  const talk = await followTalk(workspace, 'follow-json', { secondToStderr: true, json: true });
  try {
    writeFileSync(join(talk.dir, 'go'), '');
    const followed = await talk.follow.finished;
    assert.equal(followed.code, 0, followed.stderr);
    assert.deepEqual(
      jsonEvents(followed.stdout).map(({ ts: _ts, ...line }) => line),
      [
        { stage: 'talk', stream: 'stdout', line: 'first' },
        { stage: 'talk', stream: 'stderr', line: 'second' },
      ],
    );
  } finally {
    talk.release();
  }
  assert.equal((await talk.run.finished).code, 0);
});
