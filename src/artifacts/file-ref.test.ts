import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { PipelineError } from '../errors.ts';
import { checkFileRefs, collectFileRefs, type FileRef, fileRef, isFileRef } from './file-ref.ts';

const root = mkdtempSync(join(tmpdir(), 'gp-file-ref-'));
after(() => rmSync(root, { recursive: true, force: true }));

function sha256Of(...chunks: Buffer[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

describe('fileRef', () => {
  test('records the absolute path, the size and the sha256 of the bytes', async () => {
    const file = join(root, 'small.txt');
    const bytes = Buffer.from('hello, pipeline\n');
    writeFileSync(file, bytes);
    assert.deepStrictEqual(await fileRef(file), {
      $fileRef: 1,
      path: file,
      size: bytes.length,
      sha256: sha256Of(bytes),
    });
  });

  test('a relative path is taken from the current directory', async () => {
    const file = join(root, 'relative.txt');
    writeFileSync(file, 'r');
    const ref = await fileRef(relative(process.cwd(), file));
    assert.equal(ref.path, file);
    assert.equal(ref.sha256, sha256Of(Buffer.from('r')));
  });

  test('an empty file and a 20 MiB file hash right', async () => {
    const empty = join(root, 'empty');
    writeFileSync(empty, '');
    assert.equal((await fileRef(empty)).sha256, sha256Of(Buffer.alloc(0)));

    // Written a chunk at a time, with different bytes in each, so order matters to the hash.
    const big = join(root, 'big.bin');
    const chunks: Buffer[] = [];
    const fd = openSync(big, 'w');
    for (let i = 0; i < 20; i++) {
      const chunk = Buffer.alloc(1024 * 1024, i);
      chunk.writeUInt32BE(i * 7919, 0);
      writeSync(fd, chunk);
      chunks.push(chunk);
    }
    closeSync(fd);
    const ref = await fileRef(big);
    assert.equal(ref.size, 20 * 1024 * 1024);
    assert.equal(ref.sha256, sha256Of(...chunks));
  });

  test('a missing path or a directory is a FILE_REF_NOT_FOUND error naming it', async () => {
    const missing = join(root, 'no-such-file');
    await assert.rejects(fileRef(missing), (error: unknown) => {
      assert.ok(error instanceof PipelineError);
      assert.equal(error.code, 'FILE_REF_NOT_FOUND');
      assert.equal(error.message, `cannot make a FileRef: ${missing} does not exist`);
      return true;
    });
    const dir = join(root, 'a-directory');
    mkdirSync(dir);
    await assert.rejects(fileRef(dir), {
      code: 'FILE_REF_NOT_FOUND',
      message: `cannot make a FileRef: ${dir} is a directory`,
    });
  });
});

describe('isFileRef and collectFileRefs', () => {
  const ref = (name: string): FileRef => ({
    $fileRef: 1,
    path: `/data/${name}`,
    size: 1,
    sha256: 'sha256:00',
  });

  test('only an object with the marker and every field is a FileRef', () => {
    assert.equal(isFileRef(ref('a')), true);
    assert.equal(isFileRef({ ...ref('a'), $fileRef: true }), false);
    assert.equal(isFileRef({ path: '/data/a', size: 1, sha256: 'sha256:00' }), false);
    assert.equal(isFileRef({ $fileRef: 1, path: '/data/a', size: '1', sha256: 'x' }), false);
    assert.equal(isFileRef(null), false);
    assert.equal(isFileRef('/data/a'), false);
  });

  test('finds refs at any depth, in arrays and objects, in document order', () => {
    const value = {
      model: ref('model'),
      shards: [ref('s0'), { nested: { deeper: [ref('s1')] } }, 3, null],
      note: 'not a ref',
      path: '/data/plain',
    };
    assert.deepStrictEqual(
      collectFileRefs(value).map((r) => r.path),
      ['/data/model', '/data/s0', '/data/s1'],
    );
    assert.deepStrictEqual(collectFileRefs(ref('top')), [ref('top')]);
    assert.deepStrictEqual(collectFileRefs([1, 'two', { three: 3 }]), []);
  });

  test('a value nested 100,000 deep is walked without exhausting the stack', () => {
    let deep: unknown = ref('bottom');
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.deepStrictEqual(
      collectFileRefs(deep).map((r) => r.path),
      ['/data/bottom'],
    );
  });
});

describe('checkFileRefs', () => {
  test('passes while every file is there with its recorded size, without rehashing', async () => {
    const file = join(root, 'kept.txt');
    writeFileSync(file, 'twelve bytes');
    const ref = await fileRef(file);
    assert.deepStrictEqual(checkFileRefs({ out: [ref] }), { ok: true });
    assert.deepStrictEqual(checkFileRefs({ no: 'refs' }), { ok: true });
    // Same size, other bytes: only a rehash could tell, and the check must stay cheap.
    writeFileSync(file, 'TWELVE BYTES');
    assert.deepStrictEqual(checkFileRefs(ref), { ok: true });
  });

  test('reports a missing file, a changed size and a directory in its place', async () => {
    const file = join(root, 'checked.txt');
    writeFileSync(file, 'abc');
    const ref = await fileRef(file);
    appendFileSync(file, 'def');
    assert.deepStrictEqual(checkFileRefs({ a: ref }), {
      ok: false,
      problem: `${file} has changed: 6 bytes, 3 recorded`,
    });
    rmSync(file);
    assert.deepStrictEqual(checkFileRefs([ref]), { ok: false, problem: `${file} is gone` });
    mkdirSync(file);
    assert.deepStrictEqual(checkFileRefs(ref), {
      ok: false,
      problem: `${file} is no longer a regular file`,
    });
  });
});
