import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import type { RunEvent } from '../scheduler/events.ts';
import { PipelineLog } from './pipeline-log.ts';

const root = mkdtempSync(join(tmpdir(), 'gp-pipeline-log-'));
after(() => rmSync(root, { recursive: true, force: true }));

const ts = Date.parse('2026-12-01T20:00:00.000Z');
const events: RunEvent[] = [
  { event: 'run_started', runId: 'r1', pipeline: 'p', stages: 2, runDir: join(root, 'run'), ts },
  { event: 'stage_started', stage: 'load', attempt: 1, ts: ts + 1 },
  { event: 'stage_finished', stage: 'load', attempt: 1, status: 'succeeded', ts: ts + 1201 },
  { event: 'stage_started', stage: 'train', attempt: 1, ts: ts + 1300 },
  {
    event: 'stage_finished',
    stage: 'train',
    attempt: 1,
    status: 'failed',
    exitCode: 3,
    error: {
      name: 'PipelineError',
      code: 'EXIT_CODE',
      message: 'token s3cr3t-value refused',
      retryable: true,
    },
    ts: ts + 2300,
  },
  { event: 'run_finished', runId: 'r1', status: 'failed', stages: {}, ts: ts + 2400 },
];

test('a run directory log at INFO: every transition, secrets masked', async () => {
  const log = new PipelineLog({ redact: (text) => text.replaceAll('s3cr3t-value', '***') });
  for (const event of events) log.onEvent(event);
  await turn();
  log.close();
  const text = readFileSync(join(root, 'run', 'pipeline.log'), 'utf8');
  assert.equal(
    text,
    [
      '2026-12-01T20:00:00.000Z | INFO     | run r1 of p started: 2 stages',
      '2026-12-01T20:00:00.001Z | INFO     | stage load started (attempt 1)',
      '2026-12-01T20:00:01.201Z | SUCCESS  | stage load succeeded in 1.2s',
      '2026-12-01T20:00:01.300Z | INFO     | stage train started (attempt 1)',
      '2026-12-01T20:00:02.300Z | ERROR    | stage train failed (exit 3) in 1.0s: token *** refused',
      '2026-12-01T20:00:02.400Z | ERROR    | run r1 failed',
      '',
    ].join('\n'),
  );
});

test('a TOML log: pipeline_<id>_<timestamp>.log in its directory, at its level', () => {
  const dir = join(root, 'work', 'logs');
  const log = new PipelineLog({ dir, pipelineId: 'data_v1', level: 'WARNING' });
  for (const event of events) log.onEvent(event);
  log.close();
  assert.deepEqual(readdirSync(dir), ['pipeline_data_v1_20261201_200000.log']);
  const lines = readFileSync(join(dir, 'pipeline_data_v1_20261201_200000.log'), 'utf8')
    .trimEnd()
    .split('\n');
  assert.equal(lines.length, 2);
  assert.ok(lines.every((line) => line.includes('| ERROR    |')));
});
