import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRetention, parseRotation } from './log-config.ts';

test('rotation is a size or a time', () => {
  assert.deepEqual(parseRotation('10 GB'), { bytes: 10e9 });
  assert.deepEqual(parseRotation('1.5MiB'), { bytes: 1.5 * 1024 * 1024 });
  assert.deepEqual(parseRotation(4096), { bytes: 4096 });
  assert.deepEqual(parseRotation('1 day'), { ms: 86_400_000 });
  assert.deepEqual(parseRotation('12h'), { ms: 43_200_000 });
  assert.equal(parseRotation('huge'), undefined);
  assert.equal(parseRotation('0 MB'), undefined);
});

test('retention is days, or a count of files', () => {
  assert.deepEqual(parseRetention(30), { days: 30 });
  assert.deepEqual(parseRetention('2 weeks'), { days: 14 });
  assert.deepEqual(parseRetention('10 files'), { files: 10 });
  assert.equal(parseRetention('forever'), undefined);
  assert.equal(parseRetention(-1), undefined);
});
