import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TailReader } from './tail-reader.ts';

const dir = mkdtempSync(join(tmpdir(), 'gp-tail-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function readAll(reader: TailReader): { lines: string[]; bytes: number } {
  const lines: string[] = [];
  const bytes = reader.read((line) => lines.push(line));
  return { lines, bytes };
}

test('three appends: each read reads only the new bytes; a partial line waits for its end', () => {
  const file = join(dir, 'three.jsonl');
  const reader = new TailReader(file, { chunkSize: 7 });
  assert.deepEqual(readAll(reader), { lines: [], bytes: 0 }); // no file yet

  writeFileSync(file, '{"a":1}\n{"a":2}\n{"a"');
  assert.deepEqual(readAll(reader), { lines: ['{"a":1}', '{"a":2}'], bytes: 20 });
  assert.equal(reader.offset, 16);

  appendFileSync(file, ':3}\n{"a":4}\n');
  assert.deepEqual(readAll(reader), { lines: ['{"a":3}', '{"a":4}'], bytes: 12 });

  appendFileSync(file, '{"a":5}\n');
  assert.deepEqual(readAll(reader), { lines: ['{"a":5}'], bytes: 8 });
  assert.deepEqual(readAll(reader), { lines: [], bytes: 0 });
  assert.equal(reader.bytesRead, 40);
  assert.equal(reader.offset, 40);
});

test('a reader made at a stored offset resumes there, multi-byte text intact', () => {
  const file = join(dir, 'resume.log');
  writeFileSync(file, 'first\nsecond é\n');
  const reader = new TailReader(file, { offset: 6, chunkSize: 3 });
  assert.deepEqual(readAll(reader), { lines: ['second é'], bytes: 10 });
});
