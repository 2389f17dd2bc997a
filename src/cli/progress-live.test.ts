import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEvent } from '../scheduler/events.ts';
import { plainPalette } from './colors.ts';
import { progressBar } from './progress-bar.ts';
import { renderLiveFrame } from './progress-live.ts';
import { formatPlainLine } from './progress-plain.ts';
import { ProgressState } from './progress-state.ts';

/** The start of a run of `stages` stages, at time 0: every test's first event. */
function runStarted(pipeline: string, stages: number): RunEvent {
  return { event: 'run_started', runId: 'r', pipeline, stages, runDir: '/r', ts: 0 };
}

test('a progress bar shows the share done, the rate of this run and the time left', () => {
  assert.equal(
    progressBar({ done: 30, total: 100, doneBefore: 10, startedAt: 0, now: 10_000 }),
    '[██████░░░░░░░░░░░░░░] 30% 30/100 · 2.0/s · ETA 35.0s',
  );
  assert.equal(progressBar({ done: 0, total: 4, startedAt: 0, now: 0, cells: 4 }), '[░░░░] 0% 0/4');
});

test('the frame: counts, a bar for a long run and for a fan-out, running stages with CPU and RSS', () => {
  const state = new ProgressState();
  const events: RunEvent[] = [
    runStarted('fan', 2),
    { event: 'stage_started', stage: 'split', attempt: 1, ts: 0 },
    { event: 'stage_finished', stage: 'split', attempt: 1, status: 'succeeded', ts: 1000 },
  ];
  for (let i = 0; i < 20; i++)
    events.push({ event: 'stage_started', stage: `shard[${i}]`, attempt: 1, ts: 1000 });
  for (let i = 0; i < 10; i++) {
    events.push({
      event: 'stage_finished',
      stage: `shard[${i}]`,
      attempt: 1,
      status: 'succeeded',
      ts: 3000,
    });
  }
  for (const event of events) state.apply(event);
  state.applySample({
    event: 'stage_sample',
    stage: 'shard[10]',
    ts: 3000,
    cpuPercent: 97.4,
    rssMb: 312.2,
  });
  state.applySample({
    event: 'stage_sample',
    stage: 'shard[0]',
    ts: 3000,
    cpuPercent: 50,
    rssMb: 1,
  }); // done: ignored
  const lines = renderLiveFrame(state, 5000, { palette: plainPalette, width: 120, maxRunning: 2 });
  assert.match(lines[0]!, /^. fan 5\.0s {2}11\/22 done · 10 running · 0 failed · 1 pending$/);
  assert.equal(lines[1], '  [██████████░░░░░░░░░░] 50% 11/22 · 2.2/s · ETA 5.0s');
  assert.equal(lines[2], '  shard[…] [█████░░░░░] 50% 10/20 · 2.5/s · ETA 4.0s');
  assert.equal(lines[3], '  ▸ shard[10]  4.0s  cpu 97% · rss 312 MB');
  assert.equal(lines[4], '  ▸ shard[11]  4.0s');
  assert.equal(lines[5], '  … and 8 more running');
});

test('a short run gets no bar', () => {
  const state = new ProgressState();
  state.apply(runStarted('p', 2));
  const lines = renderLiveFrame(state, 1000, { palette: plainPalette, width: 80 });
  assert.equal(lines.length, 1);
});

test('stage_mapped: a fan-out counts its announced items from the start, nested lists add up', () => {
  const state = new ProgressState();
  state.apply(runStarted('fan', 3));
  state.apply({ event: 'stage_finished', stage: 'list', attempt: 1, status: 'succeeded', ts: 0 });
  state.apply({ event: 'stage_mapped', stage: 'map', over: 'list', items: 100, ts: 0 });
  for (let i = 0; i < 2; i++)
    state.apply({ event: 'stage_started', stage: `map[${i}]`, attempt: 1, ts: 0 });
  let lines = renderLiveFrame(state, 1000, { palette: plainPalette, width: 120 });
  // Two started of 100: the bar says 100 from the first frame, not 2.
  assert.equal(lines[2], '  map[…] [░░░░░░░░░░] 0% 0/100');
  assert.match(lines[0]!, / 1\/103 done · 2 running · 0 failed · 100 pending$/);
  for (let i = 0; i < 37; i++) {
    const stage = `map[${i}]`;
    state.apply({ event: 'stage_started', stage, attempt: 1, ts: 0 });
    state.apply({ event: 'stage_finished', stage, attempt: 1, status: 'succeeded', ts: 10_000 });
  }
  lines = renderLiveFrame(state, 10_000, { palette: plainPalette, width: 120 });
  assert.equal(lines[2], '  map[…] [████░░░░░░] 37% 37/100 · 3.7/s · ETA 17.0s');
  const group = state.groupOf('map[36]');
  assert.equal(
    formatPlainLine(
      { event: 'stage_finished', stage: 'map[36]', attempt: 1, status: 'succeeded', ts: 10_000 },
      state.stage('map[36]'),
      { palette: plainPalette, clockTime: () => '12:00:10', ...(group && { group }) },
    ),
    '12:00:10 ✓ map[36] (10.0s) · map[…] 37/100 · 3.7/s · ETA 17.0s',
  );

  // A nested fan-out's inner lists are announced one by one, under one group.
  state.apply({ event: 'stage_mapped', stage: 'words', over: 'map[0]', items: 3, ts: 10_000 });
  state.apply({ event: 'stage_mapped', stage: 'words', over: 'map[1]', items: 2, ts: 10_000 });
  state.apply({ event: 'stage_started', stage: 'words[1][1]', attempt: 1, ts: 10_000 });
  assert.deepEqual(
    state.groups().map(({ prefix, total }) => [prefix, total]),
    [
      ['map', 100],
      ['words', 5],
    ],
  );
  assert.equal(state.total, 108);
  assert.equal(
    formatPlainLine(
      { event: 'stage_mapped', stage: 'words', over: 'map[1]', items: 2, ts: 10_000 },
      undefined,
      { palette: plainPalette, clockTime: () => '12:00:10' },
    ),
    '12:00:10 ⋯ words mapped over map[1]: 2 items',
  );
});

test('a resumed fan-out: items done before count in the bar, not in the rate', () => {
  const state = new ProgressState();
  state.apply(runStarted('fan', 2));
  state.apply({ event: 'stage_mapped', stage: 'map', over: 'list', items: 10, ts: 0 });
  for (let i = 0; i < 8; i++) {
    state.apply({
      event: 'stage_finished',
      stage: `map[${i}]`,
      attempt: 1,
      status: 'succeeded',
      ts: 0,
      reused: true,
    });
  }
  state.apply({ event: 'stage_started', stage: 'map[8]', attempt: 2, ts: 0 });
  state.apply({
    event: 'stage_finished',
    stage: 'map[8]',
    attempt: 2,
    status: 'succeeded',
    ts: 1000,
  });
  const lines = renderLiveFrame(state, 1000, { palette: plainPalette, width: 120, barFrom: 100 });
  assert.equal(lines[1], '  map[…] [█████████░] 90% 9/10 · 1.0/s · ETA 1.0s');
});
