import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { failureOf, issuesOf } from './fixtures/config/temp-pipeline.ts';

const header = ['pipeline:', '  name: p', '  modules:'];
const moduleKeys =
  'allowed keys: name, path, script, command, python, environment, shell, cwd, env, depends_on, for_each, nested, worker, heap_limit_mb, resources, concurrency, timeout, retry, fallback, version, params, cache';
const durationMessage = 'a positive number of seconds or a duration like "90s", "5m" or "1h30m"';

test('a YAML syntax error stops loading, reported with its line and column', async () => {
  assert.deepStrictEqual(
    await issuesOf(['pipeline:', '  name: [unclosed', '  modules:', '    - name: a', '  bad: : :']),
    [
      {
        message:
          'invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
        line: 3,
        column: 3,
      },
      {
        message: 'invalid YAML: Nested mappings are not allowed in compact mappings',
        line: 5,
        column: 8,
      },
      {
        message: 'invalid YAML: Nested mappings are not allowed in compact mappings',
        line: 5,
        column: 10,
      },
    ],
  );
});

test('several documents, or an alias bomb, are refused without a stack trace', async () => {
  assert.deepStrictEqual(await issuesOf(['pipeline: {name: a}', '---', 'x: 1']), [
    {
      message: "invalid YAML: a pipeline file holds one document; remove the '---' after it",
      line: 2,
      column: 1,
    },
  ]);
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (const [name, from] of [
    ['b', 'a'],
    ['c', 'b'],
    ['d', 'c'],
  ]) {
    bomb.push(`${name}: &${name} [${Array(10).fill(`*${from}`).join(', ')}]`);
  }
  assert.deepStrictEqual(await issuesOf(bomb), [
    {
      message: 'cannot read the YAML: Excessive alias count indicates a resource exhaustion attack',
      line: 1,
      column: 1,
    },
  ]);
});

test('duplicate keys are reported by name, together with schema problems', async () => {
  assert.deepStrictEqual(
    await issuesOf([
      'pipeline:',
      '  name: p',
      '  name: q',
      '  modules:',
      '    - name: a',
      '      command: [true]',
      '      command: [false]',
      '      cpus: 2',
    ]),
    [
      { message: "duplicate key 'name'", line: 3, column: 3 },
      { message: "duplicate key 'command'", line: 7, column: 7 },
      {
        message: "unknown key 'cpus'",
        stage: 'a',
        line: 8,
        column: 7,
        hint: "it belongs under 'resources': resources: {cpus: ...}",
      },
    ],
  );
});

test('a file that is empty, a list, or has no pipeline key', async () => {
  assert.deepStrictEqual(await issuesOf(['']), [
    { message: 'the file must be a mapping, got nothing', line: 1, column: 1 },
  ]);
  assert.deepStrictEqual(await issuesOf(['- a']), [
    { message: 'the file must be a mapping, got a list', line: 1, column: 1 },
  ]);
  assert.deepStrictEqual(await issuesOf(['pipelines:', '  name: p']), [
    { message: "missing required key 'pipeline' at the top of the file", line: 1, column: 1 },
    {
      message: "unknown key 'pipelines' at the top of the file",
      line: 1,
      column: 1,
      hint: "did you mean 'pipeline'?",
    },
  ]);
  assert.deepStrictEqual(await issuesOf(['pipeline:']), [
    { message: 'pipeline must be a mapping, got nothing', line: 1, column: 10 },
  ]);
});

test('pipeline-level keys: types, options with did-you-mean, ranges, unknown keys, empty modules', async () => {
  assert.deepStrictEqual(
    await issuesOf([
      'pipeline:',
      '  name: 3',
      '  execution: {mode: paralel, failure_policy: stop, max_nested_depth: -1, colour: red}',
      '  resources: {max_cpus: 0, max_gpus: 1.5}',
      '  checkpoint: {enabled: yes}',
      '  modules: []',
    ]),
    [
      { message: 'name must be a string, got 3', line: 2, column: 9 },
      {
        message: 'execution.mode must be one of parallel, sequential, waves, got "paralel"',
        line: 3,
        column: 21,
        hint: "did you mean 'parallel'?",
      },
      {
        message: 'execution.failure_policy must be one of fail_fast, collect_all, got "stop"',
        line: 3,
        column: 46,
      },
      { message: 'execution.max_nested_depth must be an integer ≥ 0, got -1', line: 3, column: 70 },
      {
        message: "unknown key 'colour' in execution",
        line: 3,
        column: 74,
        hint: 'allowed keys: mode, worker_type, failure_policy, max_nested_depth, monitor_interval',
      },
      { message: 'resources.max_cpus must be a number above 0, got 0', line: 4, column: 25 },
      { message: 'resources.max_gpus must be an integer, got 1.5', line: 4, column: 38 },
      { message: 'checkpoint.enabled must be true or false, got "yes"', line: 5, column: 25 },
      { message: 'modules must list at least one module, got an empty list', line: 6, column: 12 },
    ],
  );
});

test('module keys: wrong types, bad durations, unknown keys, each naming its module', async () => {
  assert.deepStrictEqual(
    await issuesOf([
      ...header,
      '    - name: a',
      '      command: [true]',
      '      depends_on: b',
      '      resources: {cpus: two, gpu: 1}',
      '      timeout: 0',
      '      version: [1]',
      '    - name: b',
      '      command: [true]',
      '      env: {A: [1]}',
      '      frobnicate: 1',
    ]),
    [
      {
        message: 'depends_on must be a list, got "b"',
        stage: 'a',
        line: 6,
        column: 19,
        hint: 'write a list: [b]',
      },
      { message: 'resources.cpus must be a number, got "two"', stage: 'a', line: 7, column: 25 },
      {
        message: "unknown key 'gpu' in resources",
        stage: 'a',
        line: 7,
        column: 30,
        hint: "did you mean 'gpus'?",
      },
      { message: `timeout must be ${durationMessage}, got 0`, stage: 'a', line: 8, column: 16 },
      {
        message: 'version must be a string or a number, got a list',
        stage: 'a',
        line: 9,
        column: 16,
      },
      {
        message: 'env.A must be a string, a number or true/false, got a list',
        stage: 'b',
        line: 12,
        column: 16,
      },
      { message: "unknown key 'frobnicate'", stage: 'b', line: 13, column: 7, hint: moduleKeys },
    ],
  );
});

test('params must be a mapping of JSON values, each problem at its place', async () => {
  assert.deepStrictEqual(
    await issuesOf([
      ...header,
      '    - name: a',
      '      command: [true]',
      '      params: [1, 2]',
      '    - name: b',
      '      command: [true]',
      '      params:',
      '        n: 3',
      '        grid: {lr: [0.1, .inf]}',
      '    - name: c',
      '      command: [true]',
      '      params: 3',
    ]),
    [
      { message: 'params must be a mapping, got a list', stage: 'a', line: 6, column: 15 },
      {
        message:
          'params.grid.lr[1] must be JSON data (a string, a finite number, true/false, null, a list or a plain object), got Infinity',
        stage: 'b',
        line: 11,
        column: 26,
      },
      { message: 'params must be a mapping, got 3', stage: 'c', line: 14, column: 15 },
    ],
  );
});

test('retry keys are checked one by one', async () => {
  assert.deepStrictEqual(
    await issuesOf([
      ...header,
      '    - name: a',
      '      command: [true]',
      '      retry: {backoff: linear, delay: soon, jitter: 2, retry_on: [1.5, ""], tries: 3}',
    ]),
    [
      { message: "missing required key 'max_attempts' in retry", stage: 'a', line: 6, column: 14 },
      {
        message: 'retry.backoff must be one of fixed, exponential, got "linear"',
        stage: 'a',
        line: 6,
        column: 24,
      },
      {
        message:
          'retry.delay must be a number of seconds or a duration like "90s", "5m" or "1h30m", got "soon"',
        stage: 'a',
        line: 6,
        column: 39,
      },
      { message: 'retry.jitter must be between 0 and 1, got 2', stage: 'a', line: 6, column: 53 },
      {
        message:
          'retry.retry_on[0] must be an error code or name, or an integer exit code, got 1.5',
        stage: 'a',
        line: 6,
        column: 67,
      },
      { message: 'retry.retry_on[1] must not be empty, got ""', stage: 'a', line: 6, column: 72 },
      {
        message: "unknown key 'tries' in retry",
        stage: 'a',
        line: 6,
        column: 77,
        hint: 'allowed keys: max_attempts, backoff, delay, max_delay, jitter, retry_on',
      },
    ],
  );
});

test('modules without a usable name are named by their place in the list', async () => {
  assert.deepStrictEqual(
    await issuesOf([
      ...header,
      '    - command: [true]',
      '      depends: []',
      '    - name: ""',
      '      command: [true]',
      '    - just a string',
    ]),
    [
      { message: "modules[0]: missing required key 'name'", line: 4, column: 7 },
      {
        message: "modules[0]: unknown key 'depends'",
        line: 5,
        column: 7,
        hint: moduleKeys,
      },
      { message: 'modules[1]: name must not be empty, got ""', line: 6, column: 13 },
      { message: 'modules[2] must be a mapping, got "just a string"', line: 8, column: 7 },
    ],
  );
});

test('a module needs exactly one of path, script or command, and command-only keys only with command', async () => {
  assert.deepStrictEqual(
    await issuesOf(
      [
        ...header,
        '    - name: a',
        '    - name: b',
        '      script: x.ts:f',
        '      command: [true]',
        '    - name: c',
        '      script: x.ts:f',
        '      shell: true',
        '      cwd: x',
        '      env: {A: b}',
      ],
      { 'x.ts': '' },
    ),
    [
      {
        message: 'needs one of path, script or command',
        stage: 'a',
        line: 4,
        column: 7,
        hint: 'path: "./file.ts:ClassName", script: "./file.ts:functionName" or command: [program, arg]',
      },
      {
        message: 'has both script and command',
        stage: 'b',
        line: 7,
        column: 7,
        hint: 'give exactly one of path, script or command',
      },
      { message: 'shell applies only to command modules', stage: 'c', line: 10, column: 7 },
      { message: 'cwd applies only to command modules', stage: 'c', line: 11, column: 7 },
      { message: 'env applies only to command modules', stage: 'c', line: 12, column: 7 },
    ],
  );
});

test('a command string without shell: true is rejected; shell takes a string, not a list', async () => {
  assert.deepStrictEqual(
    await issuesOf([
      ...header,
      '    - name: a',
      '      command: rm -rf "$DIR"',
      '    - name: d',
      '      command: []',
      '    - name: e',
      '      command: [ls, -l]',
      '      shell: true',
      '    - name: f',
      '      command: ""',
      '      shell: true',
    ]),
    [
      {
        message: 'a command string runs only through a shell',
        stage: 'a',
        line: 5,
        column: 16,
        hint: 'give an argv list, or set shell: true',
      },
      { message: 'command must not be empty', stage: 'd', line: 7, column: 16 },
      {
        message: 'shell: true takes one command string, not a list',
        stage: 'e',
        line: 10,
        column: 7,
        hint: 'write the command as one string, or drop shell: true',
      },
      { message: 'command must not be empty', stage: 'f', line: 12, column: 16 },
    ],
  );
});

test('module references: a missing export, an unknown kind, a missing file, a bad export name', async () => {
  const { dir, issues } = await failureOf(
    [
      ...header,
      '    - {name: a, script: s.ts}',
      '    - {name: b, script: "s.ts:"}',
      '    - {name: c, path: ./lib/x:Cls}',
      '    - {name: d, script: nofile.ts:f}',
      '    - {name: h, script: "s.ts:not-an-ident"}',
      '    - {name: i, path: dir.ts:Cls}',
    ],
    { 's.ts': '', 'dir.ts/inside': '' },
  );
  const notFound = (file: string) => ({
    message: `module file not found: ${join(dir, file)}`,
    hint: `paths are relative to the pipeline file's directory, ${dir}`,
  });
  assert.deepStrictEqual(issues, [
    {
      message: "'s.ts' names no function",
      stage: 'a',
      line: 4,
      column: 25,
      hint: 'write it as "s.ts:functionName"',
    },
    {
      message: "'s.ts:' names no function",
      stage: 'b',
      line: 5,
      column: 25,
      hint: 'write it as "s.ts:functionName"',
    },
    {
      message: "cannot tell what kind of module './lib/x' is",
      stage: 'c',
      line: 6,
      column: 23,
      hint: 'name a file ending in .js, .mjs, .cjs, .ts, .mts, .cts or .py, or a dotted Python module (pkg.module)',
    },
    { ...notFound('nofile.ts'), stage: 'd', line: 7, column: 25 },
    {
      message: "'not-an-ident' is not a JavaScript export name",
      stage: 'h',
      line: 8,
      column: 25,
      hint: 'name the export after the colon: "./file.ts:exportName"',
    },
    { ...notFound('dir.ts'), stage: 'i', line: 9, column: 23 },
  ]);
});

test('bad Python references: a missing file or module, a bad name, python: on a command', async () => {
  // Dotted modules are looked for under PYTHONPATH too: the messages below assume none.
  const pythonPath = process.env.PYTHONPATH;
  delete process.env.PYTHONPATH;
  const { dir, issues } = await failureOf(
    [
      ...header,
      '    - {name: e, script: "scripts/job.py:main"}',
      '    - {name: f, path: mymodules.module1:MyModule}',
      '    - {name: g, script: stages:load}',
      '    - {name: h, path: "pkg.mod:My-Class"}',
      '    - {name: i, script: "pkg/mod.py:2fast"}',
      '    - {name: j, command: [echo], python: python3}',
      '    - {name: k, path: "pkg.mod:Fine", python: .venv}',
    ],
    {
      'pkg/__init__.py': '',
      'pkg/mod.py': 'class Fine:\n    def run(self, context):\n        return 1\n',
    },
  ).finally(() => {
    if (pythonPath !== undefined) process.env.PYTHONPATH = pythonPath;
  });
  const python = process.env.GP_PYTHON || 'python3';
  const lookedFor = (dotted: string) =>
    `looked for ${join(dir, ...dotted.split('.'))}.py and ${join(dir, ...dotted.split('.'), '__init__.py')}, and in ${python}'s installed packages`;
  const where = `a dotted module is found under the pipeline file's directory (${dir}), then PYTHONPATH, then the interpreter's packages (python:)`;
  assert.deepStrictEqual(issues, [
    {
      message: `Python file not found: ${join(dir, 'scripts', 'job.py')}`,
      stage: 'e',
      line: 4,
      column: 25,
      hint: `paths are relative to the pipeline file's directory, ${dir}`,
    },
    {
      message: `Python module 'mymodules.module1' not found: ${lookedFor('mymodules.module1')}`,
      stage: 'f',
      line: 5,
      column: 23,
      hint: `${where}; or name a file: script: "path/file.py:MyModule"`,
    },
    {
      message: `Python module 'stages' not found: ${lookedFor('stages')}`,
      stage: 'g',
      line: 6,
      column: 25,
      hint: `${where}; or name a file: script: "path/file.py:load"; a JavaScript or TypeScript module needs its extension: "./stages.ts:load"`,
    },
    {
      message: "'My-Class' is not a Python class name",
      stage: 'h',
      line: 7,
      column: 23,
      hint: 'name the class after the colon: "pkg.mod:ClassName"',
    },
    {
      message: "'2fast' is not a Python function name",
      stage: 'i',
      line: 8,
      column: 25,
      hint: 'name the function after the colon: "pkg/mod.py:function_name"',
    },
    {
      message: 'python applies only to Python modules (a .py file or a dotted module name)',
      stage: 'j',
      line: 9,
      column: 34,
    },
  ]);
});
