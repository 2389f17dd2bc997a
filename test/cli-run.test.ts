// `gpipe run` as a child process: exit codes, the --json event stream, plain lines on a pipe.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { gpipe, jsonEvents, repoRoot, workspaces } from './fixtures/cli/harness.ts';

const dir = workspaces();

const time = String.raw`\d\d:\d\d:\d\d`;
const duration = String.raw`\d+\.\ds`;
const runId = String.raw`\d{8}_\d{6}_[0-9a-f]{6}`;

describe('gpipe run --json', () => {
  test('the diamond: every event once, as one JSON object per line, in dependency order', async () => {
    const cwd = dir({}, ['diamond.yaml']);
    const { code, stdout, stderr } = await gpipe(['run', 'diamond.yaml', '--json'], cwd);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    assert.ok(stdout.endsWith('\n'));
    const events = jsonEvents(stdout);
    assert.equal(events.length, 10, stdout);

    const first = events[0]!;
    const last = events.at(-1)!;
    assert.equal(first.event, 'run_started');
    assert.equal(first.pipeline, 'diamond');
    assert.equal(first.stages, 4);
    assert.equal(last.event, 'run_finished');
    assert.equal(last.runId, first.runId);
    assert.equal(last.status, 'succeeded');
    assert.deepEqual(last.stages, {
      a: 'succeeded',
      b: 'succeeded',
      c: 'succeeded',
      d: 'succeeded',
    });

    const index = (event: string, stage: string) => {
      const found = events.flatMap((e, i) => (e.event === event && e.stage === stage ? [i] : []));
      assert.equal(found.length, 1, `one ${event} for ${stage}`);
      return found[0]!;
    };
    for (const stage of ['a', 'b', 'c', 'd']) {
      const finished = events[index('stage_finished', stage)]!;
      assert.ok(index('stage_started', stage) < index('stage_finished', stage));
      assert.deepEqual(
        { status: finished.status, attempt: finished.attempt, exitCode: finished.exitCode },
        { status: 'succeeded', attempt: 1, exitCode: 0 },
      );
    }
    for (const stage of ['b', 'c']) {
      assert.ok(
        index('stage_finished', 'a') < index('stage_started', stage),
        `${stage} starts after a`,
      );
      assert.ok(
        index('stage_finished', stage) < index('stage_started', 'd'),
        `d starts after ${stage}`,
      );
    }
    const stamps = events.map((e) => e.ts as number);
    assert.deepEqual(
      stamps,
      [...stamps].sort((x, y) => x - y),
      'timestamps never go back',
    );
  });

  test('a failure: stage_finished carries the error and exit code, dependents are upstream_failed', async () => {
    const cwd = dir({}, ['failing.yaml']);
    const { code, stdout, stderr } = await gpipe(['run', 'failing.yaml', '--json'], cwd);
    assert.equal(code, 3, stderr);
    const events = jsonEvents(stdout);
    const train = events.find((e) => e.event === 'stage_finished' && e.stage === 'train')!;
    assert.equal(train.status, 'failed');
    assert.equal(train.exitCode, 3);
    assert.match((train.error as { message: string }).message, /ValueError: bad input/);
    assert.deepEqual(events.at(-1)!.stages, {
      prepare: 'succeeded',
      train: 'failed',
      report: 'upstream_failed',
    });
  });
});

describe('gpipe run: exit codes', () => {
  test('0 when every stage succeeds', async () => {
    const { code } = await gpipe(['run', 'diamond.yaml', '--quiet'], dir({}, ['diamond.yaml']));
    assert.equal(code, 0);
  });

  test('1 for a config error, with every issue and nothing on stdout', async () => {
    const { code, stdout, stderr } = await gpipe(
      ['run', 'invalid.yaml'],
      dir({}, ['invalid.yaml']),
    );
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /^invalid\.yaml:9:7: module 'a': unknown key 'dependson'/m);
    assert.match(stderr, /^gpipe: 5 problems in invalid\.yaml\n$/m);
    assert.doesNotMatch(stderr, /\s+at /, 'no stack trace');
  });

  test('2 for a missing file', async () => {
    const { code, stdout, stderr } = await gpipe(['run', 'nowhere.yaml'], dir());
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(stderr, 'gpipe: no such file: nowhere.yaml\n');
  });

  test('3 when a stage fails, with the failure and its log in the summary', async () => {
    const cwd = dir({}, ['failing.yaml']);
    const { code, stdout } = await gpipe(['run', 'failing.yaml'], cwd);
    assert.equal(code, 3);
    assert.match(
      stdout,
      new RegExp(
        `^${time} ✗ train failed \\(exit 3, ${duration}\\): command exited with code 3.* … ValueError: bad input$`,
        'm',
      ),
    );
    assert.match(stdout, new RegExp(`^${time} ⊘ report upstream_failed$`, 'm'));
    const summary = stdout.slice(stdout.indexOf('✗ run'));
    const id = new RegExp(
      `^✗ run (${runId}) failed after ${duration}: 1 succeeded, 1 failed, 1 upstream_failed$`,
      'm',
    ).exec(summary)?.[1];
    assert.ok(id, summary);
    assert.match(summary, /^ {2}✗ train \(exit 3\): command exited with code 3/m);
    assert.match(summary, /^ {6}ValueError: bad input$/m);
    const log = `.gpipe/runs/${id}/train/stage.log`;
    assert.match(summary, new RegExp(`^ {4}log: ${log.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(readFileSync(join(cwd, log), 'utf8'), /ValueError: bad input/);
  });

  test('4 when a stage runs past its timeout', async () => {
    const { code, stdout } = await gpipe(['run', 'timeout.yaml'], dir({}, ['timeout.yaml']));
    assert.equal(code, 4);
    assert.match(stdout, /^ {2}✗ nap \(timeout\): stage 'nap' timed out after 300 ms$/m);
  });

  test('5 when a command cannot start: its program is not installed', async () => {
    const yaml = [
      'pipeline:',
      '  name: missing_tool',
      '  modules:',
      '    - { name: convert, command: [gp-no-such-converter, in.raw] }',
    ].join('\n');
    const { code, stdout } = await gpipe(['run', 'p.yaml'], dir({ 'p.yaml': yaml }));
    assert.equal(code, 5);
    assert.match(
      stdout,
      /cannot start 'gp-no-such-converter': no such file or directory \(ENOENT\)/,
    );
  });
});

describe('gpipe run: output on a pipe', () => {
  test('one plain line per transition, no colours, then the summary', async () => {
    const { code, stdout } = await gpipe(['run', 'diamond.yaml'], dir({}, ['diamond.yaml']));
    assert.equal(code, 0);
    assert.ok(!stdout.includes('\x1b'), 'no escape sequences on a pipe');
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0]!, new RegExp(`^${time} run ${runId}: pipeline 'diamond', 4 stages$`));
    const transitions = lines.slice(1, 9).map((line) => line.slice(9));
    assert.deepEqual(transitions.filter((line) => line.endsWith('started')).sort(), [
      '▸ a started',
      '▸ b started',
      '▸ c started',
      '▸ d started',
    ]);
    for (const stage of 'abcd')
      assert.ok(
        transitions.some((line) => new RegExp(`^✓ ${stage} \\(${duration}\\)$`).test(line)),
        stage,
      );
    // The stage table, longest first, and the critical path through the diamond.
    assert.match(lines[9]!, /^STAGE +STATUS +DURATION +PEAK RSS +CPU-S +CACHE$/);
    assert.deepEqual(
      lines
        .slice(10, 14)
        .map((line) => line.split(/ +/)[0])
        .sort(),
      ['a', 'b', 'c', 'd'],
    );
    for (const line of lines.slice(10, 14))
      assert.match(line, new RegExp(`^[a-d] +succeeded +${duration} +[\\d.]+ MB +[\\d.]+ +-$`));
    assert.match(
      lines[14]!,
      new RegExp(`^critical path: ${duration} over 3 stages: a → [bc] → d$`),
    );
    assert.match(lines[15]!, new RegExp(`^✓ run ${runId} succeeded in ${duration}: 4 succeeded$`));
    assert.match(lines[16]!, new RegExp(`^logs: \\.gpipe/runs/${runId}/\\{stage\\}/stage\\.log$`));
    assert.equal(lines.length, 17);
  });

  test('retries and fallbacks', async () => {
    const { code, stdout } = await gpipe(['run', 'flaky.yaml'], dir({}, ['flaky.yaml']));
    assert.equal(code, 0, stdout);
    assert.match(
      stdout,
      new RegExp(
        `^${time} ↻ fetch retry 2 in 0\\.1s: command exited with code 1.* … connection reset$`,
        'm',
      ),
    );
    assert.match(stdout, new RegExp(`^${time} ▸ fetch started \\(attempt 2\\)$`, 'm'));
    assert.match(
      stdout,
      new RegExp(
        `^${time} ⤷ lint failed, running its fallback lint_soft: command exited with code 1$`,
        'm',
      ),
    );
    assert.match(
      stdout,
      new RegExp(`^${time} ✓ lint via fallback lint_soft \\(${duration}\\)$`, 'm'),
    );
  });

  test('--quiet prints the summary only', async () => {
    const { code, stdout } = await gpipe(['run', 'diamond.yaml', '-q'], dir({}, ['diamond.yaml']));
    assert.equal(code, 0);
    assert.match(
      stdout,
      new RegExp(`^✓ run ${runId} succeeded in ${duration}: 4 succeeded\\nlogs: .*\\n$`),
    );
  });
});

describe('gpipe run: workspace and pipeline modules', () => {
  test('the workspace is the nearest directory upwards with .project_root', async () => {
    const root = dir({
      '.project_root': '',
      'jobs/nightly/diamond.yaml': readFixture('diamond.yaml'),
    });
    const cwd = join(root, 'jobs', 'nightly');
    const { code, stdout } = await gpipe(['run', 'diamond.yaml', '--json'], cwd);
    assert.equal(code, 0);
    const id = jsonEvents(stdout).at(-1)!.runId as string;
    assert.ok(existsSync(join(root, '.gpipe', 'runs', id, 'a', 'stage.log')));
    assert.ok(!existsSync(join(cwd, '.gpipe')));
  });

  test('--workspace puts the run elsewhere; one that is not a directory is bad input', async () => {
    const cwd = dir({}, ['diamond.yaml']);
    const elsewhere = join(cwd, 'elsewhere');
    mkdirSync(elsewhere);
    const { code, stdout } = await gpipe(
      ['run', 'diamond.yaml', '--json', '--workspace', 'elsewhere'],
      cwd,
    );
    assert.equal(code, 0);
    const id = jsonEvents(stdout).at(-1)!.runId as string;
    assert.ok(existsSync(join(elsewhere, '.gpipe', 'runs', id)));
    writeFileSync(join(cwd, 'file'), '');
    const bad = await gpipe(['run', 'diamond.yaml', '--workspace', 'file'], cwd);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, "gpipe: workspace 'file' is not a directory\n");
  });

  test('a TypeScript pipeline module', async () => {
    const api = pathToFileURL(join(repoRoot, 'src', 'index.ts')).href;
    const cwd = dir({
      'package.json': '{ "type": "module" }\n',
      'pipeline.ts': `import { pipeline, stage } from '${api}';
const numbers = stage('numbers', async () => [1, 2, 3]);
const total = stage('total', { deps: { numbers } }, ({ numbers }) => numbers.reduce((a, b) => a + b, 0));
export default pipeline('typed', [total]);
`,
    });
    const { code, stdout, stderr } = await gpipe(['run', 'pipeline.ts', '--json'], cwd);
    assert.equal(code, 0, stderr);
    assert.deepEqual(jsonEvents(stdout).at(-1)!.stages, {
      numbers: 'succeeded',
      total: 'succeeded',
    });
  });
});

function readFixture(name: string): string {
  return readFileSync(join(repoRoot, 'test', 'fixtures', 'cli', name), 'utf8');
}
