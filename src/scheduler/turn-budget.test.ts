import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chain, inlinePipelineOf } from '../../bench/dags.ts';
import { createExecutors } from '../executors/default-executors.ts';
import { runPipeline } from './engine.ts';
import { TurnBudget } from './turn-budget.ts';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('a spent turn says no until resume has run in a later turn', async () => {
  let resumed = 0;
  const budget = new TurnBudget(() => resumed++, 0);
  assert.equal(budget.allows(), true, 'the first call of a turn starts it');
  const until = performance.now() + 2;
  while (performance.now() <= until) {} // the turn outlasts its 0 ms
  assert.equal(budget.allows(), false);
  assert.equal(budget.allows(), false, 'still spent, and resume is asked for once');
  assert.equal(resumed, 0, 'resume waits for a later turn');
  await nextTurn();
  await nextTurn();
  assert.equal(resumed, 1);
  assert.equal(budget.allows(), true, 'a new turn has its budget again');
});

test('a turn within its budget goes on, and the next turn starts afresh', async () => {
  const budget = new TurnBudget(() => assert.fail('never spent'), 60_000);
  for (let i = 0; i < 1000; i++) assert.equal(budget.allows(), true);
  await nextTurn();
  assert.equal(budget.allows(), true);
});

test('a burst of in-process stages lets timers and I/O in while it runs', async () => {
  // Each stage settles in microtasks: without turns, the first timer would fire only after the
  // last stage. 20,000 stages take far longer than one turn's 8 ms on any machine.
  const n = 20_000;
  let started = 0;
  let startedWhenTimerFired = -1;
  const spec = inlinePipelineOf(
    chain(n),
    (i) => () => {
      started++;
      return i;
    },
    2,
  );
  setTimeout(() => {
    startedWhenTimerFired = started;
  }, 0);
  const result = await runPipeline(spec, {
    executors: createExecutors(spec),
    workspaceRoot: '.',
    hostCpus: 2,
  });
  assert.equal(result.status, 'succeeded');
  assert.equal(started, n);
  assert.ok(
    startedWhenTimerFired >= 0 && startedWhenTimerFired < n,
    `the timer fired after ${startedWhenTimerFired} of ${n} stages`,
  );
});
