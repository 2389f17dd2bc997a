// Resource leasing through the real `gpipe`: GPUs from a fake nvidia-smi on PATH leased as device
// ids, memory reservations, requests no host could grant, and a memory limit's kill.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpipe, workspaces } from './fixtures/cli/harness.ts';
import { fakeNvidiaSmi, growPy } from './fixtures/cli/resource-scripts.ts';

const workspace = workspaces();
function dir(files: Record<string, string>): string {
  const made = workspace(files);
  chmodSync(join(made, 'bin', 'nvidia-smi'), 0o755);
  return made;
}

/**
 * Records its start (with its GPUs) and end in events.log. A stage waits until `$PEERS` stages
 * have started, for at most `$WAIT` hundredths of a second: stages that may run together are
 * then seen together, by the order of the lines rather than by timing. The bound only ends the
 * wait of a stage that must (rightly) run alone.
 */
const stageScript = `echo "start $OPERATOR_ID [$CUDA_VISIBLE_DEVICES]" >> events.log
i=0
while [ "$(grep -c '^start' events.log)" -lt "$PEERS" ] && [ $i -lt "$WAIT" ]; do i=$((i+1)); sleep 0.01; done
echo "end $OPERATOR_ID" >> events.log
`;

function eventsOf(cwd: string): string[][] {
  return readFileSync(join(cwd, 'events.log'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
}

const env = (cwd: string) => ({ PATH: `${join(cwd, 'bin')}:${process.env.PATH}` });

/** A module running stage.sh; `wait` bounds its wait for a peer (hundredths of a second). */
function module(name: string, resources: string, wait = 2000): string[] {
  return [
    `    - name: ${name}`,
    '      command: [sh, stage.sh]',
    `      env: {PEERS: 2, WAIT: ${wait}}`,
    `      resources: ${resources}`,
  ];
}

/** Runs two stage.sh modules that must never overlap; returns their events. */
async function runApart(pool: string, first: string, second: string): Promise<string[][]> {
  const cwd = dir({
    'bin/nvidia-smi': fakeNvidiaSmi,
    'stage.sh': stageScript,
    'pipeline.yaml': [
      'pipeline:',
      '  name: apart',
      `  resources: ${pool}`,
      '  modules:',
      // A second is long enough for the other to start, if it could.
      ...module('a', first, 100),
      ...module('b', second, 100),
      '',
    ].join('\n'),
  });
  const { code, stderr } = await gpipe(['run', 'pipeline.yaml', '--quiet'], cwd, env(cwd));
  assert.equal(code, 0, stderr);
  return eventsOf(cwd);
}

test('two GPUs, three one-GPU stages: two run on distinct ids, the third waits for a free one', async () => {
  const cwd = dir({
    'bin/nvidia-smi': fakeNvidiaSmi,
    'stage.sh': stageScript,
    'pipeline.yaml': [
      'pipeline:',
      '  name: gpus',
      '  resources: {max_cpus: 8}',
      '  modules:',
      ...module('a', '{gpus: 1}'),
      ...module('b', '{gpus: 1}'),
      ...module('c', '{gpus: 1}'),
      '    - name: plain',
      '      command: [sh, -c, "echo plain [$CUDA_VISIBLE_DEVICES] >> plain.log"]',
      '',
    ].join('\n'),
  });
  const { code, stderr } = await gpipe(['run', 'pipeline.yaml', '--quiet'], cwd, env(cwd));
  assert.equal(code, 0, stderr);
  const events = eventsOf(cwd);
  assert.equal(events.length, 6, events.join('\n'));
  const [first, second, third] = events.filter(([kind]) => kind === 'start');
  // The first two started before anything ended, on the two GPUs.
  assert.deepEqual(
    events.slice(0, 2).map(([kind]) => kind),
    ['start', 'start'],
  );
  assert.deepEqual([first![2], second![2]].sort(), ['[0]', '[1]']);
  // The third started only after one ended, on a GPU given back by one that had ended: when
  // both ended before it, the orchestrator may have seen either exit first.
  const thirdAt = events.indexOf(third!);
  const ended = events.slice(0, thirdAt).filter(([kind]) => kind === 'end');
  assert.ok(ended.length > 0, events.join('\n'));
  const freed = ended.map(([, name]) => events.find(([k, n]) => k === 'start' && n === name)![2]);
  assert.ok(freed.includes(third![2]), events.join('\n'));
  // A stage without GPUs in a run that leases them sees none.
  assert.equal(readFileSync(join(cwd, 'plain.log'), 'utf8').trim(), 'plain []');
});

test('max_gpus: 1 leases only GPU 0, one stage at a time', async () => {
  const events = await runApart('{max_cpus: 8, max_gpus: 1}', '{gpus: 1}', '{gpus: 1}');
  assert.deepEqual(
    events.map(([kind, , ids]) => `${kind}${ids ? ` ${ids}` : ''}`),
    ['start [0]', 'end', 'start [0]', 'end'],
  );
});

test('memory reservations: two stages of 60% of max_memory never overlap', async () => {
  const events = await runApart(
    '{max_cpus: 8, max_memory: 1GB}',
    '{memory: 600MB}',
    '{memory: 0.6GB}',
  );
  assert.deepEqual(
    events.map(([kind]) => kind),
    ['start', 'end', 'start', 'end'],
  );
});

test('requests no host could grant: exit 1 with file:line:column, before anything runs', async () => {
  const cwd = dir({
    'bin/nvidia-smi': fakeNvidiaSmi,
    'stage.sh': stageScript,
    'pipeline.yaml': [
      'pipeline:',
      '  name: impossible',
      '  modules:',
      '    - name: huge',
      '      command: [sh, stage.sh]',
      '      resources: {memory: 100TB, gpus: 3}',
      '    - name: off',
      '      command: [sh, stage.sh]',
      '      resources: {gpus: 1}',
      '',
    ].join('\n'),
  });
  const run = await gpipe(['run', 'pipeline.yaml'], cwd, env(cwd));
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /pipeline\.yaml:6:27: module 'huge': reserves 100 TB of memory but the pipeline has at most [\d.]+ (GB|TB) \(the host's memory\)/,
  );
  assert.match(
    run.stderr,
    /pipeline\.yaml:6:40: module 'huge': requests 3 GPUs but this host has 2 \(nvidia-smi\)/,
  );
  assert.throws(() => readFileSync(join(cwd, 'events.log')), { code: 'ENOENT' });

  const offCwd = dir({
    'bin/nvidia-smi': fakeNvidiaSmi,
    'pipeline.yaml': [
      'pipeline:',
      '  name: off',
      '  resources: {max_gpus: 0}',
      '  modules:',
      '    - {name: a, command: [true], resources: {gpus: 1}}',
      '',
    ].join('\n'),
  });
  const validate = await gpipe(['validate', 'pipeline.yaml'], offCwd, env(offCwd));
  assert.equal(validate.code, 1);
  assert.match(
    validate.stderr,
    /pipeline\.yaml:5:52: module 'a': requests 1 GPU but max_gpus is 0 \(GPU leasing is off\)/,
  );
});

test('a command whose grandchild grows past memory_limit is killed: exit 4, limit and peak', async () => {
  const cwd = dir({
    'bin/nvidia-smi': fakeNvidiaSmi,
    'grow.py': growPy,
    'pipeline.yaml': [
      'pipeline:',
      '  name: limited',
      '  modules:',
      '    - name: hog',
      '      command: "python3 grow.py; echo still here"',
      '      shell: true',
      '      resources: {memory_limit: 120MB}',
      '',
    ].join('\n'),
  });
  const { code, stdout, stderr } = await gpipe(['run', 'pipeline.yaml'], cwd, env(cwd));
  assert.equal(code, 4, `${stdout}\n${stderr}`);
  assert.match(
    `${stdout}\n${stderr}`,
    /went past its memory limit of 120 MB \(peak RSS [\d.]+ MB over its process tree\)/,
  );
  assert.doesNotMatch(`${stdout}\n${stderr}`, /never killed|still here/);
});

test('a CUDA_VISIBLE_DEVICES set for gpipe narrows the GPUs it leases', async () => {
  const cwd = dir({
    'bin/nvidia-smi': fakeNvidiaSmi,
    'pipeline.yaml': [
      'pipeline:',
      '  name: narrowed',
      '  modules:',
      '    - name: one',
      '      command: [sh, -c, "echo [$CUDA_VISIBLE_DEVICES] > seen.txt"]',
      '      resources: {gpus: 1}',
      '    - name: two',
      '      command: [true]',
      '      resources: {gpus: 2}',
      '',
    ].join('\n'),
  });
  const narrowed = { ...env(cwd), CUDA_VISIBLE_DEVICES: 'GPU-bbbbbbbb' };
  const failed = await gpipe(['validate', 'pipeline.yaml'], cwd, narrowed);
  assert.equal(failed.code, 1);
  assert.match(
    failed.stderr,
    /module 'two': requests 2 GPUs but this host has 1 \(nvidia-smi, narrowed by CUDA_VISIBLE_DEVICES="GPU-bbbbbbbb"\)/,
  );
  const yaml = readFileSync(join(cwd, 'pipeline.yaml'), 'utf8');
  writeFileSync(join(cwd, 'pipeline.yaml'), yaml.replace('{gpus: 2}', '{gpus: 1}'));
  const { code, stderr } = await gpipe(['run', 'pipeline.yaml', '--quiet'], cwd, narrowed);
  assert.equal(code, 0, stderr);
  assert.equal(readFileSync(join(cwd, 'seen.txt'), 'utf8').trim(), '[1]');
});
