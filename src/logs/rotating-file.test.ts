import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RotatingFile } from './rotating-file.ts';

const root = mkdtempSync(join(tmpdir(), 'gp-rotate-'));
after(() => rmSync(root, { recursive: true, force: true }));
const day = 86_400_000;

test('passing the rotation size moves on to a second file', () => {
  const dir = join(root, 'size');
  const file = new RotatingFile({
    dir,
    stem: 'pipeline_p_1',
    prefix: 'pipeline_p_',
    rotation: { bytes: 50 },
  });
  const line = `${'x'.repeat(29)}\n`; // 30 bytes
  file.write(line);
  assert.equal(file.path, join(dir, 'pipeline_p_1.log'));
  file.write(line); // 60 > 50: a new file
  file.write(line);
  file.close();
  assert.deepEqual(readdirSync(dir).sort(), [
    'pipeline_p_1.1.log',
    'pipeline_p_1.2.log',
    'pipeline_p_1.log',
  ]);
  assert.equal(readFileSync(join(dir, 'pipeline_p_1.log'), 'utf8'), line);
  assert.equal(readFileSync(join(dir, 'pipeline_p_1.1.log'), 'utf8'), line);
});

test('retention in days deletes older logs of the pipeline, and only those', () => {
  const dir = join(root, 'days');
  const now = Date.now();
  new RotatingFile({ dir, stem: 'seed', prefix: 'x' }).close(); // makes the directory
  const aged = (name: string, days: number) => {
    writeFileSync(join(dir, name), 'old\n');
    const at = new Date(now - days * day);
    utimesSync(join(dir, name), at, at);
  };
  aged('pipeline_p_old.log', 40);
  aged('pipeline_p_recent.log', 10);
  aged('pipeline_other_old.log', 40); // another pipeline's: not ours to delete
  aged('notes.txt', 40);
  const file = new RotatingFile({
    dir,
    stem: 'pipeline_p_new',
    prefix: 'pipeline_p_',
    retention: { days: 30 },
  });
  file.write('new\n');
  file.close();
  assert.deepEqual(readdirSync(dir).sort(), [
    'notes.txt',
    'pipeline_other_old.log',
    'pipeline_p_new.log',
    'pipeline_p_recent.log',
    'seed.log',
  ]);
});

test('retention as a count keeps the newest files, the current one included', () => {
  const dir = join(root, 'count');
  new RotatingFile({ dir, stem: 'seed', prefix: 'x' }).close();
  for (let i = 1; i <= 4; i++) {
    writeFileSync(join(dir, `pipeline_p_${i}.log`), '');
    const at = new Date(Date.now() - (10 - i) * day);
    utimesSync(join(dir, `pipeline_p_${i}.log`), at, at);
  }
  new RotatingFile({
    dir,
    stem: 'pipeline_p_5',
    prefix: 'pipeline_p_',
    retention: { files: 2 },
  }).close();
  assert.deepEqual(
    readdirSync(dir)
      .filter((n) => n.startsWith('pipeline_p_'))
      .sort(),
    ['pipeline_p_4.log', 'pipeline_p_5.log'],
  );
});
