import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectGpus, parseNvidiaSmiGpus, visibleGpus } from './gpus.ts';

const twoGpus =
  '0, GPU-1c2f3a4b-0000-1111-2222-333344445555, 81559\n1, GPU-9d8e7f6a-aaaa-bbbb-cccc-ddddeeeeffff, 81559\n';

test('nvidia-smi CSV: index, uuid and memory per line; junk lines left out', () => {
  assert.deepEqual(parseNvidiaSmiGpus(`${twoGpus}\nNo devices were found\n`), [
    { index: 0, uuid: 'GPU-1c2f3a4b-0000-1111-2222-333344445555', memoryMb: 81559 },
    { index: 1, uuid: 'GPU-9d8e7f6a-aaaa-bbbb-cccc-ddddeeeeffff', memoryMb: 81559 },
  ]);
  assert.deepEqual(parseNvidiaSmiGpus('1, GPU-b, [N/A]\n0, GPU-a, 16384'), [
    { index: 0, uuid: 'GPU-a', memoryMb: 16384 },
    { index: 1, uuid: 'GPU-b', memoryMb: 0 },
  ]);
  assert.deepEqual(parseNvidiaSmiGpus(''), []);
});

test('a CUDA_VISIBLE_DEVICES set for the orchestrator narrows the GPUs, by index or UUID', () => {
  const devices = parseNvidiaSmiGpus(`${twoGpus}2, GPU-cafe, 100\n`);
  assert.deepEqual(
    visibleGpus(devices, undefined).map((d) => d.index),
    [0, 1, 2],
  );
  assert.deepEqual(
    visibleGpus(devices, '').map((d) => d.index),
    [],
  );
  assert.deepEqual(
    visibleGpus(devices, '2,0').map((d) => d.index),
    [0, 2],
  );
  assert.deepEqual(
    visibleGpus(devices, 'GPU-9d8e').map((d) => d.index),
    [1],
  );
});

test('detection runs nvidia-smi from PATH; a missing or failing one means no GPUs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-gpus-'));
  try {
    const smi = join(dir, 'nvidia-smi');
    writeFileSync(
      smi,
      `#!/bin/sh\n[ "$1 $2" = "--query-gpu=index,uuid,memory.total --format=csv,noheader,nounits" ] || exit 9\nprintf '${twoGpus.replaceAll('\n', '\\n')}'\n`,
    );
    chmodSync(smi, 0o755);
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
    assert.deepEqual(
      (await detectGpus({ env })).map((d) => [d.index, d.memoryMb]),
      [
        [0, 81559],
        [1, 81559],
      ],
    );
    writeFileSync(smi, '#!/bin/sh\necho "NVIDIA-SMI has failed" >&2\nexit 9\n');
    assert.deepEqual(await detectGpus({ env }), []);
    assert.deepEqual(await detectGpus({ command: join(dir, 'absent') }), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
