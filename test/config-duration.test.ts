import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../src/config/duration.ts';

test('durations: seconds as numbers or text, units, and combinations', () => {
  const cases: [number | string, number][] = [
    [90, 90_000],
    [0.5, 500],
    [0, 0],
    ['90', 90_000],
    ['1.5', 1500],
    ['250ms', 250],
    ['90s', 90_000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    [' 1m 30s ', 90_000],
  ];
  for (const [text, ms] of cases)
    assert.equal(parseDuration(text), ms, `parseDuration(${JSON.stringify(text)})`);
});

test('what is not a duration gives undefined', () => {
  for (const text of [
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    'soon',
    '5x',
    '10 minutes',
    '-5s',
    's',
    '1h30',
  ]) {
    assert.equal(parseDuration(text), undefined, `parseDuration(${JSON.stringify(text)})`);
  }
});
