// The pipeline log (SPEC E2) through the real CLI: a TOML pipeline's in work_dir/logs with its
// log_config (level, rotation, retention), a YAML pipeline's in its run directory; secrets masked.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpipe, workspaces } from './fixtures/cli/harness.ts';
import { operatorRepo, project, pythonEnv, writeFiles } from './fixtures/toml/toml-project.ts';

const workspace = workspaces();

const secret = 'pipeline-log-token-Qv8';

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile());
}

test('TOML: work_dir/logs/pipeline_<id>_<ts>.log, rotated past its size, old logs deleted, secrets masked', async () => {
  const repo = operatorRepo({ v1: { 'README.md': 'code\n' } });
  const dir = project({
    'conf/pipeline.toml': [
      '[pipeline]',
      'pipeline_id = "logged"',
      'name = "Logged"',
      'nodes = ["n"]',
      'operators = ["talk", "fail"]',
      '[pipeline.log_config]',
      'level = "INFO"',
      'rotation = "300 B"',
      'retention = 30',
      '',
    ].join('\n'),
    'conf/nodes/n.toml': 'operator_ids = ["talk", "fail"]\n',
    'conf/operators/talk.toml': [
      `git_repo = "${repo}"`,
      'git_tag = "v1"',
      'start_command = "echo talking"',
      '',
    ].join('\n'),
    'conf/operators/fail.toml': [
      `git_repo = "${repo}"`,
      'git_tag = "v1"',
      'start_command = "echo using token=$API_TOKEN >&2; exit 3"',
      'upstream_dependencies = ["talk"]',
      `extra_env_vars = { API_TOKEN = "${secret}" }`,
      '',
    ].join('\n'),
  });
  const logs = join(dir, 'pipeline_workspace', 'logs');
  const old = new Date(Date.now() - 40 * 86_400_000);
  writeFiles(logs, {
    'pipeline_logged_20200101_000000.log': 'old\n',
    'pipeline_logged_20261101_000000.log': 'recent\n',
    'pipeline_other_20200101_000000.log': 'not ours\n',
  });
  utimesSync(join(logs, 'pipeline_logged_20200101_000000.log'), old, old);
  utimesSync(join(logs, 'pipeline_other_20200101_000000.log'), old, old);

  const run = await gpipe(['run', 'conf/pipeline.toml'], dir, pythonEnv());
  assert.equal(run.code, 3, run.stderr);

  const names = readdirSync(logs).sort();
  assert.ok(!names.includes('pipeline_logged_20200101_000000.log'), 'the 40-day-old log went');
  assert.ok(names.includes('pipeline_logged_20261101_000000.log'), 'a recent one stays');
  assert.ok(names.includes('pipeline_other_20200101_000000.log'), "another pipeline's stays");
  const ours = names.filter((name) => /^pipeline_logged_\d{8}_\d{6}(\.\d+)?\.log$/.test(name));
  const first = ours.find((name) => /_\d{6}\.log$/.test(name) && !name.includes('2026110'));
  assert.ok(first, names.join(', '));
  const second = first.replace(/\.log$/, '.1.log');
  assert.ok(names.includes(second), `rotation made a second file: ${names.join(', ')}`);
  const text = ours.map((name) => readFileSync(join(logs, name), 'utf8')).join('');
  assert.match(text, /\| INFO {5}\| stage talk started \(attempt 1\)/);
  assert.match(text, /\| SUCCESS {2}\| stage talk succeeded in/);
  assert.match(
    text,
    /\| ERROR {4}\| stage fail failed \(exit 3\).*last output:\n {4}using token=\*\*\*\n/,
  );
  for (const file of filesUnder(join(dir, 'pipeline_workspace'))) {
    assert.ok(!readFileSync(file).includes(secret), `the secret is in ${file}`);
  }
});

test('YAML: pipeline.log in the run directory', async () => {
  const dir = workspace({
    'pipeline.yaml': [
      'pipeline:',
      '  name: plain',
      '  modules:',
      '    - name: a',
      '      command: [sh, -c, "echo hi"]',
    ].join('\n'),
  });
  writeFileSync(join(dir, '.project_root'), '');
  assert.equal((await gpipe(['run', 'pipeline.yaml'], dir)).code, 0);
  const [runId] = readdirSync(join(dir, '.gpipe', 'runs'));
  const text = readFileSync(join(dir, '.gpipe', 'runs', runId!, 'pipeline.log'), 'utf8');
  assert.match(text, /^\S+Z \| INFO {5}\| run \S+ of plain started: 1 stages$/m);
  assert.match(text, /^\S+Z \| SUCCESS {2}\| stage a succeeded in \d+\.\ds$/m);
  assert.match(text, /^\S+Z \| SUCCESS {2}\| run \S+ succeeded$/m);
});
