import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cacheSlot } from './cache-slot.ts';

describe('cacheSlot', () => {
  it('is 32-bit FNV-1a, as stored slots were computed', () => {
    // The published FNV-1a 32-bit test vectors, as signed integers.
    assert.equal(cacheSlot(''), 0x811c9dc5 | 0);
    assert.equal(cacheSlot('a'), 0xe40c292c | 0);
    assert.equal(cacheSlot('foobar'), 0xbf9cf968 | 0);
  });

  it('spreads keys that differ in one character', () => {
    const slots = new Set<number>();
    for (let i = 0; i < 10_000; i++)
      slots.add(cacheSlot(`sha256:${i.toString(16).padStart(64, '0')}`));
    assert.ok(slots.size > 9_990, `${slots.size} slots for 10,000 keys`);
  });
});
