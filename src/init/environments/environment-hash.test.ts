import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { EnvironmentSpec } from '../../graph/pipeline.ts';
import { environmentHash } from './environment-hash.ts';

const dir = mkdtempSync(join(tmpdir(), 'gp-env-hash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function spec(more: Partial<EnvironmentSpec> = {}): EnvironmentSpec {
  return {
    name: 'e',
    kind: 'npm',
    dir: join(dir, 'envs', 'e'),
    source: join(dir, 'package.json'),
    ...more,
  };
}

test('the hash covers the content, the lock file beside it and the options, not the path', async () => {
  writeFileSync(join(dir, 'package.json'), '{"name":"a"}');
  const first = await environmentHash(spec());
  assert.match(first.hash, /^sha256:[0-9a-f]{64}$/);
  assert.deepStrictEqual(
    first.files.map((file) => file.path),
    [join(dir, 'package.json')],
  );

  writeFileSync(join(dir, 'package-lock.json'), '{}');
  const locked = await environmentHash(spec());
  assert.notEqual(locked.hash, first.hash);
  assert.equal(locked.files.length, 2);
  rmSync(join(dir, 'package-lock.json'));

  const copy = join(dir, 'elsewhere.json');
  writeFileSync(copy, '{"name":"a"}');
  assert.equal((await environmentHash(spec({ source: copy }))).hash, first.hash);
  assert.notEqual((await environmentHash(spec({ kind: 'venv' }))).hash, first.hash);
  assert.notEqual((await environmentHash(spec({ extraArgs: ['--x'] }))).hash, first.hash);
});

test("a file whose size and mtime match the marker's is not read again; a touched one is", async () => {
  const source = join(dir, 'big.tar');
  writeFileSync(source, 'archive');
  const real = await environmentHash(spec({ kind: 'conda', source }));
  const [file] = real.files;
  const remembered = [{ ...file!, digest: 'f'.repeat(64) }];
  const reused = await environmentHash(spec({ kind: 'conda', source }), remembered);
  assert.notEqual(reused.hash, real.hash, 'the remembered digest was used, the file not read');
  utimesSync(source, new Date(), new Date(file!.mtimeMs + 5000));
  const reread = await environmentHash(spec({ kind: 'conda', source }), remembered);
  assert.equal(reread.hash, real.hash);
});
