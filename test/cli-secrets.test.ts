// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text, not templates
// Secrets (SPEC H2) end to end: a seeded secret reaches the stages that need it and appears in
// no byte of stdout, stderr or any file under the workspace (logs, run store, audit export).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stripAnsi } from '../src/cli/format-text.ts';
import { CliProcess, gpipe, gpipeBin, jsonEvents, workspaces } from './fixtures/cli/harness.ts';

const workspace = workspaces();

const secrets = {
  base64: 'b64-decoded-secret-Zq9',
  credentials: 'credentials-file-secret-Kx7',
  interpolated: 'interpolated-password-Wm3',
  ambient: 'ambient-env-token-Pd5',
};
const encoded = `base64://${Buffer.from(secrets.base64).toString('base64')}`;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Every file under `dir`, recursively (the run store and its WAL included). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile());
}

function assertNowhere(dir: string, outputs: string[]): void {
  for (const [name, secret] of Object.entries(secrets)) {
    for (const [index, output] of outputs.entries())
      assert.ok(!output.includes(secret), `the ${name} secret is in output ${index}:\n${output}`);
    // Every file but the credentials file, where the user keeps it.
    for (const file of filesUnder(dir).filter((path) => !path.endsWith('s3_aksk.env')))
      assert.ok(!readFileSync(file).includes(secret), `the ${name} secret is in ${file}`);
  }
}

function secretsWorkspace(): string {
  const dir = workspace({
    '.project_root': '',
    's3_aksk.env': `# credentials\nTOS_BUCKET_SECRET_KEY=${secrets.credentials}\nTOS_BUCKET_REGION=cn-north\n`,
    'check.sh': [
      'h() { printf %s "$1" | sha256sum | cut -c1-64; }',
      'echo "api=$API_TOKEN pw=$DB_PASSWORD cred=$TOS_BUCKET_SECRET_KEY ambient=$MY_API_TOKEN"',
      'echo "params=$GP_PARAMS"',
      'echo "on stderr: $API_TOKEN" >&2',
      `printf '{"api":"%s","pw":"%s","cred":"%s"}' "$(h "$API_TOKEN")" "$(h "$DB_PASSWORD")" "$(h "$TOS_BUCKET_SECRET_KEY")" > "$GP_RESULT_FILE"`,
    ].join('\n'),
    'stages.ts': [
      'type Context = { params: Record<string, unknown>; log: { info(m: string): void } };',
      'export function leak(context: Context): never {',
      '  context.log.info(`using ${String(context.params.token)}`);',
      '  throw new Error(`the service refused ${String(context.params.token)}`);',
      '}',
    ].join('\n'),
    'pipeline.yaml': [
      'pipeline:',
      '  name: secrets',
      '  execution: {failure_policy: collect_all}',
      '  modules:',
      '    - name: check',
      '      command: [sh, check.sh]',
      `      params: {token: "${encoded}"}`,
      '      env:',
      `        API_TOKEN: "${encoded}"`,
      '        DB_PASSWORD: "${PW_VAR}"',
      '    - name: dying',
      '      command: [sh, -c, "echo dying with $API_TOKEN; exit 4"]',
      `      env: {API_TOKEN: "${encoded}"}`,
      '    - name: thrower',
      '      script: "stages.ts:leak"',
      `      params: {token: "${encoded}"}`,
    ].join('\n'),
  });
  return dir;
}

const env = { PW_VAR: secrets.interpolated, MY_API_TOKEN: secrets.ambient };

/** The workspace's pipeline run with the secrets, plain and then with --json: each fails (3). */
async function runFailing(dir: string) {
  const plain = await gpipe(['run', 'pipeline.yaml'], dir, env);
  assert.equal(plain.code, 3, plain.stderr);
  const json = await gpipe(['run', 'pipeline.yaml', '--json', '--no-cache'], dir, env);
  assert.equal(json.code, 3, json.stderr);
  return { plain, json };
}

test('a seeded secret reaches its stage and appears in no output, log, store row or export', async () => {
  const dir = secretsWorkspace();
  const { plain, json } = await runFailing(dir);
  const status = await gpipe(['status', '--json'], dir);
  const runs = await gpipe(['runs'], dir);
  const show = await gpipe(['show', jsonEvents(json.stdout)[0]!.runId as string, 'check'], dir);

  // The stage ran with the real values: their hashes came back as its output.
  assert.deepEqual(JSON.parse(show.stdout).data.api, sha256(secrets.base64), show.stderr);
  assert.deepEqual(JSON.parse(show.stdout).data.pw, sha256(secrets.interpolated));
  assert.deepEqual(JSON.parse(show.stdout).data.cred, sha256(secrets.credentials));

  const hit = await gpipe(['explain', 'pipeline.yaml', 'check'], dir, env);
  assert.match(hit.stdout, /^check would hit the cache/, hit.stderr);
  const rotated = { ...env, PW_VAR: 'rotated-password-Hy8' };
  const miss = await gpipe(['explain', 'pipeline.yaml', 'check'], dir, rotated);
  assert.match(miss.stdout, /^check would run: its cache key changed/, miss.stderr);
  assert.match(miss.stdout, /^ {2}- a secret value changed \(it is masked\)$/m);
  assert.ok(!miss.stdout.includes('rotated-password-Hy8'));
  const dryHit = await gpipe(['run', 'pipeline.yaml', '--dry-run'], dir, env);
  assert.match(dryHit.stdout, /^ {2}check +cached +cache hit/m, dryHit.stderr);
  const dryMiss = await gpipe(['run', 'pipeline.yaml', '--dry-run'], dir, rotated);
  assert.match(dryMiss.stdout, /^ {2}check +run +runs: a secret value changed \(it is masked\)$/m);

  const outputs = [plain, json, status, runs, show, hit, miss, dryHit, dryMiss].flatMap((r) => [
    r.stdout,
    r.stderr,
  ]);
  assertNowhere(dir, outputs);

  // …and was masked, not dropped.
  const log = readFileSync(join(dir, '.gpipe', 'latest', 'check', 'stage.log'), 'utf8');
  assert.match(log, / stdout \| api=\*\*\* pw=\*\*\* cred=\*\*\* ambient=\*\*\*$/m);
  assert.match(log, / stdout \| params=\{"token":"\*\*\*"\}$/m);
  assert.match(log, / stderr \| on stderr: \*\*\*$/m);
  const thrower = readFileSync(join(dir, '.gpipe', 'latest', 'thrower', 'stage.log'), 'utf8');
  assert.match(thrower, / INFO using \*\*\*$/m);
  // The pipeline log names the failures, their secrets masked too (assertNowhere read it whole).
  const pipelineLog = readFileSync(join(dir, '.gpipe', 'latest', 'pipeline.log'), 'utf8');
  assert.match(pipelineLog, /\| ERROR {4}\| stage \S+ failed.*\*\*\*/);
  assert.match(plain.stdout, /dying with \*\*\*/);
  assert.match(plain.stdout, /the service refused \*\*\*/);
  const failed = jsonEvents(json.stdout).filter(
    (e) => e.event === 'stage_finished' && e.status === 'failed',
  );
  assert.deepEqual(
    failed
      .map((e) => [e.stage, (e.error as { message: string }).message.replace(/\n[\s\S]*/, '')])
      .sort(),
    [
      ['dying', 'command exited with code 4; last output:'],
      ['thrower', 'the service refused ***'],
    ],
  );
  assert.match(status.stdout, /the service refused \*\*\*/);
});

/** A module stage that logs, prints and throws with its token: in a worker thread and process. */
function workerSecretsWorkspace(): string {
  return workspace({
    '.project_root': '',
    'stages.ts': [
      "import { writeSync } from 'node:fs';",
      "import { isMainThread } from 'node:worker_threads';",
      'type Context = { params: Record<string, unknown>; log: { info(m: string): void } };',
      'export function leak(context: Context): never {',
      '  const token = String(context.params.token);',
      '  context.log.info(`using ${token}`);',
      '  console.log(`printed ${token}`);',
      '  console.error(`complained ${token}`);',
      // Past the worker's capture, to the pipe the orchestrator reads (a process worker's only).
      '  if (isMainThread) writeSync(2, `raw ${token}\\n`);',
      '  throw new Error(`the service refused ${token}`);',
      '}',
    ].join('\n'),
    'pipeline.yaml': [
      'pipeline:',
      '  name: worker-secrets',
      '  execution: {failure_policy: collect_all}',
      '  modules:',
      ...['thread', 'process'].flatMap((worker) => [
        `    - name: in-${worker}`,
        '      script: "stages.ts:leak"',
        `      worker: ${worker}`,
        `      params: {token: "${encoded}"}`,
      ]),
    ].join('\n'),
  });
}

test('a module stage in a worker thread or process has its log, prints and stack masked', async () => {
  const dir = workerSecretsWorkspace();
  const { plain, json } = await runFailing(dir);
  // Each stage's log is masked, not dropped…
  for (const stage of ['in-thread', 'in-process']) {
    const log = readFileSync(join(dir, '.gpipe', 'latest', stage, 'stage.log'), 'utf8');
    assert.ok(!log.includes(secrets.base64), `${stage}:\n${log}`);
    assert.match(log, / stdout \| INFO using \*\*\*$/m, stage);
    assert.match(log, / stdout \| printed \*\*\*$/m, stage);
    assert.match(log, / stderr \| complained \*\*\*$/m, stage);
    assert.match(log, / stderr \| Error: the service refused \*\*\*$/m, stage);
    assert.match(plain.stdout, new RegExp(`${stage}: the service refused \\*\\*\\*`));
  }
  // …and the secret is nowhere else either (the run store, the terminal, --json events).
  assertNowhere(dir, [plain.stdout, plain.stderr, json.stdout, json.stderr]);
});

test('the audit export holds the resolved config with secrets masked, on run only', async () => {
  const dir = secretsWorkspace();
  const dry = await gpipe(['run', 'pipeline.yaml', '--dry-run'], dir, env);
  assert.equal(dry.code, 0, dry.stderr);
  const validate = await gpipe(['validate', 'pipeline.yaml'], dir, env);
  assert.equal(validate.code, 0, validate.stderr);
  assert.equal(existsSync(join(dir, '.gpipe', 'integration')), false);

  const run = await gpipe(
    ['run', 'pipeline.yaml', '--set', 'pipeline.modules.dying.env.EXTRA=${PW_VAR}'],
    dir,
    env,
  );
  assert.equal(run.code, 3, run.stderr);
  const exported = readdirSync(join(dir, '.gpipe', 'integration'));
  assert.equal(exported.length, 1);
  assert.match(exported[0]!, /^secrets_\d{8}T\d{9}Z\.yaml$/);
  const text = readFileSync(join(dir, '.gpipe', 'integration', exported[0]!), 'utf8');
  assert.match(text, /API_TOKEN: "\*\*\*"/);
  assert.match(text, /DB_PASSWORD: "\*\*\*"/);
  assert.match(text, /EXTRA: "\*\*\*"/, 'a --set value from a secret variable');
  assert.match(text, /token: "\*\*\*"/);
  assert.match(text, /failure_policy: collect_all/);
  assert.ok(!text.includes('base64://'), 'values are exported decoded (and masked)');
  assertNowhere(dir, [run.stdout, run.stderr]);
});

test('without secrets nothing is masked and the log is written as before', async () => {
  const dir = workspace({
    'pipeline.yaml': [
      'pipeline:',
      '  name: open',
      '  modules:',
      '    - {name: a, command: [echo, "public words"]}',
    ].join('\n'),
  });
  const run = await gpipe(['run', 'pipeline.yaml'], dir, { SOME_FLAG_KEY: 'on' });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    readFileSync(join(dir, '.gpipe', 'latest', 'a', 'stage.log'), 'utf8').replace(/^\S+Z /, ''),
    'stdout | public words\n',
  );
});

test('the live view on a terminal masks secrets too', async () => {
  const dir = secretsWorkspace();
  // util-linux `script` gives the run a pseudo-terminal; -e passes the exit code on.
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(gpipeBin)} run pipeline.yaml`;
  const cli = new CliProcess('script', ['-qfec', command, '/dev/null'], {
    cwd: dir,
    env: { ...env, TERM: 'xterm' },
  });
  const { code, stdout, stderr } = await cli.finished;
  assert.equal(code, 3, stdout + stderr);
  const text = stripAnsi(stdout).replaceAll('\r', '');
  assert.match(text, /✗ dying failed \(exit 4, .*dying with \*\*\*/);
  assertNowhere(dir, [stdout, stderr]);
});

test('an error message quoting a secret value shows it masked', async () => {
  const dir = secretsWorkspace();
  const wrong = await gpipe(
    ['validate', 'pipeline.yaml', '--set', `pipeline.execution.mode=${encoded}`],
    dir,
    env,
  );
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^--set pipeline\.execution\.mode: .*got "\*\*\*"$/m);
  assertNowhere(dir, [wrong.stdout, wrong.stderr]);
});
