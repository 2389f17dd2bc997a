/**
 * Python stages through the real `gpipe`: a missing interpreter is an environment error
 * (exit 5), `validate` points at a bad Python reference, and editing a module's .py file
 * misses the cache.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpipe, workspaces } from './fixtures/cli/harness.ts';
import { expectExit, runFinished } from './fixtures/durable/durable-harness.ts';

const workspace = workspaces();

function dir(files: Record<string, string>): string {
  const made = workspace(files);
  return made;
}

const jobs = 'def job(context):\n    return 1\n';

test('a missing interpreter, named by python: or by GP_PYTHON, exits 5', async () => {
  const cwd = dir({
    'jobs.py': jobs,
    'pipeline.yaml': [
      'pipeline:',
      '  name: p',
      '  modules:',
      '    - { name: a, script: "jobs.py:job", python: ./no-venv/bin/python }',
    ].join('\n'),
    'default.yaml': [
      'pipeline:',
      '  name: d',
      '  modules:',
      '    - { name: a, script: "jobs.py:job" }',
    ].join('\n'),
  });
  const named = await gpipe(['run', 'pipeline.yaml'], cwd);
  assert.equal(named.code, 5, named.stderr);
  assert.match(
    named.stdout + named.stderr,
    /jobs\.py:job: cannot start '.*no-venv\/bin\/python': no such file or directory \(ENOENT\)/,
  );
  const byEnv = await gpipe(['run', 'default.yaml'], cwd, { GP_PYTHON: 'no-such-python3' });
  assert.equal(byEnv.code, 5, byEnv.stderr);
  assert.match(byEnv.stdout + byEnv.stderr, /cannot start 'no-such-python3'/);
});

test('gpipe validate gives the line and column of a bad Python reference', async () => {
  const cwd = dir({
    'pipeline.yaml': [
      'pipeline:',
      '  name: p',
      '  modules:',
      '    - { name: a, path: "models.train:Trainer" }',
      '    - { name: b, script: "jobs.py:not-a-name" }',
    ].join('\n'),
    'jobs.py': jobs,
  });
  const { code, stderr } = await gpipe(['validate', 'pipeline.yaml'], cwd);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /pipeline\.yaml:4:24: module 'a': Python module 'models\.train' not found/);
  assert.match(
    stderr,
    /pipeline\.yaml:5:26: module 'b': 'not-a-name' is not a Python function name/,
  );
  assert.ok(!stderr.includes('    at '), stderr);
});

test('editing a Python module file misses the cache; the same file hits it', async () => {
  const cwd = dir({
    'pkg/__init__.py': '',
    'pkg/steps.py': 'class Step:\n    def run(self, context):\n        return 1\n',
    'pipeline.yaml': [
      'pipeline:',
      '  name: p',
      '  modules:',
      '    - { name: step, path: "pkg.steps:Step" }',
      '    - { name: after, script: "after.py:after", depends_on: [step] }',
    ].join('\n'),
    'after.py': 'def after(context):\n    return context.get_result("step") + 1\n',
  });
  let runId = '';
  const run = async () => {
    const finished = runFinished(
      (await expectExit(0, ['run', 'pipeline.yaml', '--json'], cwd)).stdout,
    );
    runId = finished.runId;
    return finished.stages;
  };
  assert.deepStrictEqual(await run(), { step: 'succeeded', after: 'succeeded' });
  assert.deepStrictEqual(await run(), { step: 'cached', after: 'cached' });
  writeFileSync(
    join(cwd, 'pkg/steps.py'),
    'class Step:\n    def run(self, context):\n        return 2\n',
  );
  const { stdout } = await expectExit(0, ['explain', 'pipeline.yaml', 'step'], cwd);
  assert.match(
    stdout,
    /code changed \(python pkg\.steps:Step sha256:[0-9a-f]+ → sha256:[0-9a-f]+\)/,
  );
  assert.deepStrictEqual(await run(), { step: 'succeeded', after: 'succeeded' });
  const show = await expectExit(0, ['show', runId, 'after'], cwd);
  assert.match(show.stdout, /"data": 3/);
});
