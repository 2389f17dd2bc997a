import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { jsonSchemaOf } from '../src/config/json-schema.ts';
import { loadPipeline } from '../src/config/load-pipeline.ts';
import { loadTomlPipeline } from '../src/config/toml-pipeline.ts';
import { Graph } from '../src/graph/graph.ts';
import { project, seedProject } from './fixtures/toml/toml-project.ts';

test('the example configs of the seed load as written: one command stage per operator', async () => {
  const { dir, repo } = seedProject();
  const file = join(dir, 'conf', 'pipeline.toml');
  const loaded = await loadTomlPipeline(file, { projectRoot: dir, hostCpus: 8 });
  assert.equal(loaded.spec.name, 'data_pipeline_v1');
  assert.equal(loaded.spec.source, file);
  assert.equal(loaded.workDir, join(dir, 'pipeline_workspace'));
  assert.equal(loaded.spec.runsDirectory, join(dir, 'pipeline_workspace', 'runs'));
  assert.deepStrictEqual([...loaded.nodes], [['node_1', ['cleaner']]]);
  assert.deepStrictEqual(loaded.operators, [
    {
      operatorId: 'cleaner',
      gitRepo: repo,
      gitTag: 'v2.0.0',
      codeDir: join(dir, 'operators', 'cleaner'),
    },
  ]);
  assert.deepStrictEqual(loaded.spec.stages, [
    {
      name: 'cleaner',
      dependsOn: [],
      cpus: 2,
      memoryMb: 8 * 1024,
      memoryLimitMb: 16 * 1024,
      // runner_count = 1: the node's operators run one at a time.
      concurrency: { group: 'node node_1', limit: 1 },
      timeoutMs: 1_800_000,
      version: 'v2.0.0',
      task: {
        kind: 'command',
        argv: ['python main.py'],
        shell: true,
        cwd: join(dir, 'operators', 'cleaner'),
        env: { BATCH_SIZE: '100', NODE_ID: 'node_1' },
        workspaceRoot: join(
          dir,
          'pipeline_workspace',
          'workspace',
          'data_pipeline_v1',
          'node_1',
          'cleaner',
        ),
        environment: {
          name: 'cleaner_env',
          kind: 'uv',
          dir: join(dir, 'envs', 'cleaner_env'),
          source: join(dir, 'operators', 'cleaner', 'pyproject.toml'),
        },
      },
    },
  ]);
  // The generic entry point knows .toml too.
  assert.deepStrictEqual(
    (await loadPipeline(file, { projectRoot: dir, hostCpus: 8 })).stages,
    loaded.spec.stages,
  );
});

/** The layout of the seed's own examples/conf: top-level keys, plain ref lists. */
function plainProject(extra: Record<string, string> = {}): string {
  return project({
    'conf/pipeline.toml': [
      'pipeline_id = "plain"',
      'name = "Plain"',
      'nodes = ["prep", { node_id = "train", version = "v2" }]',
      'operators = ["load", "clean", "fit"]',
      '',
    ].join('\n'),
    'conf/nodes/prep.toml': 'operator_ids = ["clean", "load"]\n',
    'conf/nodes/train_v2.toml': [
      'node_id = "train"',
      'operator_ids = ["fit"]',
      '[resource]',
      'cpu_request = 0.5',
      '',
    ].join('\n'),
    'conf/operators/load.toml': op('load', []),
    'conf/operators/clean.toml': op('clean', ['load']),
    'conf/operators/fit_v1.0.toml': op(
      'fit',
      ['clean'],
      'timeout = "2m"\n[extra_env_vars]\nNODE_ID = "mine"\nRATE = 0.5\nON = true\n',
    ),
    ...extra,
  });
}

function op(id: string, deps: string[], extra = ''): string {
  return [
    `operator_id = "${id}"`,
    'git_repo = "/nowhere"',
    'git_tag = "v1"',
    `upstream_dependencies = ${JSON.stringify(deps)}`,
    `start_command = "run-${id} --fast"`,
    extra,
  ].join('\n');
}

test('top-level keys, plain ref lists, <id>.toml files and the defaults', async () => {
  const dir = plainProject();
  const { spec, nodes, workDir } = await loadTomlPipeline(join(dir, 'conf', 'pipeline.toml'), {
    projectRoot: dir,
    hostCpus: 8,
  });
  assert.equal(
    workDir,
    join(dir, 'pipeline_workspace'),
    'work_dir defaults to ./pipeline_workspace',
  );
  assert.deepStrictEqual(
    [...nodes],
    [
      ['prep', ['clean', 'load']],
      ['train', ['fit']],
    ],
  );
  const byName = new Map(spec.stages.map((stage) => [stage.name, stage]));
  assert.equal(byName.get('load')!.timeoutMs, 3_600_000, 'timeout defaults to 3600 s');
  assert.equal(byName.get('load')!.cpus, 1, 'a node without resource gives 1 CPU slot');
  assert.equal(byName.get('fit')!.cpus, 0.5);
  assert.equal(byName.get('fit')!.timeoutMs, 120_000);
  const fit = byName.get('fit')!.task;
  assert.ok(fit.kind === 'command');
  // NODE_ID is the node's, whatever extra_env_vars say; numbers and booleans become text.
  assert.deepStrictEqual(fit.env, { NODE_ID: 'train', RATE: '0.5', ON: 'true' });
  assert.deepStrictEqual(fit.argv, ['run-fit --fast']);
});

test('upstream_dependencies order the stages, whatever order the node lists them in', async () => {
  const dir = plainProject();
  const { spec } = await loadTomlPipeline(join(dir, 'conf', 'pipeline.toml'), {
    projectRoot: dir,
    hostCpus: 8,
  });
  // The node lists clean before load; clean depends on load.
  assert.deepStrictEqual(
    spec.stages.map((stage) => [stage.name, stage.dependsOn]),
    [
      ['clean', ['load']],
      ['load', []],
      ['fit', ['clean']],
    ],
  );
  const built = Graph.build(spec.stages);
  assert.ok('graph' in built);
  const order = [...built.graph.topologicalOrder()].map((i) => built.graph.names[i]);
  assert.deepStrictEqual(order, ['load', 'clean', 'fit']);
});

test('--config-root, --project-root and --operators-dir move the files, work_dir and code', async () => {
  const dir = plainProject();
  const elsewhere = project({});
  const { spec, operators } = await loadTomlPipeline(join(dir, 'conf', 'pipeline.toml'), {
    configRoot: join(dir, 'conf'),
    projectRoot: elsewhere,
    operatorsDir: 'code',
    hostCpus: 8,
  });
  assert.equal(spec.runsDirectory, join(elsewhere, 'pipeline_workspace', 'runs'));
  assert.equal(operators[0]!.codeDir, join(elsewhere, 'code', 'load'));
  const task = spec.stages[0]!.task;
  assert.ok(task.kind === 'command');
  assert.equal(task.cwd, join(elsewhere, 'code', 'clean'));
});

test('an absolute work_dir is kept; an operator in no node is cloned by init but not run', async () => {
  const dir = plainProject({
    'conf/pipeline.toml': [
      'pipeline_id = "plain"',
      'name = "Plain"',
      'work_dir = "/srv/work"',
      'nodes = ["prep"]',
      'operators = ["load", "clean", "fit"]',
      '',
    ].join('\n'),
  });
  const loaded = await loadTomlPipeline(join(dir, 'conf', 'pipeline.toml'), {
    projectRoot: dir,
    hostCpus: 8,
  });
  assert.equal(loaded.workDir, '/srv/work');
  assert.deepStrictEqual(
    loaded.spec.stages.map((stage) => stage.name),
    ['clean', 'load'],
  );
  assert.deepStrictEqual(
    loaded.operators.map((o) => o.operatorId),
    ['load', 'clean', 'fit'],
  );
});

test('the JSON Schemas of the TOML files list every key, and a file may wrap itself in [id]', () => {
  type ObjectSchema = {
    properties: Record<string, unknown>;
    additionalProperties: unknown;
    required?: string[];
  };
  const operator = jsonSchemaOf('toml-operator') as {
    anyOf: [ObjectSchema, { additionalProperties: ObjectSchema }];
  };
  assert.deepStrictEqual(Object.keys(operator.anyOf[0].properties), [
    'operator_id',
    'git_repo',
    'git_tag',
    'upstream_dependencies',
    'start_command',
    'timeout',
    'extra_env_vars',
    'env_config',
    'resource_request',
  ]);
  assert.equal(operator.anyOf[0].additionalProperties, false);
  assert.deepStrictEqual(operator.anyOf[0].required, ['git_repo', 'git_tag', 'start_command']);
  assert.deepStrictEqual(operator.anyOf[1].additionalProperties, operator.anyOf[0]);
  const pipeline = jsonSchemaOf('toml-pipeline') as {
    anyOf: [{ properties: { pipeline: ObjectSchema } }, ObjectSchema];
  };
  assert.deepStrictEqual(pipeline.anyOf[0].properties.pipeline, pipeline.anyOf[1]);
  assert.deepStrictEqual(pipeline.anyOf[1].required, ['pipeline_id', 'name', 'nodes', 'operators']);
  const node = jsonSchemaOf('toml-node') as { anyOf: [ObjectSchema] };
  assert.deepStrictEqual(Object.keys(node.anyOf[0].properties), [
    'node_id',
    'operator_ids',
    'runner_count',
    'resource',
  ]);
});
