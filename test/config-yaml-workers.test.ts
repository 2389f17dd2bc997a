import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModuleTask } from '../src/graph/pipeline.ts';
import { issuesOf, loadLines } from './fixtures/config/temp-pipeline.ts';

const files = { 'stages.ts': 'export function f() { return 1; }\n' };

test('execution.worker_type is every module’s default; a module’s worker overrides it', async () => {
  const spec = await loadLines(
    [
      'pipeline:',
      '  name: workers',
      '  execution: { worker_type: process, max_nested_depth: 5 }',
      '  modules:',
      '    - { name: a, script: "stages.ts:f" }',
      '    - { name: b, script: "stages.ts:f", worker: thread, heap_limit_mb: 64 }',
      '    - { name: c, script: "stages.ts:f", worker: inline }',
      '    - { name: d, command: [true] }',
    ],
    files,
  );
  const task = (name: string) => spec.stages.find((stage) => stage.name === name)!.task;
  assert.equal((task('a') as ModuleTask).worker, 'process');
  assert.equal((task('b') as ModuleTask).worker, 'thread');
  assert.equal((task('b') as ModuleTask).heapLimitMb, 64);
  assert.equal((task('c') as ModuleTask).worker, undefined);
  assert.equal(task('d').kind, 'command');
  assert.equal(spec.maxNestedDepth, 5);
});

test('bad worker keys are reported with their line and column', async () => {
  assert.deepStrictEqual(
    await issuesOf(
      [
        'pipeline:',
        '  name: workers',
        '  execution: { worker_type: fork, max_nested_depth: -1 }',
        '  modules:',
        '    - { name: a, script: "stages.ts:f", worker: green }',
        '    - { name: b, script: "stages.ts:f", heap_limit_mb: 64 }',
        '    - { name: c, command: [true], worker: thread }',
        '    - { name: d, script: "stages.ts:f", worker: process, heap_limit_mb: 2.5 }',
      ],
      files,
    ),
    [
      {
        message: 'execution.worker_type must be one of inline, thread, process, got "fork"',
        line: 3,
        column: 29,
      },
      { message: 'execution.max_nested_depth must be an integer ≥ 0, got -1', line: 3, column: 53 },
      {
        message: 'worker must be one of inline, thread, process, got "green"',
        stage: 'a',
        line: 5,
        column: 49,
      },
      {
        message: 'heap_limit_mb applies only to modules run in a thread or process worker',
        stage: 'b',
        line: 6,
        column: 41,
        hint: 'add worker: process (or thread)',
      },
      {
        message: 'worker applies only to JavaScript / TypeScript path and script modules',
        stage: 'c',
        line: 7,
        column: 35,
      },
      {
        message: 'heap_limit_mb must be an integer, got 2.5',
        stage: 'd',
        line: 8,
        column: 73,
      },
    ],
  );
});
