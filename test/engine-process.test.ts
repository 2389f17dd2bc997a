import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

test('a run waiting only on a retry delay keeps the process alive until it ends', (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'gp-retry-only-'));
  t.after(() => rmSync(workspace, { recursive: true, force: true }));
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'fixtures', 'engine', 'retry-only.ts'),
      workspace,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { status: 'succeeded', output: 2 });
});
