// Command stages and their resources, with real processes through both spawners: the GPU lease
// in CUDA_VISIBLE_DEVICES, and memory limits over the whole process tree.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CommandExecutor } from '../src/executors/command.ts';
import type { StageTask } from '../src/executors/executor.ts';
import { NativeSpawner } from '../src/executors/native-spawner.ts';
import { NodeSpawner, type Spawner } from '../src/executors/spawner.ts';
import { inlineTask } from './fixtures/engine/stage-task.ts';
import { isGone, nativeSkip } from './fixtures/processes.ts';

const implementations: [string, () => Spawner, false | string][] = [
  ['NodeSpawner', () => new NodeSpawner(), false],
  ['NativeSpawner', () => new NativeSpawner(), nativeSkip],
];

/** A Python process that grows by 16 MB every 20 ms up to `mb`, then prints its peak. */
const grow = (mb: number, pidFile: string) =>
  `python3 -c "import os,time
open('${pidFile}','w').write(str(os.getpid()))
chunks=[]
for _ in range(${Math.floor(mb / 16)}):
    chunks.append(bytearray(16*1024*1024)); time.sleep(0.02)
print('grew to', len(chunks)*16, 'MB')"`;

for (const [name, createSpawner, skip] of implementations) {
  describe(`command resources on ${name}`, { skip }, () => {
    let workspace: string;
    let executor: CommandExecutor;
    let stages = 0;
    const never = new AbortController().signal;

    before(() => {
      workspace = realpathSync(mkdtempSync(join(tmpdir(), 'gp-command-resources-')));
      executor = new CommandExecutor({
        spawner: createSpawner(),
        killGraceMs: 200,
        memorySampleMs: 50,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CUDA_VISIBLE_DEVICES: '7' },
      });
    });
    after(async () => {
      await executor?.close();
      if (workspace) rmSync(workspace, { recursive: true, force: true });
    });

    function task(script: string, more: Partial<StageTask> = {}): StageTask {
      const spec = { kind: 'command', argv: [script], shell: true } as const;
      return inlineTask(workspace, `stage${++stages}`, { spec, ...more });
    }

    const cudaOf = async (more: Partial<StageTask>) => {
      const out = join(workspace, `cuda${stages}.txt`);
      const result = await executor.execute(
        task(`echo "[$CUDA_VISIBLE_DEVICES] [$CUDA_DEVICE_ORDER]" > ${out}`, more),
        never,
      );
      assert.equal(result.status, 'succeeded');
      return readFileSync(out, 'utf8').trim();
    };

    test('the GPU lease is CUDA_VISIBLE_DEVICES; none leased is ""; no leasing leaves it alone', async () => {
      const resources = { cpus: 1, memoryMb: 0 };
      assert.equal(
        await cudaOf({ resources: { ...resources, gpuIds: [1, 3] } }),
        '[1,3] [PCI_BUS_ID]',
      );
      assert.equal(await cudaOf({ resources: { ...resources, gpuIds: [] } }), '[] [PCI_BUS_ID]');
      assert.equal(await cudaOf({ resources }), '[7] []');
    });

    test('a tree whose grandchild grows past the memory limit is killed: MEMORY_LIMIT, with the peak', async () => {
      const pidFile = join(workspace, `grow${stages}.pid`);
      const result = await executor.execute(
        task(`${grow(1024, pidFile)}; echo survived`, { memoryLimitMb: 100 }),
        never,
      );
      assert.equal(result.status, 'failed');
      assert.equal(result.error?.code, 'MEMORY_LIMIT');
      assert.equal(result.exitCode, 137);
      const message = result.error?.message ?? '';
      assert.match(
        message,
        /went past its memory limit of 100 MB \(peak RSS [\d.]+ MB over its process tree\)/,
      );
      const peak = Number(/peak RSS ([\d.]+) MB/.exec(message)?.[1]);
      assert.ok(peak > 100 && peak < 1024, `peak ${peak} MB`);
      assert.ok(isGone(Number(readFileSync(pidFile, 'utf8'))), 'the grandchild is gone');
      assert.doesNotMatch(
        readFileSync(join(workspace, 'runs', 'r1', `stage${stages}`, 'stage.log'), 'utf8'),
        /survived|grew to/,
      );
    });

    test('a tree that stays under its limit runs to the end', async () => {
      const pidFile = join(workspace, `grow${stages}.pid`);
      const result = await executor.execute(task(grow(48, pidFile), { memoryLimitMb: 400 }), never);
      assert.equal(result.status, 'succeeded', result.error?.message);
    });
  });
}
