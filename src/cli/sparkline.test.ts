import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sparkline } from './sparkline.ts';

test('a sparkline goes from the lowest bar to the highest', () => {
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([3, 3, 3]), '▁▁▁');
  assert.equal(sparkline([]), '');
});

test('a long series is averaged into at most `width` bars', () => {
  const line = sparkline(
    Array.from({ length: 1000 }, (_, i) => 1000 - i),
    10,
  );
  assert.equal(line.length, 10);
  assert.equal(line[0], '█');
  assert.equal(line[9], '▁');
});
