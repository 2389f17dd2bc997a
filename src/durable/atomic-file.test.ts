import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { replaceSymlinkSync, writeFileAtomicSync } from './atomic-file.ts';

const root = mkdtempSync(join(tmpdir(), 'gp-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
function freshDir(): string {
  const dir = join(root, `case${++dirs}`);
  writeFileAtomicSync(join(dir, '.keep'), '');
  return dir;
}

describe('writeFileAtomicSync', () => {
  test('writes the content, text or bytes, and leaves no temp file behind', () => {
    const dir = freshDir();
    writeFileAtomicSync(join(dir, 'a.json'), '{"n": 1}\n');
    writeFileAtomicSync(join(dir, 'b.bin'), new Uint8Array([0, 1, 2, 255]), { fsync: false });
    assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), '{"n": 1}\n');
    assert.deepEqual([...readFileSync(join(dir, 'b.bin'))], [0, 1, 2, 255]);
    assert.deepEqual(readdirSync(dir).sort(), ['.keep', 'a.json', 'b.bin']);
  });

  test('creates missing parent directories', () => {
    const file = join(root, 'deep', 'er', 'still', 'run.json');
    writeFileAtomicSync(file, 'x');
    assert.equal(readFileSync(file, 'utf8'), 'x');
  });

  test('replaces an existing file whole', () => {
    const dir = freshDir();
    const file = join(dir, 'run.json');
    writeFileAtomicSync(file, 'a much longer first version of the file');
    writeFileAtomicSync(file, 'short');
    assert.equal(readFileSync(file, 'utf8'), 'short');
    assert.deepEqual(readdirSync(dir).sort(), ['.keep', 'run.json']);
  });

  test('a failed write leaves the old file as it was and no temp file', () => {
    const dir = freshDir();
    const file = join(dir, 'run.json');
    writeFileAtomicSync(file, 'old');
    // Renaming a file over a non-empty directory fails, after the temp file was written.
    const blocked = join(dir, 'blocked');
    writeFileAtomicSync(join(blocked, 'inside'), 'x');
    assert.throws(() => writeFileAtomicSync(blocked, 'new'), { code: 'EISDIR' });
    assert.equal(readFileSync(file, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir).sort(), ['.keep', 'blocked', 'run.json']);
    // A parent path that is a file fails before anything is written.
    assert.throws(() => writeFileAtomicSync(join(file, 'child'), 'new'), { code: 'ENOTDIR' });
    assert.equal(readFileSync(file, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir).sort(), ['.keep', 'blocked', 'run.json']);
  });
});

describe('replaceSymlinkSync', () => {
  test('creates a link where there is none, and replaces one that points elsewhere', () => {
    const dir = freshDir();
    const link = join(dir, 'latest');
    replaceSymlinkSync('runs/1', link);
    assert.equal(readlinkSync(link), 'runs/1');
    replaceSymlinkSync('runs/2', link);
    assert.equal(readlinkSync(link), 'runs/2');
    assert.deepEqual(readdirSync(dir).sort(), ['.keep', 'latest']);
  });

  test('replaces a link made by someone else, even a dangling one', () => {
    const dir = freshDir();
    const link = join(dir, 'latest');
    symlinkSync(join(dir, 'nowhere'), link);
    const target = join(dir, 'run-3');
    writeFileSync(target, 'run three');
    replaceSymlinkSync(target, link);
    assert.equal(readFileSync(link, 'utf8'), 'run three');
    assert.deepEqual(readdirSync(dir).sort(), ['.keep', 'latest', 'run-3']);
  });

  test('a failed replacement leaves no temp link', () => {
    const dir = freshDir();
    const occupied = join(dir, 'occupied');
    writeFileAtomicSync(join(occupied, 'inside'), 'x');
    assert.throws(() => replaceSymlinkSync('runs/1', occupied));
    assert.deepEqual(readdirSync(dir).sort(), ['.keep', 'occupied']);
  });
});
