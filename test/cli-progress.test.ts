// Pure renderers of `gpipe run`: progress state, plain lines, the live frame, the summary.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { plainPalette } from '../src/cli/colors.ts';
import { errorHeadline, fitWidth, formatDuration, stripAnsi } from '../src/cli/format-text.ts';
import { renderLiveFrame } from '../src/cli/progress-live.ts';
import { formatPlainLine } from '../src/cli/progress-plain.ts';
import { ProgressState } from '../src/cli/progress-state.ts';
import { renderSummary } from '../src/cli/progress-summary.ts';
import type { SerializedError } from '../src/errors.ts';
import type { RunResult } from '../src/scheduler/engine.ts';
import type { RunEvent } from '../src/scheduler/events.ts';

const t0 = new Date(2026, 0, 2, 12, 1, 3).getTime();
const plain = { palette: plainPalette };

function failure(code: string, message: string): SerializedError {
  return { code, name: 'PipelineError', message, retryable: true };
}

const exitFailure = failure(
  'EXIT_CODE',
  'command exited with code 3; last output:\nTraceback\nValueError: bad input',
);

/** A run in the middle: clean done, train failed, fetch waiting to retry, load running, two pending. */
const events: RunEvent[] = [
  { event: 'run_started', runId: 'r1', pipeline: 'demo', stages: 6, runDir: '/w/r1', ts: t0 },
  { event: 'stage_started', stage: 'clean', attempt: 1, ts: t0 },
  { event: 'stage_started', stage: 'fetch', attempt: 1, ts: t0 + 100 },
  {
    event: 'stage_finished',
    stage: 'clean',
    attempt: 1,
    status: 'succeeded',
    exitCode: 0,
    ts: t0 + 1200,
  },
  { event: 'stage_started', stage: 'train', attempt: 1, ts: t0 + 1200 },
  {
    event: 'stage_retrying',
    stage: 'fetch',
    attempt: 1,
    delayMs: 1000,
    exitCode: 1,
    error: failure('EXIT_CODE', 'command exited with code 1'),
    ts: t0 + 1500,
  },
  { event: 'stage_started', stage: 'load', attempt: 1, ts: t0 + 1600 },
  {
    event: 'stage_finished',
    stage: 'train',
    attempt: 1,
    status: 'failed',
    exitCode: 3,
    error: exitFailure,
    ts: t0 + 2000,
  },
];

function stateAfter(list: readonly RunEvent[]): ProgressState {
  const state = new ProgressState();
  for (const event of list) state.apply(event);
  return state;
}

describe('ProgressState', () => {
  test('counts stages by status, unnamed ones as pending', () => {
    const counts = stateAfter(events).counts();
    assert.equal(counts.succeeded, 1);
    assert.equal(counts.failed, 1);
    assert.equal(counts.running, 2); // load, and fetch between attempts
    assert.equal(counts.pending, 2);
  });

  test('lists running stages oldest first and the last finished in order', () => {
    const state = stateAfter(events);
    assert.deepEqual(
      state.running().map((stage) => stage.name),
      ['fetch', 'load'],
    );
    assert.equal(state.stage('fetch')?.retryAt, t0 + 2500);
    assert.deepEqual(
      state.recentlyFinished(5).map((stage) => stage.name),
      ['clean', 'train'],
    );
  });

  test('a restarted attempt clears the retry wait', () => {
    const state = stateAfter([
      ...events,
      { event: 'stage_started', stage: 'fetch', attempt: 2, ts: t0 + 2600 },
    ]);
    const fetch = state.stage('fetch')!;
    assert.equal(fetch.retryAt, undefined);
    assert.equal(fetch.attempt, 2);
    assert.equal(fetch.startedAt, t0 + 2600);
  });
});

describe('formatPlainLine', () => {
  const lineOf = (upTo: number) => {
    const state = stateAfter(events.slice(0, upTo));
    const event = events[upTo]!;
    return formatPlainLine(event, state.apply(event), plain);
  };

  test('one line per transition, with local time and duration', () => {
    assert.equal(lineOf(0), "12:01:03 run r1: pipeline 'demo', 6 stages");
    assert.equal(lineOf(1), '12:01:03 ▸ clean started');
    assert.equal(lineOf(3), '12:01:04 ✓ clean (1.2s)');
    assert.equal(lineOf(5), '12:01:04 ↻ fetch retry 2 in 1.0s: command exited with code 1');
    assert.equal(
      lineOf(7),
      '12:01:05 ✗ train failed (exit 3, 0.8s): command exited with code 3; last output … ValueError: bad input',
    );
  });

  test('stages that never ran, fallbacks, timeouts, later attempts', () => {
    const at = (event: RunEvent) =>
      formatPlainLine(event, undefined, { ...plain, clockTime: () => 'T' });
    assert.equal(
      at({
        event: 'stage_finished',
        stage: 'report',
        attempt: 0,
        status: 'upstream_failed',
        ts: t0,
      }),
      'T ⊘ report upstream_failed',
    );
    assert.equal(
      at({
        event: 'stage_fallback',
        stage: 'lint',
        attempt: 1,
        fallback: 'lint_soft',
        error: failure('EXIT_CODE', 'boom'),
        ts: t0,
      }),
      'T ⤷ lint failed, running its fallback lint_soft: boom',
    );
    assert.equal(
      at({ event: 'stage_started', stage: 'lint', attempt: 2, fallback: 'lint_soft', ts: t0 }),
      'T ▸ lint started (attempt 2, fallback lint_soft)',
    );
    assert.equal(
      at({
        event: 'stage_finished',
        stage: 'nap',
        attempt: 1,
        status: 'failed',
        exitCode: 143,
        error: failure('TIMEOUT', "stage 'nap' timed out after 300 ms"),
        ts: t0,
      }),
      "T ✗ nap failed (timeout): stage 'nap' timed out after 300 ms",
    );
    assert.equal(
      at({ event: 'run_finished', runId: 'r1', status: 'succeeded', stages: {}, ts: t0 }),
      undefined,
    );
  });
});

describe('renderLiveFrame', () => {
  test('counts, elapsed time, running stages with their time, the last finished', () => {
    const frame = renderLiveFrame(stateAfter(events), t0 + 2300, { ...plain, width: 200 });
    assert.deepEqual(frame, [
      '⠸ demo 2.3s  1/6 done · 2 running · 1 failed · 2 pending',
      '  ↻ fetch  retry 2 in 0.2s',
      '  ▸ load   0.7s',
      '  ✓ clean  1.2s',
      '  ✗ train  failed (exit 3): command exited with code 3; last output … ValueError: bad input',
    ]);
  });

  test('lines are cut to the terminal width and extra running stages are counted', () => {
    const many: RunEvent[] = [
      { event: 'run_started', runId: 'r', pipeline: 'wide', stages: 12, runDir: '/w/r', ts: t0 },
    ];
    for (let i = 0; i < 10; i++)
      many.push({ event: 'stage_started', stage: `stage-${i}`, attempt: 1, ts: t0 + i });
    const frame = renderLiveFrame(stateAfter(many), t0 + 1000, {
      ...plain,
      width: 30,
      maxRunning: 3,
    });
    assert.equal(frame.length, 5);
    assert.equal(frame[4], '  … and 7 more running');
    for (const line of frame) assert.ok(line.length <= 30, line);
    assert.equal(frame[0], '⠋ wide 1.0s  0/12 done · 10 r…');
  });
});

describe('renderSummary', () => {
  const result: RunResult = {
    runId: 'r1',
    status: 'failed',
    runDir: '/work/ws/.gpipe/runs/r1',
    stages: {
      clean: { status: 'succeeded', attempts: 1 },
      train: { status: 'failed', attempts: 1, exitCode: 3, error: exitFailure },
      report: { status: 'upstream_failed', attempts: 0 },
    },
  };

  test('status, counts, wall time, failures with their message, where the logs are', () => {
    const lines = renderSummary(result, {
      ...plain,
      wallMs: 3240,
      cwd: '/work/ws',
      exists: () => true,
    });
    assert.deepEqual(lines, [
      '✗ run r1 failed after 3.2s: 1 succeeded, 1 failed, 1 upstream_failed',
      '  ✗ train (exit 3): command exited with code 3; last output:',
      '      Traceback',
      '      ValueError: bad input',
      '    log: .gpipe/runs/r1/train/stage.log',
      'logs: .gpipe/runs/r1/{stage}/stage.log',
    ]);
  });

  test('long messages are cut; paths outside the working directory stay absolute', () => {
    const long = failure('EXIT_CODE', Array.from({ length: 10 }, (_, i) => `line ${i}`).join('\n'));
    const lines = renderSummary(
      { ...result, stages: { train: { status: 'failed', attempts: 1, error: long } } },
      { ...plain, wallMs: 65_000, cwd: '/elsewhere', errorLines: 2, exists: () => false },
    );
    assert.deepEqual(lines, [
      '✗ run r1 failed after 1m05s: 1 failed',
      '  ✗ train: line 0',
      '      line 1',
      '      … 8 more lines',
      'logs: /work/ws/.gpipe/runs/r1/{stage}/stage.log',
    ]);
  });

  test('a cancelled run says so', () => {
    const cancelled: RunResult = {
      ...result,
      status: 'cancelled',
      stages: { a: { status: 'cancelled', attempts: 1 } },
    };
    const [head] = renderSummary(cancelled, { ...plain, wallMs: 500, cwd: '/work/ws' });
    assert.equal(head, '⊘ run r1 cancelled after 0.5s: 1 cancelled');
  });
});

describe('text formatting', () => {
  test('durations', () => {
    assert.equal(formatDuration(0), '0.0s');
    assert.equal(formatDuration(1234), '1.2s');
    assert.equal(formatDuration(59_960), '1m00s');
    assert.equal(formatDuration(125_000), '2m05s');
    assert.equal(formatDuration(3_720_000), '1h02m');
  });

  test('error headlines join the first and last lines', () => {
    assert.equal(errorHeadline('one line'), 'one line');
    assert.equal(errorHeadline('head:\n  middle\n  last\n'), 'head … last');
    assert.equal(errorHeadline(''), 'failed');
  });

  test('fitWidth counts visible characters only and closes colours', () => {
    assert.equal(fitWidth('abcdef', 4), 'abc…');
    assert.equal(fitWidth('abc', 4), 'abc');
    const colored = `\x1b[31m${'x'.repeat(10)}\x1b[39m`;
    const cut = fitWidth(colored, 5);
    assert.equal(stripAnsi(cut), 'xxxx…');
    assert.ok(cut.endsWith('\x1b[0m'));
  });
});
