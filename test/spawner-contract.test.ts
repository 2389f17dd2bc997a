// One contract for every Spawner: Node's child_process and the native helper behave alike.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { NativeSpawner, nativeHelperPath } from '../src/executors/native-spawner.ts';
import { NodeSpawner, type Spawner, type SpawnRequest } from '../src/executors/spawner.ts';
import { parseLogLine } from '../src/logs/stage-log-line.ts';
import { RedactingFilter } from '../src/secrets/redacting-filter.ts';
import { Redactor } from '../src/secrets/redactor.ts';
import { isGone, nativeBuilt, nativeSkip, waitFor } from './fixtures/processes.ts';

const repoRoot = join(import.meta.dirname, '..');

/** The text of each line of a log, stamps checked and taken off. */
function logTexts(file: string): string[] {
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => parseLogLine(line).text);
}

const implementations: [string, () => Spawner, false | string][] = [
  ['NodeSpawner', () => new NodeSpawner(), false],
  // Output through a filter (secret masking: src/secrets), with nothing to mask.
  [
    'NodeSpawner with an output filter',
    () => new NodeSpawner({ outputFilter: () => new RedactingFilter(new Redactor()) }),
    false,
  ],
  ['NativeSpawner', () => new NativeSpawner(), nativeSkip],
];

for (const [name, create, skip] of implementations) {
  describe(`${name} (the Spawner contract)`, { skip }, () => {
    let spawner: Spawner;
    let dir: string;
    const path = process.env.PATH ?? '/usr/bin:/bin';

    before(() => {
      assert.ok(name !== 'NativeSpawner' || nativeBuilt, `${nativeHelperPath} could not be built`);
      spawner = create();
      dir = realpathSync(mkdtempSync(join(tmpdir(), 'gp-spawner-')));
    });
    after(async () => {
      await spawner?.close?.();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    function request(argv: string[], more: Partial<SpawnRequest> = {}): SpawnRequest {
      return { argv, cwd: dir, env: { PATH: path }, logFile: join(dir, 'out.log'), ...more };
    }

    async function run(argv: string[], more: Partial<SpawnRequest> = {}) {
      const started = await spawner.spawn(request(argv, more));
      return started.exited;
    }

    test('exit codes come back as they are', async () => {
      assert.equal((await run(['true'])).exitCode, 0);
      const exit = await run(['sh', '-c', 'exit 7']);
      assert.equal(exit.exitCode, 7);
      assert.equal(exit.signal, null);
    });

    test('a process killed by a signal reports the signal and no exit code', async () => {
      const exit = await run(['sh', '-c', 'kill -TERM $$']);
      assert.equal(exit.exitCode, null);
      assert.equal(exit.signal, 'SIGTERM');
    });

    test('signals start at their defaults, unblocked: SIGINT and SIGPIPE end a shell', async () => {
      assert.equal((await run(['sh', '-c', 'kill -INT $$; exit 3'])).signal, 'SIGINT');
      assert.equal((await run(['sh', '-c', 'kill -PIPE $$; exit 3'])).signal, 'SIGPIPE');
      // A blocked SIGCHLD would leave `wait` hanging; a trap proves SIGTERM is deliverable.
      const exit = await run([
        'sh',
        '-c',
        'trap "exit 5" TERM; (sleep 0.01) & wait; kill -TERM $$; sleep 5',
      ]);
      assert.equal(exit.exitCode, 5);
    });

    test('each process leads its own process group, which process.kill(-pid) ends', async () => {
      const started = await spawner.spawn(request(['sleep', '30']));
      const stat = readFileSync(`/proc/${started.pid}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      assert.equal(pgrp, started.pid);
      process.kill(-started.pid, 'SIGKILL');
      assert.deepEqual(
        { exitCode: (await started.exited).exitCode, signal: (await started.exited).signal },
        { exitCode: null, signal: 'SIGKILL' },
      );
    });

    test('each output line is stamped with the time it was read and its stream', async () => {
      const logFile = join(dir, 'stamped.log');
      const before = Date.now();
      const script =
        'echo one; echo two >&2; printf "spl"; sleep 0.2; printf "it\\n"; printf "no newline"';
      assert.equal((await run(['sh', '-c', script], { logFile })).exitCode, 0);
      const after = Date.now();
      const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n').map(parseLogLine);
      const byText = new Map(lines.map((line) => [line.text, line]));
      assert.deepEqual([...byText.keys()].sort(), ['no newline', 'one', 'split', 'two']);
      assert.equal(byText.get('one')?.stream, 'stdout');
      assert.equal(byText.get('two')?.stream, 'stderr');
      assert.equal(byText.get('split')?.stream, 'stdout');
      for (const line of lines) {
        assert.match(line.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        // Millisecond stamps: the first may round below `before` by under a millisecond.
        assert.ok(line.time >= before - 1 && line.time <= after, `${line.timestamp} out of range`);
      }
      // Read after the pause, the finished line is stamped later than the first.
      assert.ok(byText.get('split')!.time >= byText.get('one')!.time);
    });

    test('the environment is exactly baseEnv overridden by env', async () => {
      const logFile = join(dir, 'env.log');
      const exit = await run(['/usr/bin/env'], {
        baseEnv: { A: 'from base', C: '3' },
        env: { A: '1', B: 'two words', EMPTY: '' },
        logFile,
      });
      assert.equal(exit.exitCode, 0);
      assert.deepEqual(logTexts(logFile).sort(), ['A=1', 'B=two words', 'C=3', 'EMPTY=']);
    });

    test('the program is found on the PATH of the given environment, not ours', async () => {
      const bin = join(dir, 'bin');
      await run(['true'], { directories: [bin] });
      writeFileSync(join(bin, 'gp-only-here'), '#!/bin/sh\necho found me\n');
      chmodSync(join(bin, 'gp-only-here'), 0o755);
      const logFile = join(dir, 'path.log');
      assert.equal(
        (await run(['gp-only-here'], { env: { PATH: `${bin}:/usr/bin:/bin` }, logFile })).exitCode,
        0,
      );
      assert.deepEqual(logTexts(logFile), ['found me']);
    });

    test('it runs in cwd, reads /dev/null, and appends stdout and stderr to the log', async () => {
      const logFile = join(dir, 'both.log');
      writeFileSync(logFile, 'before\n');
      const exit = await run(['sh', '-c', 'cat; pwd; echo out; echo err >&2'], {
        cwd: join(dir, 'sub'),
        logFile,
        directories: [join(dir, 'sub')],
      });
      assert.equal(exit.exitCode, 0);
      assert.deepEqual(logTexts(logFile), ['before', join(dir, 'sub'), 'out', 'err']);
    });

    test('directories (with parents) and links are made before it starts', async () => {
      const stage = join(dir, 'run', 'stage');
      const links = [
        { target: join(dir, 'run', 'up', 'artifacts'), path: join(stage, 'inputs', 'up') },
      ];
      const directories = [stage, join(stage, 'inputs'), join(stage, 'artifacts')];
      const logFile = join(stage, 'stage.log');
      const command = ['sh', '-c', 'test -d inputs && test -d artifacts && test -L inputs/up'];
      assert.equal((await run(command, { cwd: stage, directories, links, logFile })).exitCode, 0);
      assert.equal(readlinkSync(join(stage, 'inputs', 'up')), join(dir, 'run', 'up', 'artifacts'));
      // Again: existing directories and links are no error.
      assert.equal((await run(command, { cwd: stage, directories, links, logFile })).exitCode, 0);
      assert.ok(lstatSync(join(stage, 'inputs', 'up')).isSymbolicLink());
    });

    test('a program that does not exist rejects with ENOENT, naming it', async () => {
      await assert.rejects(spawner.spawn(request(['gp-no-such-program', 'x'])), {
        name: 'SpawnError',
        code: 'ENOENT',
        message: "cannot start 'gp-no-such-program': no such file or directory (ENOENT)",
      });
    });

    test('a file that is not executable rejects with EACCES', async () => {
      const file = join(dir, 'not-executable.sh');
      writeFileSync(file, 'echo no\n');
      await assert.rejects(spawner.spawn(request([file])), {
        code: 'EACCES',
        message: `cannot start '${file}': permission denied (EACCES)`,
      });
    });

    test('a missing working directory, log directory or unmakeable directory is named', async () => {
      const missing = join(dir, 'missing');
      await assert.rejects(spawner.spawn(request(['true'], { cwd: missing })), {
        code: 'ENOENT',
        message: `cannot start 'true': cannot use the directory '${missing}': no such file or directory (ENOENT)`,
      });
      await assert.rejects(spawner.spawn(request(['true'], { logFile: join(missing, 'x.log') })), {
        code: 'ENOENT',
        message: `cannot start 'true': cannot open the log file '${join(missing, 'x.log')}': no such file or directory (ENOENT)`,
      });
      const file = join(dir, 'a-file');
      writeFileSync(file, '');
      await assert.rejects(spawner.spawn(request(['true'], { directories: [join(file, 'sub')] })), {
        code: 'ENOTDIR',
        message: `cannot start 'true': cannot create the directory '${join(file, 'sub')}': not a directory (ENOTDIR)`,
      });
    });

    test('many processes at once: every one is reaped with its own exit code', async () => {
      const count = 200;
      const started = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          spawner.spawn(request(['sh', '-c', `exit ${i % 7}`])),
        ),
      );
      assert.equal(new Set(started.map((s) => s.pid)).size, count);
      const exits = await Promise.all(started.map((s) => s.exited));
      assert.deepEqual(
        exits.map((e) => e.exitCode),
        Array.from({ length: count }, (_, i) => i % 7),
      );
      await waitFor(() => started.every((s) => isGone(s.pid)), 'every process to be reaped');
    });
  });
}

describe('NativeSpawner (beyond the contract)', { skip: nativeSkip }, () => {
  let dir: string;
  before(() => {
    assert.ok(nativeBuilt, `${nativeHelperPath} could not be built`);
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'gp-native-')));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

  test('an exit carries wait4 rusage: CPU time and peak RSS', async () => {
    const spawner = new NativeSpawner();
    try {
      const busy = 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done';
      const started = await spawner.spawn({
        argv: ['sh', '-c', busy],
        cwd: dir,
        env,
        logFile: join(dir, 'r.log'),
      });
      const exit = await started.exited;
      assert.equal(exit.exitCode, 0);
      assert.ok((exit.userCpuUs ?? 0) + (exit.systemCpuUs ?? 0) > 0, JSON.stringify(exit));
      assert.ok((exit.maxRssKb ?? 0) > 0, JSON.stringify(exit));
      assert.equal(exit.groupEmpty, true);
    } finally {
      await spawner.close();
    }
  });

  test('more base environments than the helper keeps: the environment still arrives whole', async () => {
    const spawner = new NativeSpawner();
    try {
      for (let i = 0; i < 70; i++) {
        const logFile = join(dir, `base${i}.log`);
        const started = await spawner.spawn({
          argv: ['/usr/bin/env'],
          cwd: dir,
          env: { MINE: String(i) },
          baseEnv: { BASE: String(i), MINE: 'base' },
          logFile,
        });
        assert.equal((await started.exited).exitCode, 0);
        assert.deepEqual(logTexts(logFile).sort(), [`BASE=${i}`, `MINE=${i}`]);
      }
    } finally {
      await spawner.close();
    }
  });

  test('close() ends the helper and kills what still runs', async () => {
    const spawner = new NativeSpawner();
    const started = await spawner.spawn({
      argv: ['sleep', '30'],
      cwd: dir,
      env,
      logFile: join(dir, 'c.log'),
    });
    await spawner.close();
    assert.equal((await started.exited).signal, 'SIGKILL');
    await waitFor(() => isGone(started.pid), 'the command to be gone');
  });

  test('a helper that dies: its commands are killed and reported, the next spawn starts a new one', async () => {
    const spawner = new NativeSpawner();
    try {
      const others = new Set(helperPids());
      const started = await spawner.spawn({
        argv: ['sleep', '30'],
        cwd: dir,
        env,
        logFile: join(dir, 'd.log'),
      });
      const helper = helperPids().filter((pid) => !others.has(pid));
      assert.equal(helper.length, 1);
      process.kill(helper[0]!, 'SIGKILL');
      assert.equal((await started.exited).signal, 'SIGKILL');
      await waitFor(() => isGone(started.pid), 'the orphaned command to be gone');
      const again = await spawner.spawn({
        argv: ['true'],
        cwd: dir,
        env,
        logFile: join(dir, 'd.log'),
      });
      assert.equal((await again.exited).exitCode, 0);
    } finally {
      await spawner.close();
    }
  });

  test('an idle helper does not keep the process alive', () => {
    const script = join(dir, 'idle.mts');
    writeFileSync(
      script,
      `import { NativeSpawner } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src/executors/native-spawner.ts')).href)};
const spawner = new NativeSpawner();
const started = await spawner.spawn({ argv: ['true'], cwd: '/', env: {}, logFile: '/dev/null' });
console.log((await started.exited).exitCode);\n`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(child.error, undefined, 'the process did not end by itself');
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout, '0\n');
  });

  test('the helper never outlives the orchestrator, nor do the commands it started', async () => {
    const script = join(dir, 'orphan.mts');
    writeFileSync(
      script,
      `import { readdirSync, readFileSync } from 'node:fs';
import { NativeSpawner } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src/executors/native-spawner.ts')).href)};
const spawner = new NativeSpawner();
const started = await spawner.spawn({ argv: ['sleep', '30'], cwd: '/', env: { PATH: '/usr/bin:/bin' }, logFile: '/dev/null' });
const helper = readdirSync('/proc/self/task')
  .flatMap((t) => readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim().split(' '))
  .filter((pid) => pid && readFileSync('/proc/' + pid + '/comm', 'utf8').trim() === 'spawn-helper');
console.log(JSON.stringify({ helper: helper.map(Number), command: started.pid }));
process.kill(process.pid, 'SIGKILL');\n`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    const { helper, command } = JSON.parse(child.stdout) as { helper: number[]; command: number };
    assert.equal(helper.length, 1);
    await waitFor(
      () => isGone(helper[0]!) && isGone(command),
      'the helper and its command to be gone',
    );
  });
});

/** This process's children that are spawn helpers. */
function helperPids(): number[] {
  const found: number[] = [];
  for (const task of readdirSync('/proc/self/task')) {
    for (const child of readFileSync(`/proc/self/task/${task}/children`, 'utf8')
      .trim()
      .split(' ')) {
      if (child && readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'spawn-helper')
        found.push(Number(child));
    }
  }
  return found;
}
