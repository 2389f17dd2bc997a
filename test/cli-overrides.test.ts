// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text, not templates
// `--override`, `--set`, PIPELINE_CONFIG_OVERRIDE_S3_PATH, encode / decode / schema through the
// real CLI, with their exit codes; and no shell injection through any config value (SPEC H3).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CliProcess, gpipe, gpipeBin, repoRoot, workspaces } from './fixtures/cli/harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const dir = workspaces();

const pipelineYaml = yamlPipeline('base', [
  '- name: write',
  '  command: [sh, -c, "printf %s \\"$WORDS\\" > words.txt"]',
  '  env: {WORDS: "from the base"}',
]);

test('--override files and --set apply in order on run and validate', async () => {
  const cwd = dir({
    'pipeline.yaml': pipelineYaml,
    'env-layer.toml': '[pipeline]\nname = "from-env-layer"\n',
    'first.yaml':
      'pipeline:\n  name: from-first\n  modules:\n    write:\n      env: {WORDS: "from first"}\n',
    'second.toml': '[pipeline.modules.write.env]\nWORDS = "from second"\n',
  });
  const envLayer = { PIPELINE_CONFIG_OVERRIDE_S3_PATH: 'env-layer.toml' };
  const validated = await gpipe(['validate', 'pipeline.yaml'], cwd, envLayer);
  assert.equal(validated.code, 0, validated.stderr);
  assert.match(validated.stdout, /pipeline 'from-env-layer' is valid/);
  const overridden = await gpipe(
    ['validate', 'pipeline.yaml', '--override', 'first.yaml'],
    cwd,
    envLayer,
  );
  assert.match(
    overridden.stdout,
    /pipeline 'from-first' is valid/,
    'an --override comes after the variable',
  );

  const run = await gpipe(
    [
      'run',
      'pipeline.yaml',
      '--override',
      'first.yaml',
      '--override',
      'second.toml',
      '--set',
      'pipeline.name=set-name',
    ],
    cwd,
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /pipeline 'set-name'/);
  assert.equal(readFileSync(join(cwd, 'words.txt'), 'utf8'), 'from second');
  const runJson = JSON.parse(readFileSync(join(cwd, '.gpipe', 'latest', 'run.json'), 'utf8'));
  assert.deepEqual(runJson.options, {
    override: ['first.yaml', 'second.toml'],
    set: ['pipeline.name'],
  });

  const set = await gpipe(
    ['run', 'pipeline.yaml', '--set', 'pipeline.modules.write.env.WORDS=from set'],
    cwd,
  );
  assert.equal(set.code, 0, set.stderr);
  assert.equal(readFileSync(join(cwd, 'words.txt'), 'utf8'), 'from set');
});

test('a number an override sets is the number the stage gets, in env, argv and version', async () => {
  const cwd = dir({
    'pipeline.yaml': yamlPipeline('numbers', [
      '- name: train',
      '  command: [sh, -c, \'printf "%s %s" "$1" "$LR" > got.txt\', sh, 10]',
      '  env: { LR: 0.10 }',
      '  version: 1.0',
    ]),
    'more.yaml':
      'pipeline:\n  modules:\n    train:\n      command: [sh, -c, \'printf "%s %s" "$1" "$LR" > got.txt\', sh, 30]\n',
  });
  const base = await gpipe(['run', 'pipeline.yaml'], cwd);
  assert.equal(base.code, 0, base.stderr);
  assert.equal(readFileSync(join(cwd, 'got.txt'), 'utf8'), '10 0.10', 'as the file wrote them');
  const set = await gpipe(
    [
      'run',
      'pipeline.yaml',
      '--set',
      'pipeline.modules.train.env.LR=0.5',
      '--override',
      'more.yaml',
    ],
    cwd,
  );
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /1 succeeded/, 'a new key: not the cached output');
  assert.equal(readFileSync(join(cwd, 'got.txt'), 'utf8'), '30 0.5');
  const version = await gpipe(
    ['run', 'pipeline.yaml', '--set', 'pipeline.modules.train.version=2'],
    cwd,
  );
  assert.equal(version.code, 0, version.stderr);
  const output = JSON.parse(
    readFileSync(join(cwd, '.gpipe', 'latest', 'train', 'output.json'), 'utf8'),
  );
  assert.equal(output._meta.version, '2');
});

test('bad overrides: each error names its file (and line and column) and exits as documented', async () => {
  const cwd = dir({
    'pipeline.yaml': pipelineYaml,
    'typo.yaml': 'pipeline:\n  modules:\n    write:\n      timeuot: 5m\n',
    'unset.yaml': 'pipeline:\n  modules:\n    write:\n      env: {WORDS: "${NOT_SET_ANYWHERE}"}\n',
  });
  const typo = await gpipe(['validate', 'pipeline.yaml', '--override', 'typo.yaml'], cwd);
  assert.equal(typo.code, 1);
  assert.equal(
    typo.stderr,
    "typo.yaml:4:7: module 'write': unknown key 'timeuot' (hint: did you mean 'timeout'?)\ngpipe: 1 problem in typo.yaml\n",
  );
  const unset = await gpipe(['run', 'pipeline.yaml', '--override', 'unset.yaml'], cwd);
  assert.equal(unset.code, 1);
  assert.match(
    unset.stderr,
    /^unset\.yaml:4:20: pipeline\.modules\.0\.env\.WORDS: environment variable 'NOT_SET_ANYWHERE' is not set \(hint: set it, or give a default: \$\{NOT_SET_ANYWHERE:-value\}\)$/m,
  );
  const missing = await gpipe(['run', 'pipeline.yaml', '--override', 'nowhere.toml'], cwd);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^gpipe: no such file: .*nowhere\.toml$/m);
  const storage = await gpipe(['validate', 'pipeline.yaml'], cwd, {
    PIPELINE_CONFIG_OVERRIDE_S3_PATH: 'tos://config-bucket/prod-override.toml',
  });
  assert.equal(storage.code, 2);
  assert.equal(
    storage.stderr,
    'gpipe: cannot read the override tos://config-bucket/prod-override.toml: object storage URIs arrive with the storage issue; give a local path\n',
  );
  const badSet = await gpipe(['validate', 'pipeline.yaml', '--set', 'pipeline.name'], cwd);
  assert.equal(badSet.code, 2);
  assert.match(badSet.stderr, /--set pipeline\.name: expected KEY\.PATH=VALUE/);
  const api = JSON.stringify(join(repoRoot, 'src', 'index.ts'));
  writeFileSync(
    join(cwd, 'typed.ts'),
    `import { pipeline, stage } from ${api};\nexport default pipeline('typed', [stage('a', () => 1)]);\n`,
  );
  const typed = await gpipe(['validate', 'typed.ts', '--set', 'pipeline.name=x'], cwd);
  assert.equal(typed.code, 2);
  assert.match(typed.stderr, /overrides and --set apply to YAML and TOML pipelines/);
  const wrongType = await gpipe(
    ['validate', 'pipeline.yaml', '--set', 'pipeline.execution.mode=3'],
    cwd,
  );
  assert.equal(wrongType.code, 1);
  assert.match(wrongType.stderr, /^--set pipeline\.execution\.mode: /m);
  assert.ok(
    !/\n\s+at /.test(typo.stderr + unset.stderr + missing.stderr + wrongType.stderr),
    'no stack trace',
  );
});

test('encode and decode round-trip, as gpipe and as pipeline-cli; a bad value exits 2', async () => {
  const cwd = dir({});
  const alias = join(cwd, 'pipeline-cli');
  symlinkSync(gpipeBin, alias);
  const seedExample = new CliProcess(process.execPath, [alias, 'encode', 'my_secret_access_key'], {
    cwd,
  });
  seedExample.child.stdin!.end();
  const encoded = await seedExample.finished;
  assert.equal(encoded.code, 0, encoded.stderr);
  assert.equal(encoded.stdout, 'base64://bXlfc2VjcmV0X2FjY2Vzc19rZXk=\n');
  for (const text of ['ünï cødé ✓', 'a b;c $(x) `y`']) {
    const there = await gpipe(['encode', text], cwd);
    const back = await gpipe(['decode', there.stdout.trim()], cwd);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, `${text}\n`);
  }
  const bad = await gpipe(['decode', 'base64://%%%'], cwd);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    "gpipe: cannot decode 'base64://%%%': not valid Base64 after base64://\n",
  );
  const missing = await gpipe(['encode'], cwd);
  assert.equal(missing.code, 2);
});

test('gpipe schema prints the JSON Schema of the YAML format; an unknown kind exits 2', async () => {
  const cwd = dir({});
  const printed = await gpipe(['schema'], cwd);
  assert.equal(printed.code, 0, printed.stderr);
  const schema = JSON.parse(printed.stdout);
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.deepEqual(schema.required, ['pipeline']);
  const explicit = await gpipe(['schema', 'yaml'], cwd);
  assert.equal(explicit.stdout, printed.stdout);
  const unknown = await gpipe(['schema', 'json'], cwd);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr.trim().split('\n').length, 1, unknown.stderr);
});

test('no shell injection: values with $(…), backticks and ; travel as data and run nothing', async () => {
  const evil = 'a$(touch pwned-subst)b`touch pwned-backtick`c; touch pwned-semicolon; echo "d';
  const cwd = dir({
    'pipeline.yaml': yamlPipeline('injection', [
      '- name: shell_text',
      '  command: printf %s "${EVIL}" > via-shell.txt; printf %s "$FROM_CONFIG" > via-env.txt',
      '  shell: true',
      '  env: {FROM_CONFIG: "${EVIL}"}',
      '- name: argv',
      '  command: [sh, -c, "printf %s \\"$GP_PARAMS\\" > via-params.txt; printf %s \\"$1\\" > via-argv.txt", sh, "${EVIL}"]',
      '  params: {value: "${EVIL}"}',
      '- name: set',
      '  command: [sh, -c, "printf %s \\"$SET_VALUE\\" > via-set.txt"]',
    ]),
  });
  const run = await gpipe(
    [
      'run',
      'pipeline.yaml',
      '--set',
      `pipeline.modules.set.env={"SET_VALUE": ${JSON.stringify(evil)}}`,
    ],
    cwd,
    { EVIL: evil },
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const written = (name: string) => readFileSync(join(cwd, name), 'utf8');
  assert.equal(written('via-shell.txt'), evil, 'the shell expanded ${EVIL} as data');
  assert.equal(written('via-env.txt'), evil);
  assert.deepEqual(JSON.parse(written('via-params.txt')), { value: evil });
  assert.equal(written('via-argv.txt'), '${EVIL}', 'a command text is never interpolated');
  assert.equal(written('via-set.txt'), evil);
  const found = readdirSync(cwd, { recursive: true, encoding: 'utf8' }).filter((name) =>
    name.includes('pwned'),
  );
  assert.deepEqual(found, []);
});
