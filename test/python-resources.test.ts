// Resources of Python stages through the real `gpipe`: the GPU lease reaches the Python context
// (the seed's gpu_ids / cuda_visible_devices) and the environment, and a memory limit holds.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpipe, workspaces } from './fixtures/cli/harness.ts';
import { fakeNvidiaSmi } from './fixtures/cli/resource-scripts.ts';

const workspace = workspaces();

const steps = `import os

def leased(context):
    seen = {
        "gpu_ids": context.gpu_ids,
        "cuda": context.cuda_visible_devices,
        "resources": [context.resources.gpus, context.resources["gpu_ids"]],
        "env": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
    return seen

def grow(context):
    hoard = []
    while True:
        hoard.append(bytearray(16 * 1024 * 1024))
`;

test('a Python stage with gpus: 2 sees its lease in the context and in CUDA_VISIBLE_DEVICES', async () => {
  const cwd = workspace({
    'bin/nvidia-smi': fakeNvidiaSmi,
    'steps.py': steps,
    'pipeline.yaml': [
      'pipeline:',
      '  name: gpus',
      '  modules:',
      '    - name: train',
      '      script: "steps.py:leased"',
      '      resources: {gpus: 2}',
      '',
    ].join('\n'),
  });
  chmodSync(join(cwd, 'bin', 'nvidia-smi'), 0o755);
  const env = { PATH: `${join(cwd, 'bin')}:${process.env.PATH}` };
  const { code, stderr } = await gpipe(['run', 'pipeline.yaml', '--quiet'], cwd, env);
  assert.equal(code, 0, stderr);
  const runDir = join(cwd, '.gpipe', 'latest');
  const output = JSON.parse(readFileSync(join(runDir, 'train', 'output.json'), 'utf8'));
  assert.deepEqual(output.data, {
    gpu_ids: [0, 1],
    cuda: '0,1',
    resources: [2, [0, 1]],
    env: '0,1',
  });
});

test('a Python stage past its memory_limit is killed: exit 4, the limit named', async () => {
  const cwd = workspace({
    'steps.py': steps,
    'pipeline.yaml': [
      'pipeline:',
      '  name: hungry',
      '  modules:',
      '    - name: grow',
      '      script: "steps.py:grow"',
      '      resources: {memory_limit: 200MB}',
      '',
    ].join('\n'),
  });
  const { code, stderr, stdout } = await gpipe(['run', 'pipeline.yaml'], cwd);
  assert.equal(code, 4, `${stdout}\n${stderr}`);
  assert.match(`${stdout}\n${stderr}`, /200 MB/);
});
