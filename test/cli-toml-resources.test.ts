/**
 * A TOML node's `resource` table through the real `gpipe`: GPU leases from a fake nvidia-smi
 * on PATH, memory requests no host could grant, and memory_limit's kill.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpipe } from './fixtures/cli/harness.ts';
import { fakeNvidiaSmi, growPy } from './fixtures/cli/resource-scripts.ts';
import { project, writeFiles } from './fixtures/toml/toml-project.ts';

/**
 * A project of one node running `operator`, its code already in operators/ (run with
 * --skip-init), and a fake nvidia-smi in bin/.
 */
function oneNodeProject(resource: string, startCommand: string, files = {}): string {
  const dir = project({
    'conf/pipeline.toml': 'pipeline_id = "res"\nname = "Res"\nnodes = ["n"]\noperators = ["op"]\n',
    'conf/nodes/n.toml': `operator_ids = ["op"]\n\n[resource]\n${resource}\n`,
    'conf/operators/op.toml': `git_repo = "/nowhere"\ngit_tag = "v1"\nstart_command = ${JSON.stringify(startCommand)}\n`,
    'bin/nvidia-smi': fakeNvidiaSmi,
  });
  mkdirSync(join(dir, 'operators', 'op'), { recursive: true });
  writeFiles(join(dir, 'operators', 'op'), files);
  chmodSync(join(dir, 'bin', 'nvidia-smi'), 0o755);
  return dir;
}

const withFakeGpus = (dir: string) => ({ PATH: `${join(dir, 'bin')}:${process.env.PATH}` });

test('a node requesting a GPU: its operator runs with the leased device in CUDA_VISIBLE_DEVICES', async () => {
  const dir = oneNodeProject(
    'cpu_request = 1\ngpu_request = 1\ngpu_limit = 1',
    'echo "gpus=$CUDA_VISIBLE_DEVICES" > "$OUTPUT_ROOT/gpus.txt"',
  );
  const run = await gpipe(['run', 'conf/pipeline.toml', '--skip-init'], dir, withFakeGpus(dir));
  assert.equal(run.code, 0, run.stderr);
  const [gpus] = readdirSync(join(dir, 'pipeline_workspace', 'runs')).map((id) =>
    readFileSync(
      join(dir, 'pipeline_workspace', 'runs', id, 'op', 'artifacts', 'gpus.txt'),
      'utf8',
    ),
  );
  assert.equal(gpus, 'gpus=0\n');
});

test('requests no host could grant: exit 1 at the node file line:column, nothing runs', async () => {
  const dir = oneNodeProject(
    'cpu_request = 1\nmemory_request = 100000.0\ngpu_request = 3',
    'touch "$WORKSPACE_ROOT/ran"',
  );
  const run = await gpipe(['run', 'conf/pipeline.toml', '--skip-init'], dir, withFakeGpus(dir));
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trimEnd().split('\n');
  assert.match(
    lines[0]!,
    /^conf\/nodes\/n\.toml:5:18: node 'n' reserves 97\.66 TB of memory but the pipeline has at most [\d.]+ GB \(the host's memory\) \(hint: lower memory_request\)$/,
  );
  assert.equal(
    lines[1],
    "conf/nodes/n.toml:6:15: node 'n' requests 3 GPUs but this host has 2 (nvidia-smi) (hint: lower gpu_request)",
  );
  assert.equal(lines.length, 3, run.stderr);
  assert.ok(!existsSync(join(dir, 'pipeline_workspace', 'workspace', 'res', 'n', 'op', 'ran')));

  // With no nvidia-smi at all, a GPU request is refused as well.
  const none = oneNodeProject('cpu_request = 1\ngpu_request = 1', 'true');
  const validate = await gpipe(['validate', 'conf/pipeline.toml'], none, {
    PATH: '/usr/bin:/bin',
  });
  assert.equal(validate.code, 1, validate.stderr);
  assert.match(
    validate.stderr,
    /^conf\/nodes\/n\.toml:5:15: node 'n' requests 1 GPU but this host has none \(nvidia-smi\)/,
  );
});

test('an operator whose process tree grows past memory_limit (GB) is killed: exit 4', async () => {
  const dir = oneNodeProject(
    'cpu_request = 1\nmemory_request = 0.05\nmemory_limit = 0.1',
    'python3 grow.py; echo still here',
    { 'grow.py': growPy },
  );
  const { code, stdout, stderr } = await gpipe(['run', 'conf/pipeline.toml', '--skip-init'], dir);
  assert.equal(code, 4, `${stdout}\n${stderr}`);
  assert.match(`${stdout}\n${stderr}`, /went past its memory limit of 102\.4 MB/);
  assert.doesNotMatch(`${stdout}\n${stderr}`, /never killed|still here/);
});
