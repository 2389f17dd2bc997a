import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatMemoryMb } from '../graph/resources.ts';
import { parseMemoryMb } from './quantity.ts';

test('memory quantities: numbers in the bare unit, strings with binary units', () => {
  assert.equal(parseMemoryMb(512), 512);
  assert.equal(parseMemoryMb(8, 'GB'), 8192);
  assert.equal(parseMemoryMb('512MB'), 512);
  assert.equal(parseMemoryMb('512'), 512);
  assert.equal(parseMemoryMb('4GB'), 4096);
  assert.equal(parseMemoryMb('4 gb'), 4096);
  assert.equal(parseMemoryMb('4G'), 4096);
  assert.equal(parseMemoryMb('1.5GiB'), 1536);
  assert.equal(parseMemoryMb('1TB'), 1024 * 1024);
  assert.equal(parseMemoryMb('256KiB'), 0.25);
  assert.equal(parseMemoryMb('1048576B'), 1);
  assert.equal(parseMemoryMb('2', 'GB'), 2048);
});

test('memory quantities: what is not one is undefined', () => {
  for (const bad of ['', 'GB', '-1GB', '4 GBs', '4PB', '1e3MB', 'lots', '4GiBi']) {
    assert.equal(parseMemoryMb(bad), undefined, bad);
  }
  assert.equal(parseMemoryMb(-1), undefined);
  assert.equal(parseMemoryMb(Number.NaN), undefined);
  assert.equal(parseMemoryMb(Number.POSITIVE_INFINITY), undefined);
});

test('memory sizes read as people write them', () => {
  assert.equal(formatMemoryMb(512), '512 MB');
  assert.equal(formatMemoryMb(1536), '1.5 GB');
  assert.equal(formatMemoryMb(0.25), '0.25 MB');
  assert.equal(formatMemoryMb(100.34), '100.3 MB');
  assert.equal(formatMemoryMb(3 * 1024 * 1024), '3 TB');
});
