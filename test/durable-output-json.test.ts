/**
 * A TypeScript stage whose output JSON cannot hold (a BigInt, a cycle, a bare Symbol) fails
 * that stage alone, under the run's failure and retry policies: it used to end the whole
 * durable run with an internal error (exit 70), leaving it `interrupted` and `resume` crashing
 * the same way. Real `gpipe` runs, stages inline, in a worker thread and uncached.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  durableWorkspaces,
  expectExit,
  gpipeJson,
  runFinished,
} from './fixtures/durable/durable-harness.ts';
import { yamlPipeline } from './fixtures/yaml-pipeline.ts';

const spaces = durableWorkspaces();

interface StatusJson {
  runId: string;
  status: string;
  stages: {
    stage: string;
    status: string;
    attempts: number;
    errorCode?: string;
    errorMessage?: string;
  }[];
}

const badStages = [
  'export function big() { return { b: 10n }; }',
  'export function loop() { const o: Record<string, unknown> = {}; o.self = o; return o; }',
  "export function bare() { return Symbol('x'); }",
  'export function fine() { return 1; }',
].join('\n');

const goodStages = [
  'export function big() { return { b: 10 }; }',
  'export function loop() { return { self: null }; }',
  "export function bare() { return 'x'; }",
  'export function fine() { return 1; }',
].join('\n');

const pipelineYaml = yamlPipeline(
  'unencodable',
  [
    '- name: big',
    '  script: "stages.ts:big"',
    '  retry: { max_attempts: 2, delay: 0.05, backoff: fixed, jitter: 0 }',
    '- { name: loop, script: "stages.ts:loop", worker: thread }',
    '- { name: bare, script: "stages.ts:bare", cache: false }',
    '- { name: fine, script: "stages.ts:fine" }',
    '- { name: after_big, script: "stages.ts:fine", depends_on: [big] }',
  ],
  ['execution: { failure_policy: collect_all }'],
);

test('an output JSON cannot hold fails its stage alone; the run ends failed and resumes', async () => {
  const cwd = spaces.make([], {
    'package.json': '{ "type": "module" }',
    'stages.ts': badStages,
    'pipeline.yaml': pipelineYaml,
  });
  const failed = runFinished((await expectExit(3, ['run', 'pipeline.yaml', '--json'], cwd)).stdout);
  assert.equal(failed.status, 'failed');
  assert.deepEqual(failed.stages, {
    big: 'failed',
    loop: 'failed',
    bare: 'failed',
    fine: 'succeeded',
    after_big: 'upstream_failed',
  });

  const status = await gpipeJson<StatusJson>(['status', '--json'], cwd);
  assert.equal(status.status, 'failed');
  const byName = Object.fromEntries(status.stages.map((stage) => [stage.stage, stage]));
  for (const name of ['big', 'loop', 'bare']) {
    assert.equal(byName[name]!.errorCode, 'OUTPUT_NOT_JSON', name);
    assert.match(
      byName[name]!.errorMessage!,
      new RegExp(`^stage '${name}' returned an output JSON cannot hold: `),
    );
  }
  assert.match(byName.big!.errorMessage!, /Do not know how to serialize a BigInt/);
  assert.match(byName.loop!.errorMessage!, /circular/);
  assert.match(byName.bare!.errorMessage!, /JSON has no symbol/);
  // Retried like any other error: its retry policy applies.
  assert.equal(byName.big!.attempts, 2);

  const runs = (await expectExit(0, ['runs'], cwd)).stdout;
  assert.match(runs, new RegExp(`${failed.runId}\\s+unencodable\\s+failed`));
  const shown = await expectExit(2, ['show', failed.runId, 'big'], cwd);
  assert.equal(
    shown.stderr,
    `gpipe: stage 'big' of run ${failed.runId} has no output: it failed\n`,
  );

  writeFileSync(join(cwd, 'stages.ts'), goodStages);
  const resumed = runFinished((await expectExit(0, ['resume', '--json'], cwd)).stdout);
  assert.equal(resumed.runId, failed.runId);
  assert.deepEqual(resumed.stages, {
    big: 'succeeded',
    loop: 'succeeded',
    bare: 'succeeded',
    fine: 'succeeded',
    after_big: 'succeeded',
  });
});

test('an inline stage() of the typed API returning a BigInt fails with OUTPUT_NOT_JSON', async () => {
  const api = join(import.meta.dirname, '..', 'src', 'index.ts');
  const cwd = spaces.make([], {
    'package.json': '{ "type": "module" }',
    'typed.ts': [
      `import { pipeline, stage } from ${JSON.stringify(api)};`,
      "const count = stage('count', () => ({ total: 2n ** 70n }));",
      "const report = stage('report', { deps: { count } }, () => 'done');",
      "export default pipeline('typed-bigint', [report]);",
    ].join('\n'),
  });
  const { stdout, stderr } = await expectExit(3, ['run', 'typed.ts'], cwd);
  assert.doesNotMatch(stderr, /internal error/);
  assert.match(
    stdout,
    /✗ count: stage 'count' returned an output JSON cannot hold: Do not know how to serialize a BigInt/,
  );
  const status = await gpipeJson<StatusJson>(['status', '--json'], cwd);
  const count = status.stages.find((stage) => stage.stage === 'count')!;
  assert.equal(count.errorCode, 'OUTPUT_NOT_JSON');
  assert.equal(status.stages.find((stage) => stage.stage === 'report')!.status, 'upstream_failed');
});
