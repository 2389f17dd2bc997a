import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { inlineTask } from '../../test/fixtures/engine/stage-task.ts';
import type { StageTask } from './executor.ts';
import { createStageContext } from './stage-context.ts';

const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-context-'));
after(() => rmSync(workspaceRoot, { recursive: true, force: true }));
const never = new AbortController().signal;

function taskOf(stage: string, more: Partial<StageTask> = {}): StageTask {
  return inlineTask(workspaceRoot, stage, more);
}

test('params: the task’s own, or one frozen empty object', () => {
  const params = Object.freeze({ n: 3 });
  assert.equal(createStageContext(taskOf('a', { params }), never).params, params);
  const none = createStageContext(taskOf('b'), never).params;
  assert.deepStrictEqual(none, {});
  assert.ok(Object.isFrozen(none));
});

test('fileRef takes a relative path from the stage’s artifacts directory', async () => {
  const task = taskOf('writer');
  const context = createStageContext(task, never);
  writeFileSync(join(context.outputRoot, 'table.csv'), 'a,b\n1,2\n');
  const ref = await context.fileRef('table.csv');
  assert.deepStrictEqual(ref, {
    $fileRef: 1,
    path: join(task.paths.stageDir, 'artifacts', 'table.csv'),
    size: 8,
    sha256: `sha256:${createHash('sha256').update('a,b\n1,2\n').digest('hex')}`,
  });
});

test('fileRef of an absolute path leaves the artifacts directory alone', async () => {
  const task = taskOf('elsewhere');
  const outside = join(workspaceRoot, 'shared');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'model.bin'), 'weights');
  const ref = await createStageContext(task, never).fileRef(join(outside, 'model.bin'));
  assert.equal(ref.path, join(outside, 'model.bin'));
  assert.equal(ref.size, 7);
  assert.equal(existsSync(join(task.paths.stageDir, 'artifacts')), false);
  await assert.rejects(createStageContext(task, never).fileRef('missing.bin'), {
    code: 'FILE_REF_NOT_FOUND',
  });
});
