// Module stages of the TypeScript API: `stage(name, { module, export, worker })`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pipeline } from '../src/api/pipeline.ts';
import { stage } from '../src/api/stage.ts';

const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-workers-api-'));
after(() => rmSync(workspaceRoot, { recursive: true, force: true }));
const module = new URL('./fixtures/workers/stages.ts', import.meta.url);

test('a module stage runs its export with inputs and context in a thread and a process', async () => {
  const numbers = stage('numbers', () => [1, 2, 3]);
  const inThread = stage<{ total: number; threadId: number }>('in_thread', {
    deps: { numbers },
    module,
    export: 'sumSquares',
    worker: 'thread',
  });
  const inProcess = stage<{ total: number }>('in_process', {
    deps: { numbers },
    module: module.pathname,
    export: 'sumSquares',
    worker: 'process',
  });
  const report = stage('report', { deps: { inThread, inProcess } }, ({ inThread, inProcess }) => [
    inThread.total,
    inProcess.total,
    inThread.threadId,
  ]);
  const run = await pipeline('api-workers', [report]).run({ workspaceRoot });
  assert.equal(run.status, 'succeeded');
  const [thread, process_, threadId] = run.stages.report!.output as number[];
  assert.equal(thread, 14);
  assert.equal(process_, 14);
  assert.notEqual(threadId, 0);
});

test('misuse is a clear error when the stage is defined', () => {
  assert.throws(
    // @ts-expect-error a function runs inline only: a thread needs a module export
    () => stage('closure', { worker: 'thread' }, () => 1),
    /stage 'closure': worker: "thread" needs a module export, not a function .*give \{ module: new URL/,
  );
  assert.throws(
    () => stage('missing', { module: new URL('./no-such-file.ts', import.meta.url), export: 'f' }),
    /stage 'missing': module file not found: .*no-such-file\.ts/,
  );
  assert.throws(
    () => stage('relative', { module: './stages.ts', export: 'f', worker: 'thread' }),
    /stage 'relative': module must be a file URL .* or an absolute path/,
  );
  assert.throws(
    () => stage('unnamed', { module, export: 'not a name', worker: 'process' }),
    /stage 'unnamed': export must name a function/,
  );
  assert.throws(
    () => stage('heap', { module, export: 'noop', heapLimitMb: 64 }),
    /heapLimitMb applies only to worker: 'thread' or 'process'/,
  );
  assert.throws(
    () => stage('both', { module, export: 'noop' } as never, () => 1),
    /give either a function or module \+ export, not both/,
  );
});

test('a missing export fails the stage at run time with EXPORT_NOT_FOUND', async () => {
  const run = await pipeline('missing-export', [
    stage('absent', { module, export: 'noSuchExport', worker: 'thread' }),
  ]).run({ workspaceRoot });
  assert.equal(run.stages.absent!.error!.code, 'EXPORT_NOT_FOUND');
  assert.match(run.stages.absent!.error!.message, /has no function export 'noSuchExport'/);
});

test('a mapped module stage gets each item through its context, in a thread and in a process', async () => {
  const numbers = stage('numbers', () => [1, 2, 3]);
  type Tens = { value: number; index: number[]; name: string; pid: number }[];
  const inThread = stage<Tens>('tens', {
    over: numbers,
    module,
    export: 'itemTimesTen',
    worker: 'thread',
  });
  const inProcess = stage<Tens>('tens_p', {
    over: numbers,
    module,
    export: 'itemTimesTen',
    worker: 'process',
  });
  const both = stage('both', { deps: { inThread, inProcess } }, (inputs) => inputs);
  const run = await pipeline('api-fan-out', [both]).run({ workspaceRoot });
  assert.equal(run.status, 'succeeded');
  const { inThread: thread, inProcess: child } = run.stages.both!.output as {
    inThread: Tens;
    inProcess: Tens;
  };
  assert.deepEqual(
    thread.map((t) => [t.value, t.index, t.name]),
    [
      [10, [0], 'tens[0]'],
      [20, [1], 'tens[1]'],
      [30, [2], 'tens[2]'],
    ],
  );
  assert.deepEqual(
    child.map((t) => t.value),
    [10, 20, 30],
  );
  assert.ok(child.every((t) => t.pid !== process.pid));
});
