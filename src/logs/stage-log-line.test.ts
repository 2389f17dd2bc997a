import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLogLine, parseLogLine } from './stage-log-line.ts';

test('a formatted line parses back to its time, stream and text', () => {
  const line = formatLogLine('2026-12-01T20:00:00.123Z', 'stderr', 'a | b').trimEnd();
  assert.equal(line, '2026-12-01T20:00:00.123Z stderr | a | b');
  assert.deepEqual(parseLogLine(line), {
    time: Date.parse('2026-12-01T20:00:00.123Z'),
    timestamp: '2026-12-01T20:00:00.123Z',
    stream: 'stderr',
    text: 'a | b',
  });
  assert.equal(parseLogLine('2026-12-01T20:00:00.123Z stdout | ').text, '');
});

test('a line in no known format is stdout text without a time', () => {
  const parsed = parseLogLine('plain output');
  assert.equal(parsed.text, 'plain output');
  assert.equal(parsed.stream, 'stdout');
  assert.ok(Number.isNaN(parsed.time));
});
