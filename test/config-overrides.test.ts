// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text, not templates
// Override layers on real files: merge order, --set, interpolation, base64, where errors point.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readConfigDocument } from '../src/config/config-document.ts';
import {
  applyConfigLayers,
  overrideFileList,
  type ResolvedConfig,
} from '../src/config/config-layers.ts';
import { loadPipeline } from '../src/config/load-pipeline.ts';
import { ConfigError, type ConfigIssue, InputError } from '../src/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'gpipe-overrides-'));
after(() => rmSync(root, { recursive: true, force: true }));

function file(name: string, lines: readonly string[]): string {
  const path = join(root, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const basePipeline = file('pipeline.yaml', [
  'pipeline:',
  '  name: base',
  '  execution:',
  '    mode: parallel',
  '    failure_policy: fail_fast',
  '  resources:',
  '    max_cpus: 2',
  '  modules:',
  '    - name: load',
  '      command: [echo, load]',
  '      timeout: 1m',
  '    - name: train',
  '      command: [echo, train]',
  '      depends_on: [load]',
  '      env: {MODE: base, KEEP: kept}',
]);

function resolve(
  overrideFiles: string[],
  sets: string[] = [],
  env: Record<string, string> = {},
): ResolvedConfig {
  return applyConfigLayers(readConfigDocument(basePipeline), { overrideFiles, sets, env });
}

function issuesOf(run: () => unknown): ConfigIssue[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  assert.fail('expected a ConfigError');
}

async function loadIssues(
  overrideFiles: string[],
  sets: string[] = [],
  env: Record<string, string> = {},
): Promise<ConfigIssue[]> {
  try {
    await loadPipeline(basePipeline, { layers: { overrideFiles, sets, env }, hostCpus: 4 });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  assert.fail('expected a ConfigError');
}

test('layers merge in order: tables key by key, lists and scalars replaced, the last one wins', () => {
  const first = file('first.yaml', [
    'pipeline:',
    '  execution: {mode: sequential}',
    '  resources: {max_cpus: 3}',
    '  modules:',
    '    train:',
    '      env: {MODE: first, ADDED: yes}',
    '      depends_on: []',
  ]);
  const second = file('second.toml', [
    '[pipeline.resources]',
    'max_cpus = 4',
    '[pipeline.modules.train.env]',
    'MODE = "second"',
  ]);
  const { config } = resolve(
    [first, second],
    ['pipeline.modules.load.timeout=5m', 'pipeline.resources.max_cpus=6'],
  );
  const pipeline = (config as { pipeline: Record<string, unknown> }).pipeline;
  assert.deepEqual(pipeline.execution, { mode: 'sequential', failure_policy: 'fail_fast' });
  assert.deepEqual(pipeline.resources, { max_cpus: 6 }, '--set comes after every file');
  assert.deepEqual(pipeline.modules, [
    { name: 'load', command: ['echo', 'load'], timeout: '5m' },
    {
      name: 'train',
      command: ['echo', 'train'],
      depends_on: [],
      env: { MODE: 'second', KEEP: 'kept', ADDED: 'yes' },
    },
  ]);
});

test('a list item is addressed by index as well as by name; a whole list is replaced', () => {
  const { config } = resolve(
    [],
    ['pipeline.modules.1.timeout=30', 'pipeline.modules.0.command=["true"]'],
  );
  const modules = (config as { pipeline: { modules: Record<string, unknown>[] } }).pipeline.modules;
  assert.equal(modules[1]!.timeout, 30, 'JSON values are parsed');
  assert.deepEqual(modules[0]!.command, ['true']);
  const replaced = resolve([
    file('list.yaml', ['pipeline:', '  modules: [{name: only, command: [echo]}]']),
  ]);
  assert.deepEqual((replaced.config as { pipeline: { modules: unknown[] } }).pipeline.modules, [
    { name: 'only', command: ['echo'] },
  ]);
});

test('--set: JSON when it parses, else text; a quoted number stays text', () => {
  const { config } = resolve(
    [],
    [
      'pipeline.name=5m',
      'pipeline.resources.max_cpus=2.5',
      'pipeline.checkpoint={"enabled":true}',
      'pipeline.modules.load.version="7"',
      'pipeline.modules.train.env.URL=http://x/?a=b',
    ],
  );
  const pipeline = (config as { pipeline: Record<string, unknown> }).pipeline;
  assert.equal(pipeline.name, '5m');
  assert.deepEqual(pipeline.resources, { max_cpus: 2.5 });
  assert.deepEqual(pipeline.checkpoint, { enabled: true });
  const [load, train] = pipeline.modules as Record<string, unknown>[];
  assert.equal(load!.version, '7');
  assert.equal((train!.env as Record<string, string>).URL, 'http://x/?a=b');
  assert.deepEqual(
    issuesOf(() => resolve([], ['__proto__.polluted=1', 'pipeline.__proto__={"polluted":1}'])).map(
      (issue) => issue.message,
    ),
    ["'__proto__' is not allowed as a key", "'__proto__' is not allowed as a key"],
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.throws(() => resolve([], ['pipeline.name']), InputError);
  assert.throws(() => resolve([], ['pipeline..name=x']), /empty part/);
});

test('an unknown key in an override is a schema error in the override file, at its line and column', async () => {
  const yamlOverride = file('typo.yaml', ['pipeline:', '  execution:', '    mdoe: sequential']);
  const tomlOverride = file('typo.toml', [
    '[pipeline]',
    'name = "x"',
    '',
    '[pipeline.resources]',
    'max_cpu = 3',
  ]);
  const issues = await loadIssues([yamlOverride, tomlOverride]);
  assert.deepEqual(issues, [
    {
      message: "unknown key 'mdoe' in execution",
      file: yamlOverride,
      line: 3,
      column: 5,
      hint: "did you mean 'mode'?",
    },
    {
      message: "unknown key 'max_cpu' in resources",
      file: tomlOverride,
      line: 5,
      column: 1,
      hint: "did you mean 'max_cpus'?",
    },
  ]);
});

test('a bad value from --set or an override is reported there, not in the pipeline file', async () => {
  const badTimeout = file('timeout.yaml', [
    'pipeline:',
    '  modules:',
    '    load:',
    '      timeout: soon',
  ]);
  const issues = await loadIssues([badTimeout], ['pipeline.execution.mode=sideways']);
  const where = issues.map(({ file, line, column }) => ({ file, line, column }));
  assert.deepEqual(where, [
    { file: '--set pipeline.execution.mode', line: undefined, column: undefined },
    { file: badTimeout, line: 4, column: 16 },
  ]);
});

test('an override naming a module that does not exist is an error with a suggestion', () => {
  const issues = issuesOf(() =>
    resolve([file('nomodule.yaml', ['pipeline:', '  modules:', '    trian: {timeout: 5}'])]),
  );
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.message, "no item 'trian' in pipeline.modules");
  assert.equal(issues[0]!.hint, "did you mean 'train'?");
  assert.equal(issues[0]!.line, 3);
  const byIndex = issuesOf(() => resolve([], ['pipeline.modules.5.timeout=1']));
  assert.equal(byIndex[0]!.hint, 'the list has 2 items');
});

test('${VAR} is interpolated from the environment; an unset one is an error where it was written', () => {
  const withVars = file('vars.yaml', [
    'pipeline:',
    '  modules:',
    '    train:',
    '      env: {DATA: "${DATA_DIR}/x", LEVEL: "${LEVEL:-info}", LITERAL: "$${DATA_DIR}"}',
  ]);
  const { config } = resolve([withVars], [], { DATA_DIR: '/data' });
  const train = (config as { pipeline: { modules: { env?: unknown }[] } }).pipeline.modules[1]!;
  assert.deepEqual(train.env, {
    MODE: 'base',
    KEEP: 'kept',
    DATA: '/data/x',
    LEVEL: 'info',
    LITERAL: '${DATA_DIR}',
  });

  const issues = issuesOf(() => resolve([withVars], ['pipeline.name=${NAME_VAR}']));
  assert.deepEqual(
    issues.map(({ file, line, message }) => ({ file, line, message })),
    [
      {
        file: '--set pipeline.name',
        line: undefined,
        message: "pipeline.name: environment variable 'NAME_VAR' is not set",
      },
      {
        file: withVars,
        line: 4,
        message: "pipeline.modules.1.env.DATA: environment variable 'DATA_DIR' is not set",
      },
    ],
  );
});

test('base64:// values are decoded and count as secrets; a bad one is an error at its place', () => {
  const encoded = file('encoded.yaml', [
    'pipeline:',
    '  modules:',
    '    train:',
    '      env:',
    '        PLAIN: "base64://aGVsbG8gd29ybGQ="',
    '        BROKEN: "base64://not base64!"',
  ]);
  const issues = issuesOf(() => resolve([encoded]));
  assert.deepEqual(
    issues.map(({ file, line, column, message }) => ({ file, line, column, message })),
    [
      {
        file: encoded,
        line: 6,
        column: 17,
        message: 'pipeline.modules.1.env.BROKEN: not valid Base64 after base64://',
      },
    ],
  );
  const good = file('good.yaml', [
    'pipeline:',
    '  modules:',
    '    train:',
    '      env: {PLAIN: "base64://aGVsbG8gd29ybGQ="}',
  ]);
  const resolved = resolve([good]);
  const train = (resolved.config as { pipeline: { modules: { env: Record<string, string> }[] } })
    .pipeline.modules[1]!;
  assert.equal(train.env.PLAIN, 'hello world');
  assert.deepEqual(resolved.secrets, ['hello world']);
});

test('secrets: values of secret-named keys and variables, and of the credentials file', () => {
  const resolved = applyConfigLayers(readConfigDocument(basePipeline), {
    sets: [
      'pipeline.modules.train.env.API_TOKEN=tok-literal-123',
      'pipeline.modules.train.env.FROM_ENV=${DB_PASSWORD}',
      'pipeline.modules.train.env.FROM_FILE=${BUCKET_ENDPOINT}',
      'pipeline.modules.train.env.HARMLESS=${HOME_DIR}',
      'pipeline.modules.train.env.PIN_KEY=12345678',
      'pipeline.modules.train.env.PORT=12345679',
    ],
    env: { DB_PASSWORD: 'pw-from-env', HOME_DIR: '/home/me' },
    credentials: { BUCKET_ENDPOINT: 'https://tos.example', DB_PASSWORD: 'overridden-by-env' },
  });
  assert.deepEqual(resolved.secrets.sort(), [
    '12345678',
    'https://tos.example',
    'pw-from-env',
    'tok-literal-123',
  ]);
});

test('command texts are left as written: the shell expands ${VAR} from the environment itself', () => {
  const commands = file('commands.yaml', [
    'pipeline:',
    '  modules:',
    '    load: {command: "echo ${UNSET_VAR} $(date)", shell: true}',
    '    train: {command: [sh, -c, "echo ${UNSET_VAR}", "base64://aGk="]}',
  ]);
  const { config } = resolve([commands]);
  const modules = (config as { pipeline: { modules: { command: unknown }[] } }).pipeline.modules;
  assert.equal(modules[0]!.command, 'echo ${UNSET_VAR} $(date)');
  assert.deepEqual(modules[1]!.command, ['sh', '-c', 'echo ${UNSET_VAR}', 'base64://aGk=']);
});

test('PIPELINE_CONFIG_OVERRIDE_S3_PATH comes first, then --override files; object storage is refused', () => {
  assert.deepEqual(
    overrideFileList(
      ['b.yaml', '/abs/c.toml'],
      { PIPELINE_CONFIG_OVERRIDE_S3_PATH: 'a.toml' },
      '/work',
    ),
    ['/work/a.toml', '/work/b.yaml', '/abs/c.toml'],
  );
  assert.deepEqual(overrideFileList([], { PIPELINE_CONFIG_OVERRIDE_S3_PATH: '' }, '/w'), []);
  assert.throws(
    () =>
      overrideFileList([], { PIPELINE_CONFIG_OVERRIDE_S3_PATH: 'tos://bucket/prod.toml' }, '/w'),
    (error: Error) =>
      error instanceof InputError &&
      /object storage URIs arrive with the storage issue/.test(error.message),
  );
  assert.throws(() => resolve([join(root, 'missing.yaml')]), /no such file: .*missing\.yaml/);
  assert.throws(() => resolve([file('x.json', ['{}'])]), /must end in \.toml, \.yaml or \.yml/);
  const broken = file('broken.toml', ['[pipeline', 'x = 1']);
  assert.deepEqual(
    issuesOf(() => resolve([broken])).map(({ file, line }) => ({ file, line })),
    [{ file: broken, line: 1 }],
  );
});

test('a base assembled from several files (TOML pipeline, nodes, operators) names the right file', () => {
  const pipelineToml = file('assembled.toml', [
    '[pipeline]',
    'pipeline_id = "p"',
    'work_dir = "${WORK:-/w}"',
  ]);
  const operatorToml = file('op_v1.0.toml', ['operator_id = "op"', '', 'git_tag = "${GIT_TAG}"']);
  const top = readConfigDocument(pipelineToml);
  const operator = readConfigDocument(operatorToml);
  const isOperator = (path: readonly (string | number)[]) => path[0] === 'operators';
  const base = {
    file: pipelineToml,
    value: { ...(top.value as object), operators: [operator.value] },
    at: (path: readonly (string | number)[]) =>
      isOperator(path) ? operator.at(path.slice(2)) : top.at(path),
    keyAt: (path: readonly (string | number)[], key: string) =>
      isOperator(path) ? operator.keyAt(path.slice(2), key) : top.keyAt(path, key),
    fileOf: (path: readonly (string | number)[]) =>
      isOperator(path) ? operatorToml : pipelineToml,
  };
  const issues = issuesOf(() => applyConfigLayers(base, { env: {} }));
  assert.deepEqual(issues, [
    {
      message: "operators.0.git_tag: environment variable 'GIT_TAG' is not set",
      file: operatorToml,
      line: 3,
      column: 11, // the value, "${GIT_TAG}"
      hint: 'set it, or give a default: ${GIT_TAG:-value}',
    },
  ]);
  const resolved = applyConfigLayers(base, {
    env: { GIT_TAG: 'v2' },
    sets: ['operators.op.git_tag=v3'],
  });
  assert.deepEqual(resolved.config, {
    pipeline: { pipeline_id: 'p', work_dir: '/w' },
    operators: [{ operator_id: 'op', git_tag: 'v3' }],
  });
});
