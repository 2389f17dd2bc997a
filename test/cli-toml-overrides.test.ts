/**
 * Overrides, variables and secrets of TOML pipelines through the real CLI: an override file and
 * `--set` reach one operator by its id, `${VAR}` and `base64://` values are resolved, the secret
 * is masked in the audit copy and in the stage's log, and a bad override value is placed in the
 * override file.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpipe } from './fixtures/cli/harness.ts';
import { operatorRepo, project, pythonEnv } from './fixtures/toml/toml-project.ts';

const env = pythonEnv();
const secret = 'hunter2-very-secret';

function tomlProject(): string {
  const repo = operatorRepo({ v1: { 'README.md': 'code\n' } });
  return project({
    'conf/pipeline.toml':
      'pipeline_id = "layers"\nname = "Layers"\nnodes = ["n"]\noperators = ["show"]\n',
    'conf/nodes/n.toml': 'operator_ids = ["show"]\n',
    'conf/operators/show.toml': [
      `git_repo = "${repo}"`,
      'git_tag = "v1"',
      'start_command = "echo \\"greeting=$GREETING token=$API_TOKEN batch=$BATCH\\" | tee \\"$OUTPUT_ROOT/env.txt\\""',
      'timeout = 600',
      '[extra_env_vars]',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} for the config, not for JS
      'GREETING = "${GREETING:-hello}"',
      `API_TOKEN = "base64://${Buffer.from(secret).toString('base64')}"`,
      'BATCH = "1"',
      '',
    ].join('\n'),
    'prod.toml': '[operators.show.extra_env_vars]\nBATCH = "64"\n',
    'typo.toml': '[operators.show]\ntimeout = "soon"\n',
  });
}

test('a TOML pipeline takes --override and --set by operator id; variables and base64 resolve; the secret is masked', async () => {
  const dir = tomlProject();
  const result = await gpipe(
    ['run', 'conf/pipeline.toml', '--override', 'prod.toml', '--set', 'operators.show.timeout=120'],
    dir,
    { ...env, GREETING: 'bonjour' },
  );
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const runs = join(dir, 'pipeline_workspace', 'runs');
  const [runId] = readdirSync(runs).filter((name) => /^\d{8}_/.test(name));
  // The stage got the real values; what we wrote shows the secret masked.
  const seen = readFileSync(join(runs, runId!, 'show', 'artifacts', 'env.txt'), 'utf8');
  assert.equal(seen.trim(), `greeting=bonjour token=${secret} batch=64`);
  const log = readFileSync(join(runs, runId!, 'show', 'stage.log'), 'utf8');
  assert.match(log, /greeting=bonjour token=\*\*\* batch=64/);
  const [audit] = readdirSync(join(dir, 'conf', 'integration'));
  assert.match(audit!, /^layers_.*\.toml$/);
  const exported = readFileSync(join(dir, 'conf', 'integration', audit!), 'utf8');
  assert.match(exported, /timeout = 120/);
  assert.match(exported, /BATCH = "64"/);
  assert.ok(!exported.includes(secret), exported);
  assert.ok(!`${result.stdout}${result.stderr}`.includes(secret));
});

test('a bad value from a TOML override is reported in the override file, exit 1', async () => {
  const dir = tomlProject();
  const result = await gpipe(
    ['validate', 'conf/pipeline.toml', '--override', 'typo.toml'],
    dir,
    env,
  );
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /typo\.toml:2:11: .*timeout/);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
});
