import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StageState } from '../../durable/run-state.ts';
import type { EventRecord } from '../../store/run-store.ts';
import { withItems } from './status-command.ts';

test('items done: ended on their own; interrupted and cancelled ones run again on resume', () => {
  const state = (stage: string, status: string): StageState => ({ stage, status, attempts: 1 });
  const stages = [
    state('square', 'running'),
    ...['succeeded', 'cached', 'failed', 'interrupted', 'cancelled', 'running'].map((status, i) =>
      state(`square[${i}]`, status),
    ),
  ];
  const mapped: EventRecord = {
    seq: 1,
    runId: 'r',
    ts: 0,
    type: 'stage_mapped',
    stage: 'square',
    data: { over: 'numbers', items: 6 },
  };
  const [square] = withItems(stages, [mapped]);
  assert.deepEqual([square?.items, square?.itemsDone], [6, 3]);
});
