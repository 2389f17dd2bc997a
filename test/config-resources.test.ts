// Resource requests in YAML: memory sizes, GPUs, memory limits, and requests no host could grant,
// each reported with its line and column before anything runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPipeline } from '../src/config/load-pipeline.ts';
import { ConfigError, type ConfigIssue } from '../src/errors.ts';
import { writePipeline } from './fixtures/config/temp-pipeline.ts';

/** A host with 8 CPUs, 16 GB and GPUs 0 and 1. */
const host = { hostCpus: 8, hostMemoryMb: 16384, hostGpuIds: [0, 1] };

async function issuesOf(
  lines: readonly string[],
  files?: Record<string, string>,
): Promise<Omit<ConfigIssue, 'file'>[]> {
  const error = await loadPipeline(await writePipeline(lines, files), host).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  return error.issues.map(({ file: _, ...issue }) => issue);
}

test('memory sizes, GPUs and limits load into the stage and pipeline specs', async () => {
  const spec = await loadPipeline(
    await writePipeline([
      'pipeline:',
      '  name: p',
      '  resources: {max_cpus: 4, max_memory: 8GB, max_gpus: 1}',
      '  modules:',
      '    - name: train',
      '      command: [python3, train.py]',
      '      resources: {cpus: 2, memory: "1.5GiB", gpus: 1, memory_limit: 2g}',
      '    - name: plain',
      '      command: [true]',
      '      resources: {memory: 512}',
    ]),
    host,
  );
  assert.equal(spec.maxMemoryMb, 8192);
  assert.equal(spec.maxGpus, 1);
  const [train, plain] = spec.stages;
  assert.deepEqual(
    [train?.cpus, train?.memoryMb, train?.gpus, train?.memoryLimitMb],
    [2, 1536, 1, 2048],
  );
  assert.deepEqual(
    [plain?.memoryMb, plain?.gpus, plain?.memoryLimitMb],
    [512, undefined, undefined],
  );
});

test('requests no host could grant are errors at their line and column', async () => {
  assert.deepStrictEqual(
    await issuesOf([
      'pipeline:',
      '  name: p',
      '  modules:',
      '    - name: greedy',
      '      command: [true]',
      '      resources: {memory: 32GB, gpus: 3}',
      '    - name: capped',
      '      command: [true]',
      '      resources: {memory_limit: 20GB}',
      '    - name: upside_down',
      '      command: [true]',
      '      resources: {memory: 2GB, memory_limit: 1GB}',
    ]),
    [
      {
        message: "reserves 32 GB of memory but the pipeline has at most 16 GB (the host's memory)",
        stage: 'greedy',
        line: 6,
        column: 27,
        hint: 'lower its memory; no stage may reserve more than the host has',
      },
      {
        message: 'requests 3 GPUs but this host has 2 (hostGpuIds)',
        stage: 'greedy',
        line: 6,
        column: 39,
        hint: 'lower its gpus',
      },
      {
        message:
          "reserves 20 GB of memory (its memory_limit, as it sets no memory) but the pipeline has at most 16 GB (the host's memory)",
        stage: 'capped',
        line: 9,
        column: 33,
        hint: 'lower its memory; no stage may reserve more than the host has',
      },
      {
        message: 'reserves 2 GB of memory, more than its memory_limit of 1 GB',
        stage: 'upside_down',
        line: 12,
        column: 27,
        hint: 'a reservation cannot be above the limit',
      },
    ],
  );
});

test('max_* settings bound the pool: max_gpus 0 turns GPUs off, max_memory caps memory', async () => {
  assert.deepStrictEqual(
    await issuesOf([
      'pipeline:',
      '  name: p',
      '  resources: {max_memory: 1GB, max_gpus: 0}',
      '  modules:',
      '    - {name: a, command: [true], resources: {gpus: 1, memory: 1.5GB}}',
    ]),
    [
      {
        message: 'requests 1 GPU but max_gpus is 0 (GPU leasing is off)',
        stage: 'a',
        line: 5,
        column: 52,
        hint: 'raise resources.max_gpus or lower its gpus',
      },
      {
        message:
          'reserves 1.5 GB of memory but the pipeline has at most 1 GB (resources.max_memory)',
        stage: 'a',
        line: 5,
        column: 63,
        hint: 'lower its memory or raise resources.max_memory',
      },
    ],
  );
  const [issue] = await issuesOf([
    'pipeline:',
    '  name: p',
    '  resources: {max_gpus: 1}',
    '  modules:',
    '    - {name: a, command: [true], resources: {gpus: 2}}',
  ]);
  assert.equal(issue?.message, 'requests 2 GPUs but the pipeline allows at most 1 (max_gpus)');
});

test('bad sizes and a memory limit on an in-process module are clear errors', async () => {
  assert.deepStrictEqual(
    await issuesOf(
      [
        'pipeline:',
        '  name: p',
        '  resources: {max_memory: 0}',
        '  modules:',
        '    - name: a',
        '      command: [true]',
        '      resources: {memory: lots, memory_limit: -1GB}',
        '    - name: b',
        '      script: "./stages.mjs:b"',
        '      resources: {memory_limit: 1GB}',
      ],
      { 'stages.mjs': 'export function b() {}\n' },
    ),
    [
      {
        message:
          'resources.max_memory must be a positive number of megabytes, or a size like "512MB", "4GB" or "1.5GiB", got 0',
        line: 3,
        column: 27,
      },
      {
        message:
          'resources.memory must be a number of megabytes, or a size like "512MB", "4GB" or "1.5GiB", got "lots"',
        stage: 'a',
        line: 7,
        column: 27,
      },
      {
        message:
          'resources.memory_limit must be a positive number of megabytes, or a size like "512MB", "4GB" or "1.5GiB", got "-1GB"',
        stage: 'a',
        line: 7,
        column: 47,
      },
      {
        message:
          'memory_limit applies to command stages; a module stage runs inside the orchestrator and cannot be limited alone',
        stage: 'b',
        line: 10,
        column: 33,
        hint: 'run it as a command, or drop memory_limit',
      },
    ],
  );
});
