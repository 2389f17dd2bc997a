import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LogMerge } from './log-merge.ts';
import { formatLogLine, parseLogLine } from './stage-log-line.ts';

const dir = mkdtempSync(join(tmpdir(), 'gp-log-merge-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const at = (ms: number) => new Date(Date.UTC(2026, 11, 2) + ms).toISOString();
const line = (ms: number, text: string, stream: 'stdout' | 'stderr' = 'stdout') =>
  formatLogLine(at(ms), stream, text);

function drained(merge: LogMerge): string[] {
  const printed: string[] = [];
  merge.drain((lines) => printed.push(...lines));
  return printed;
}

const texts = (lines: string[]) => lines.map((l) => l.replace(/^(\[\w+\] )?\S+ \w+ \| /, '$1'));

test('interleaves logs by time; a tie goes in the order of the logs; a line without a time stays with its neighbours', () => {
  const a = join(dir, 'a.log');
  const b = join(dir, 'b.log');
  writeFileSync(a, [line(1, 'a1'), line(5, 'a5'), 'a plain line\n', line(9, 'a9')].join(''));
  writeFileSync(b, line(0, 'b0') + line(5, 'b5') + line(7, 'b7', 'stderr'));
  const merge = new LogMerge(
    [
      { path: a, prefix: '[a] ' },
      { path: b, prefix: '[b] ' },
      { path: join(dir, 'missing.log'), prefix: '[c] ' },
    ],
    () => true,
  );
  assert.deepEqual(texts(drained(merge)), [
    '[b] b0',
    '[a] a1',
    '[a] a5',
    '[a] a plain line',
    '[b] b5',
    '[b] b7',
    '[a] a9',
  ]);
  assert.deepEqual(drained(merge), [], 'nothing new');
  appendFileSync(b, line(10, 'b10'));
  appendFileSync(a, line(8, 'a8 late'));
  assert.deepEqual(texts(drained(merge)), ['[a] a8 late', '[b] b10'], 'only what came since');
});

test('keeps only the lines asked for', () => {
  const a = join(dir, 'k.log');
  writeFileSync(a, line(1, 'out') + line(2, 'err', 'stderr'));
  const merge = new LogMerge([{ path: a, prefix: '' }], (l) => l.stream === 'stderr');
  assert.deepEqual(texts(drained(merge)), ['err']);
});

test('logs of many chunks merge whole and in order', () => {
  const logs = [0, 1, 2].map((k) => {
    const path = join(dir, `big-${k}.log`);
    let text = '';
    for (let i = 0; i < 6000; i++) text += line(i * 3 + k, `${k}:${i} ${'x'.repeat(40)}`);
    writeFileSync(path, text);
    return { path, prefix: `[${k}] ` };
  });
  const printed = drained(new LogMerge(logs, () => true));
  assert.equal(printed.length, 18000);
  const times = printed.map((l) => parseLogLine(l.slice(4)).time);
  assert.ok(
    times.every((t, i) => i === 0 || t > times[i - 1]!),
    'strictly by time',
  );
});

test('a drain of some logs reads only those; the rest wait for a later drain', () => {
  const [a, b] = ['only-a.log', 'only-b.log'].map((name) => join(dir, name)) as [string, string];
  writeFileSync(a, line(1, 'a1'));
  writeFileSync(b, line(2, 'b2'));
  const format = (log: { stage?: string }, _raw: string, l: { text: string }) =>
    `${log.stage}:${l.text}`;
  const merge = new LogMerge([], () => true, format);
  const ia = merge.add({ path: a, prefix: '', stage: 'a' });
  merge.add({ path: b, prefix: '', stage: 'b' });
  const printed: string[] = [];
  merge.drain((lines) => printed.push(...lines), [ia, ia]);
  assert.deepEqual(printed, ['a:a1']);
  merge.drain((lines) => printed.push(...lines));
  assert.deepEqual(printed, ['a:a1', 'b:b2']);
});
