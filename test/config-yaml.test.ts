import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pipelineJsonSchema } from '../src/config/json-schema.ts';
import { loadPipeline } from '../src/config/load-pipeline.ts';
import { defaultRetryPolicy, type PipelineSpec, type StageSpec } from '../src/graph/pipeline.ts';
import { loadLines } from './fixtures/config/temp-pipeline.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'config');

test('a pipeline using every key loads to the exact PipelineSpec', async () => {
  const dir = join(fixtures, 'full');
  const file = join(dir, 'pipeline.yaml');
  const expected: PipelineSpec = {
    name: 'full_example',
    mode: 'sequential',
    failurePolicy: 'collect_all',
    maxCpus: 4,
    maxMemoryMb: 16384,
    maxGpus: 0,
    maxNestedDepth: 3,
    checkpoint: { enabled: true, directory: join(dir, 'checkpoints') },
    source: file,
    stages: [
      {
        name: 'load',
        dependsOn: [],
        cpus: 0.5,
        gpus: 0,
        version: '1.0',
        task: {
          kind: 'module',
          file: join(dir, 'stages.ts'),
          exportName: 'load',
          style: 'function',
          worker: 'process',
        },
      },
      {
        name: 'train',
        dependsOn: ['load'],
        cpus: 2,
        timeoutMs: 300_000,
        retry: {
          maxAttempts: 3,
          backoff: 'fixed',
          delayMs: 2000,
          maxDelayMs: 90_000,
          jitter: 0,
          retryOn: ['TIMEOUT', 75],
        },
        fallback: 'train_backup',
        task: {
          kind: 'module',
          file: join(dir, 'stages.ts'),
          exportName: 'Trainer',
          style: 'class',
          worker: 'process',
        },
      },
      {
        name: 'train_backup',
        dependsOn: [],
        cpus: 1,
        task: {
          kind: 'module',
          file: join(dir, 'lib', 'backup.mjs'),
          exportName: 'backup',
          style: 'function',
          worker: 'process',
        },
      },
      {
        name: 'report',
        dependsOn: ['train'],
        cpus: 1,
        memoryMb: 512,
        gpus: 0,
        memoryLimitMb: 1536,
        timeoutMs: 90_000,
        version: 'v2',
        task: {
          kind: 'command',
          argv: ['python3', 'report.py', '--top', '10', '1.50'],
          shell: false,
          cwd: join(dir, 'out'),
          env: { LEVEL: 'debug', PORT: '8080', RATIO: '1.50', VERBOSE: 'true' },
        },
      },
      {
        name: 'notify',
        dependsOn: ['report', 'load'],
        cpus: 1,
        cache: false,
        task: { kind: 'command', argv: ['echo "done" > done.txt'], shell: true, cwd: dir },
      },
    ],
  };
  assert.deepStrictEqual(await loadPipeline(file, { hostCpus: 8 }), expected);
});

test('a relative file name loads with source set to the absolute path', async () => {
  const relative = join('test', 'fixtures', 'config', 'full', 'pipeline.yaml');
  const spec = await loadPipeline(relative, { hostCpus: 8 });
  assert.equal(spec.source, resolve(relative));
});

test('defaults: parallel, fail_fast, one cpu, no retry, no checkpoint', async () => {
  const spec = await loadLines([
    'pipeline:',
    '  name: small',
    '  modules:',
    '    - {name: a, command: [true]}',
  ]);
  const stage: StageSpec = {
    name: 'a',
    dependsOn: [],
    cpus: 1,
    // Without `cwd`, a command runs beside its YAML file.
    task: { kind: 'command', argv: ['true'], shell: false, cwd: dirname(spec.source!) },
  };
  assert.deepStrictEqual(spec, {
    name: 'small',
    mode: 'parallel',
    failurePolicy: 'fail_fast',
    source: spec.source,
    stages: [stage],
  });
  assert.match(spec.source ?? '', /pipeline\.yaml$/);
});

test('durations: seconds, fractions, units and combinations', async () => {
  const timeouts = ['90', '1.5', '"90s"', '"250ms"', '"5m"', '"2h"', '"1h30m"', '"1d"'];
  const spec = await loadLines([
    'pipeline:',
    '  name: durations',
    '  modules:',
    ...timeouts.map((timeout, i) => `    - {name: s${i}, command: [true], timeout: ${timeout}}`),
  ]);
  assert.deepStrictEqual(
    spec.stages.map((stage) => stage.timeoutMs),
    [90_000, 1500, 90_000, 250, 300_000, 7_200_000, 5_400_000, 86_400_000],
  );
});

test('retry: unset keys take the defaults, set ones map to milliseconds', async () => {
  const spec = await loadLines([
    'pipeline:',
    '  name: retries',
    '  modules:',
    '    - name: a',
    '      command: [true]',
    '      retry: {max_attempts: 4}',
    '    - name: b',
    '      command: [true]',
    '      retry: {max_attempts: 2, delay: 0.25, max_delay: "10s", jitter: 0.5, retry_on: [EXIT_CODE, 3]}',
  ]);
  assert.deepStrictEqual(spec.stages[0]?.retry, { ...defaultRetryPolicy, maxAttempts: 4 });
  assert.deepStrictEqual(spec.stages[1]?.retry, {
    maxAttempts: 2,
    backoff: 'exponential',
    delayMs: 250,
    maxDelayMs: 10_000,
    jitter: 0.5,
    retryOn: ['EXIT_CODE', 3],
  });
});

test('a checkpoint block without enabled turns checkpoints on', async () => {
  const spec = await loadLines([
    'pipeline:',
    '  name: ck',
    '  checkpoint: {directory: state}',
    '  modules: [{name: a, command: [true]}]',
  ]);
  assert.deepStrictEqual(spec.checkpoint, {
    enabled: true,
    directory: join(dirname(spec.source!), 'state'),
  });
  const off = await loadLines([
    'pipeline:',
    '  name: ck',
    '  checkpoint: {enabled: false}',
    '  modules: [{name: a, command: [true]}]',
  ]);
  assert.deepStrictEqual(off.checkpoint, { enabled: false });
});

test('worker_type is accepted for every worker kind', async () => {
  for (const worker of ['inline', 'thread', 'process']) {
    const spec = await loadLines([
      'pipeline:',
      '  name: workers',
      `  execution: {worker_type: ${worker}, mode: waves}`,
      '  modules: [{name: a, command: [true]}]',
    ]);
    assert.equal(spec.mode, 'waves');
  }
});

test('anchors and merge keys share settings between modules', async () => {
  const spec = await loadLines([
    'pipeline:',
    '  name: shared',
    '  modules:',
    '    - &heavy',
    '      name: a',
    '      command: [true]',
    '      resources: {cpus: 3}',
    '      timeout: 1m',
    '    - <<: *heavy',
    '      name: b',
  ]);
  assert.deepStrictEqual(
    spec.stages.map((stage) => [stage.name, stage.cpus, stage.timeoutMs]),
    [
      ['a', 3, 60_000],
      ['b', 3, 60_000],
    ],
  );
});

test('module references resolve relative to the pipeline file, in any JS or TS flavour', async () => {
  const files = { 'src/a.ts': '', 'b.mts': '', 'c.js': '', 'd.cjs': '' };
  const spec = await loadLines(
    [
      'pipeline:',
      '  name: refs',
      '  modules:',
      '    - {name: a, script: "src/a.ts:run"}',
      '    - {name: b, path: "./b.mts:Stage"}',
      '    - {name: c, script: "c.js:default"}',
      '    - {name: d, path: "d.cjs:$Cls"}',
    ],
    files,
  );
  const dir = dirname(spec.source!);
  assert.deepStrictEqual(
    spec.stages.map((stage) => stage.task),
    [
      { kind: 'module', file: join(dir, 'src', 'a.ts'), exportName: 'run', style: 'function' },
      { kind: 'module', file: join(dir, 'b.mts'), exportName: 'Stage', style: 'class' },
      { kind: 'module', file: join(dir, 'c.js'), exportName: 'default', style: 'function' },
      { kind: 'module', file: join(dir, 'd.cjs'), exportName: '$Cls', style: 'class' },
    ],
  );
});

test('the JSON Schema is valid JSON describing modules and their keys', () => {
  const schema = JSON.parse(JSON.stringify(pipelineJsonSchema())) as {
    $schema: string;
    properties: {
      pipeline: {
        properties: {
          modules: {
            items: { properties: Record<string, unknown>; additionalProperties: boolean };
          };
        };
        required: string[];
      };
    };
  };
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  const pipeline = schema.properties.pipeline;
  assert.deepStrictEqual(pipeline.required, ['name', 'modules']);
  const module = pipeline.properties.modules.items;
  assert.equal(module.additionalProperties, false);
  assert.deepStrictEqual(Object.keys(module.properties).sort(), [
    'cache',
    'command',
    'concurrency',
    'cwd',
    'depends_on',
    'env',
    'environment',
    'fallback',
    'for_each',
    'heap_limit_mb',
    'name',
    'nested',
    'params',
    'path',
    'python',
    'resources',
    'retry',
    'script',
    'shell',
    'timeout',
    'version',
    'worker',
  ]);
  assert.deepStrictEqual(module.properties.params, {
    type: 'object',
    propertyNames: { type: 'string' },
    additionalProperties: {},
    description:
      'JSON values the module runs with, part of its identity: context.params, or $GP_PARAMS (JSON) for a command.',
  });
});

test('params: any JSON values, nested, reach the stage spec as a frozen copy', async () => {
  const spec = await loadLines([
    'pipeline:',
    '  name: params',
    '  modules:',
    '    - name: train',
    '      command: [true]',
    '      params:',
    '        epochs: 3',
    '        lr: 0.01',
    '        tags: [a, b]',
    '        grid: {depth: [2, 4], dropout: null, early_stop: true}',
    '    - {name: plain, command: [true]}',
  ]);
  const [train, plain] = spec.stages;
  assert.deepStrictEqual(train?.params, {
    epochs: 3,
    lr: 0.01,
    tags: ['a', 'b'],
    grid: { depth: [2, 4], dropout: null, early_stop: true },
  });
  assert.ok(Object.isFrozen(train?.params) && Object.isFrozen(train?.params?.grid));
  assert.equal(plain?.params, undefined);
  assert.equal('params' in (plain ?? {}), false);
});
