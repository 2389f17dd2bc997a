/**
 * A TypeScript stage that throws leaves its stack trace in its `stage.log`, as stderr lines,
 * where a Python stage leaves its traceback: inline, in a worker thread and in a worker
 * process, read back with `gpipe logs`; masked by the inline executor's `redact` and by workers
 * with the secrets they are sent; and not for
 * a timeout or cancellation, which is not the stage's own error.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PipelineError } from '../src/errors.ts';
import type { StageTask } from '../src/executors/executor.ts';
import { InlineExecutor } from '../src/executors/inline.ts';
import { ModuleExecutor } from '../src/executors/module-executor.ts';
import type { InlineFunction } from '../src/graph/pipeline.ts';
import { parseLogLine } from '../src/logs/stage-log-line.ts';
import { Redactor } from '../src/secrets/redactor.ts';
import { durableWorkspaces, expectExit, gpipeJson } from './fixtures/durable/durable-harness.ts';
import { inlineTask } from './fixtures/engine/stage-task.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const spaces = durableWorkspaces();

const pipelineYaml = yamlPipeline(
  'kaput',
  [
    '- { name: inline, script: "stages.ts:kaput" }',
    '- { name: thread, script: "stages.ts:kaput", worker: thread }',
    '- { name: process, script: "stages.ts:kaput", worker: process }',
  ],
  ['execution: { failure_policy: collect_all }'],
);

test('a throwing TypeScript stage leaves its stack in stage.log, inline and in workers', async () => {
  const cwd = spaces.make([], {
    'package.json': '{ "type": "module" }',
    'stages.ts': ['export function kaput(): number {', "  throw new Error('kaput');", '}'].join(
      '\n',
    ),
    'pipeline.yaml': pipelineYaml,
  });
  const { stdout } = await expectExit(3, ['run', 'pipeline.yaml'], cwd);
  const { runId } = await gpipeJson<{ runId: string }>(['status', '--json'], cwd);
  for (const stage of ['inline', 'thread', 'process']) {
    // The summary names the log, now that there is one to read.
    assert.match(stdout, new RegExp(`✗ ${stage}: kaput\\n\\s+log: \\S+/${stage}/stage\\.log`));
    const logs = await expectExit(0, ['logs', runId, stage, '--stderr'], cwd);
    const lines = logs.stdout.trimEnd().split('\n').map(parseLogLine);
    assert.equal(lines[0]!.text, 'Error: kaput', `${stage}:\n${logs.stdout}`);
    assert.match(lines[1]!.text, /^ {4}at kaput \(.*stages\.ts:2:\d+\)$/, stage);
    for (const line of lines) {
      assert.equal(line.stream, 'stderr', stage);
      assert.ok(!Number.isNaN(line.time), `${stage}: a stamped line`);
    }
  }
});

const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-stack-'));
after(() => rmSync(workspaceRoot, { recursive: true, force: true }));

function taskOf(stage: string): StageTask {
  return inlineTask(workspaceRoot, stage);
}

const logOf = (task: StageTask) => join(task.paths.stageDir, 'stage.log');

test('the inline executor masks the stack with its redact, sync and async throws alike', async () => {
  const functions = new Map<string, InlineFunction>([
    [
      'sync',
      () => {
        throw new Error('token hunter2 refused');
      },
    ],
    ['async', async () => Promise.reject(new Error('token hunter2 refused'))],
  ]);
  const executor = new InlineExecutor(functions, {
    redact: (text) => text.replaceAll('hunter2', '***'),
  });
  for (const stage of ['sync', 'async']) {
    const task = taskOf(stage);
    const result = await executor.execute(task, new AbortController().signal);
    assert.equal(result.status, 'failed');
    const log = readFileSync(logOf(task), 'utf8');
    assert.doesNotMatch(log, /hunter2/, stage);
    const lines = log.trimEnd().split('\n').map(parseLogLine);
    assert.equal(lines[0]!.text, 'Error: token *** refused', stage);
    assert.equal(lines[0]!.stream, 'stderr');
    assert.ok(lines.length > 1, `${stage}: the frames follow`);
  }
});

test('a worker masks the secrets it is sent in its stack and in the error it returns', async () => {
  const file = join(workspaceRoot, 'refuse.ts');
  writeFileSync(file, "export function refuse() { throw new Error('token hunter2 refused'); }\n");
  const redactor = new Redactor();
  redactor.add('hunter2');
  // No redactingExecutor around it: the worker's own masking is what is tested.
  const executor = new ModuleExecutor({
    inline: new InlineExecutor(),
    poolSize: 1,
    maxNestedDepth: 1,
    redactor,
  });
  try {
    for (const worker of ['thread', 'process'] as const) {
      const spec = { kind: 'module', file, exportName: 'refuse', style: 'function', worker };
      const task = inlineTask(workspaceRoot, `refuse-${worker}`, { spec } as Partial<StageTask>);
      const result = await executor.execute(task, new AbortController().signal);
      assert.equal(result.error?.message, 'token *** refused', worker);
      assert.match(result.error?.stack ?? '', /^Error: token \*\*\* refused\n/, worker);
      const log = readFileSync(logOf(task), 'utf8');
      assert.doesNotMatch(log, /hunter2/, worker);
      assert.equal(parseLogLine(log.split('\n')[0]!).text, 'Error: token *** refused', worker);
    }
  } finally {
    await executor.close();
  }
});

test('a timeout or cancellation leaves no stack in stage.log', async () => {
  const never = () => new Promise<never>(() => {});
  const executor = new InlineExecutor(
    new Map<string, InlineFunction>([
      ['running', never],
      ['before', never],
    ]),
  );
  const running = taskOf('running');
  const controller = new AbortController();
  const pending = executor.execute(running, controller.signal);
  controller.abort(new PipelineError('TIMEOUT', "stage 'running' timed out after 1 s"));
  assert.equal((await pending).error?.code, 'TIMEOUT');
  assert.equal(existsSync(logOf(running)), false);

  const before = taskOf('before');
  const aborted = AbortSignal.abort(new PipelineError('CANCELLED', 'the run was cancelled'));
  assert.equal((await executor.execute(before, aborted)).error?.code, 'CANCELLED');
  assert.equal(existsSync(logOf(before)), false);
});
