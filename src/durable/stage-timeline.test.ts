import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainPalette } from '../cli/colors.ts';
import { renderStageTable } from '../cli/stage-table.ts';
import type { StageSpec } from '../graph/pipeline.ts';
import { validatePipeline } from '../graph/validate.ts';
import type { ResourceSummary } from '../monitor/resource-sample.ts';
import { StageTimeline } from './stage-timeline.ts';

// a → b → d and a → c → d: c is the long branch.
function diamond() {
  const stage = (name: string, dependsOn: string[] = []): StageSpec => ({
    name,
    dependsOn,
    cpus: 1,
    task: { kind: 'command', argv: ['true'], shell: false },
  });
  const checked = validatePipeline(
    {
      name: 'd',
      stages: [stage('a'), stage('b', ['a']), stage('c', ['a']), stage('d', ['b', 'c'])],
      mode: 'parallel',
      failurePolicy: 'fail_fast',
    },
    2,
  );
  assert.ok('pipeline' in checked);
  return checked.pipeline;
}

const resources: ResourceSummary = {
  source: 'process',
  samples: 4,
  peakRssBytes: 512 * 1024 * 1024,
  cpuSeconds: 3.456,
  avgCpuPercent: 95,
  readBytes: 0,
  writeBytes: 0,
  netRxBytes: 0,
  netTxBytes: 0,
};

function ran(timeline: StageTimeline, stage: string, from: number, to: number, extra = {}) {
  timeline.observe({ event: 'stage_started', stage, attempt: 1, ts: from });
  timeline.observe({
    event: 'stage_finished',
    stage,
    attempt: 1,
    status: 'succeeded',
    ts: to,
    ...extra,
  });
}

/** The diamond run: a 1 s, b 0.5 s and c 3 s (with figures) after it, d from the cache. */
function diamondRun(): StageTimeline {
  const timeline = new StageTimeline(diamond());
  ran(timeline, 'a', 0, 1000);
  ran(timeline, 'b', 1000, 1500);
  ran(timeline, 'c', 1000, 4000, {
    result: { status: 'succeeded', startedAt: 1000, endedAt: 4000, resources },
  });
  timeline.observe({ event: 'stage_finished', stage: 'd', attempt: 1, status: 'cached', ts: 4000 });
  return timeline;
}

test('the critical path follows the longest chain by actual durations', () => {
  const timeline = diamondRun();
  const report = timeline.report(diamond());
  // d did not run: the path of what ran ends at c.
  assert.deepEqual(report.criticalPath, { stages: ['a', 'c'], ms: 4000 });
  assert.deepEqual(
    report.stages.map((s) => [s.stage, s.status, s.durationMs, s.cached]),
    [
      ['a', 'succeeded', 1000, false],
      ['b', 'succeeded', 500, false],
      ['c', 'succeeded', 3000, false],
      ['d', 'cached', undefined, true],
    ],
  );
  assert.equal(report.stages[2]!.resources, resources);
});

test('the stage table: longest first, figures, cache hits, the rest counted, the path', () => {
  const timeline = diamondRun();
  const lines = renderStageTable(timeline.report(diamond()), { palette: plainPalette, top: 3 });
  assert.deepEqual(lines, [
    'STAGE  STATUS     DURATION  PEAK RSS  CPU-S  CACHE',
    'c      succeeded  3.0s      512 MB    3.46   -',
    'a      succeeded  1.0s      -         -      -',
    'b      succeeded  0.5s      -         -      -',
    '… 1 more stage (shorter)',
    'critical path: 4.0s over 2 stages: a → c',
  ]);
});

test('a retried stage is timed from its first start; names outside the graph are left out', () => {
  const timeline = new StageTimeline(diamond());
  timeline.observe({ event: 'stage_started', stage: 'a', attempt: 1, ts: 0 });
  timeline.observe({ event: 'stage_started', stage: 'a', attempt: 2, ts: 600 });
  timeline.observe({ event: 'stage_started', stage: 'a[0]', attempt: 1, ts: 700 });
  timeline.observe({ event: 'stage_finished', stage: 'a', attempt: 2, status: 'failed', ts: 900 });
  const report = timeline.report(diamond());
  assert.deepEqual(
    report.stages.map((s) => [s.stage, s.status, s.durationMs, s.cached]),
    [
      ['a', 'failed', 900, false],
      ['b', 'pending', undefined, false],
      ['c', 'pending', undefined, false],
      ['d', 'pending', undefined, false],
    ],
  );
});

test('stages that did not run now are not on the path; one reused from an earlier run says so', () => {
  const timeline = new StageTimeline(diamond());
  timeline.observe({
    event: 'stage_finished',
    stage: 'a',
    attempt: 1,
    status: 'succeeded',
    reused: true,
    ts: 0,
  });
  ran(timeline, 'b', 10, 500);
  timeline.observe({ event: 'stage_finished', stage: 'c', attempt: 1, status: 'failed', ts: 20 });
  timeline.observe({
    event: 'stage_finished',
    stage: 'd',
    attempt: 1,
    status: 'upstream_failed',
    ts: 30,
  });
  const report = timeline.report(diamond());
  assert.deepEqual(report.criticalPath, { stages: ['b'], ms: 490 });
  const lines = renderStageTable(report, { palette: plainPalette });
  assert.match(lines.find((line) => line.startsWith('a '))!, / reuse$/);
  assert.match(lines.find((line) => line.startsWith('d '))!, / -$/);
});
