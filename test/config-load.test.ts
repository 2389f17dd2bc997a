import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPipeline, pipelineFileExtensions } from '../src/config/load-pipeline.ts';
import { defaultModuleResolvers, type ModuleResolver } from '../src/config/module-reference.ts';
import { ConfigError, InputError } from '../src/errors.ts';
import { writePipeline } from './fixtures/config/temp-pipeline.ts';

const modules = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'config', 'modules');

test('a TypeScript pipeline module loads through its default export', async () => {
  const file = join(modules, 'default-export.ts');
  const spec = await loadPipeline(file, { hostCpus: 8 });
  assert.equal(spec.name, 'from-default');
  assert.equal(spec.source, file);
  assert.equal(spec.maxCpus, 2);
  assert.deepStrictEqual(
    spec.stages.map((stage) => [stage.name, stage.dependsOn, stage.task.kind]),
    [
      ['numbers', [], 'inline'],
      ['total', ['numbers'], 'inline'],
      ['report', ['total'], 'command'],
    ],
  );
  assert.equal(typeof spec.stages[1]?.run, 'function');
});

test('a pipeline module without a default export loads through its export named pipeline', async () => {
  const spec = await loadPipeline(join(modules, 'named-export.ts'), { hostCpus: 8 });
  assert.equal(spec.name, 'from-named');
  assert.deepStrictEqual(
    spec.stages.map((stage) => stage.name),
    ['only'],
  );
});

test('a module whose export is not a pipeline is a ConfigError naming the file and what was expected', async () => {
  const file = join(modules, 'wrong-export.mjs');
  await assert.rejects(loadPipeline(file), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepStrictEqual(error.issues, [
      {
        message:
          "expected a default export (or an export named 'pipeline') made by pipeline(), got 42",
        file,
        hint: "export default pipeline('name', [stages])",
      },
    ]);
    return true;
  });
});

test('a module that throws while loading is a ConfigError carrying its message', async () => {
  const file = join(modules, 'throws.ts');
  await assert.rejects(loadPipeline(file), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepStrictEqual(error.issues, [
      { message: 'cannot load the pipeline module: broken on purpose', file },
    ]);
    return true;
  });
});

test('a pipeline module is checked like a YAML one: every graph problem, with the file', async () => {
  const file = join(modules, 'invalid-graph.ts');
  await assert.rejects(loadPipeline(file, { hostCpus: 64 }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepStrictEqual(error.issues, [
      {
        stage: 'heavy',
        message: 'requests 16 cpus but the pipeline allows at most 2 (max_cpus)',
        hint: 'lower its cpus or raise resources.max_cpus',
        file,
      },
    ]);
    return true;
  });
});

test('a missing file is an InputError, not a stack trace', async () => {
  await assert.rejects(loadPipeline('does/not/exist.yaml'), (error: unknown) => {
    assert.ok(error instanceof InputError);
    assert.equal(error.code, 'INPUT_INVALID');
    assert.equal(error.message, 'no such file: does/not/exist.yaml');
    return true;
  });
});

test('a directory, or a file of an unknown kind, is an InputError listing what is accepted', async () => {
  const yaml = await writePipeline(['pipeline: {}']);
  const dir = dirname(yaml);
  await assert.rejects(loadPipeline(dir), { name: 'InputError', message: `not a file: ${dir}` });
  const json = join(dir, 'pipeline.json');
  await writeFile(json, '{}\n');
  await assert.rejects(loadPipeline(json), {
    name: 'InputError',
    message: `cannot load ${json}: a pipeline file must end in .yaml, .yml, .toml, .ts, .mts, .js, .mjs`,
  });
  assert.deepStrictEqual(pipelineFileExtensions, [
    '.yaml',
    '.yml',
    '.toml',
    '.ts',
    '.mts',
    '.js',
    '.mjs',
  ]);
});

test('the .yml extension loads as YAML', async () => {
  const yaml = await writePipeline([]);
  const yml = join(dirname(yaml), 'p.yml');
  await writeFile(yml, 'pipeline:\n  name: short\n  modules: [{name: a, command: [true]}]\n');
  assert.equal((await loadPipeline(yml)).name, 'short');
});

test('a resolver for another kind of module plugs in without changing the loader', async () => {
  const python: ModuleResolver = {
    kind: 'python-module',
    matches: (target) => target.endsWith('.py'),
    resolve: async (reference) => ({
      task: {
        kind: 'command',
        argv: ['python3', join(reference.baseDir, reference.target), reference.exportName],
        shell: false,
      },
    }),
  };
  const file = await writePipeline([
    'pipeline:',
    '  name: py',
    '  modules:',
    '    - {name: a, script: "job.py:main"}',
  ]);
  const spec = await loadPipeline(file, { resolvers: [python, ...defaultModuleResolvers] });
  assert.deepStrictEqual(spec.stages[0]?.task, {
    kind: 'command',
    argv: ['python3', join(dirname(file), 'job.py'), 'main'],
    shell: false,
  });
});
