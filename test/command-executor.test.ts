// CommandExecutor with real processes, through both spawners: process groups, the stage
// layout and its environment, result files and failures.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StageTimeoutError } from '../src/errors.ts';
import { CommandExecutor } from '../src/executors/command.ts';
import { environmentMarkerFile } from '../src/executors/environment-activation.ts';
import type { StageTask } from '../src/executors/executor.ts';
import { NativeSpawner, nativeHelperPath } from '../src/executors/native-spawner.ts';
import { NodeSpawner, type Spawner } from '../src/executors/spawner.ts';
import type { TaskSpec } from '../src/graph/pipeline.ts';
import { parseLogLine } from '../src/logs/stage-log-line.ts';
import { RedactingFilter } from '../src/secrets/redacting-filter.ts';
import { Redactor } from '../src/secrets/redactor.ts';
import { isGone, nativeBuilt, nativeSkip, waitFor } from './fixtures/processes.ts';

const maskingNothingSeen = new Redactor();
maskingNothingSeen.add('a secret that no test prints');

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const implementations: [string, () => Spawner, false | string][] = [
  ['NodeSpawner', () => new NodeSpawner(), false],
  // How commands run when a run has secrets to mask (src/cli/commands/run-secrets.ts).
  [
    'NodeSpawner with an output filter',
    () => new NodeSpawner({ outputFilter: () => new RedactingFilter(maskingNothingSeen) }),
    false,
  ],
  ['NativeSpawner', () => new NativeSpawner(), nativeSkip],
];

for (const [name, createSpawner, skip] of implementations) {
  describe(`CommandExecutor on ${name}`, { skip }, () => {
    let workspace: string;
    let executor: CommandExecutor;
    let stages = 0;
    const never = new AbortController().signal;

    before(() => {
      assert.ok(name !== 'NativeSpawner' || nativeBuilt, `${nativeHelperPath} could not be built`);
      workspace = realpathSync(mkdtempSync(join(tmpdir(), 'gp-command-')));
      executor = new CommandExecutor({
        spawner: createSpawner(),
        killGraceMs: 200,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FROM_BASE: 'base', OVERRIDDEN: 'base' },
      });
    });
    after(async () => {
      await executor?.close();
      if (workspace) rmSync(workspace, { recursive: true, force: true });
    });

    function task(
      spec: Partial<Extract<TaskSpec, { kind: 'command' }>>,
      more: Partial<StageTask> = {},
    ): StageTask {
      const stage = `stage${++stages}`;
      const runDir = join(workspace, '.gpipe', 'runs', 'run1');
      return {
        runId: 'run1',
        pipelineName: 'demo',
        stage,
        attempt: 1,
        spec: { kind: 'command', argv: ['true'], shell: false, ...spec },
        inputs: {},
        dependencyResults: {},
        cpus: 1,
        paths: { workspaceRoot: workspace, runDir, stageDir: join(runDir, stage) },
        ...more,
      };
    }

    test('a retry does not take the result file an earlier attempt left', async () => {
      const script =
        'if [ -e "$OUTPUT_ROOT/../tried" ]; then exit 0; fi; touch "$OUTPUT_ROOT/../tried"; echo \'{"stale": true}\' > "$GP_RESULT_FILE"; exit 1';
      const first = task({ argv: ['sh', '-c', script] });
      const failed = await executor.execute(first, never);
      assert.equal(failed.status, 'failed');
      assert.ok(existsSync(join(first.paths.stageDir, 'result.json')), 'the first try wrote one');
      const retried = await executor.execute({ ...first, attempt: 2 }, never);
      assert.equal(retried.status, 'succeeded', JSON.stringify(retried.error));
      assert.equal(retried.output ?? null, null, 'the second try wrote no result');
    });

    test('a timeout ends the whole process group, a silent grandchild included', async () => {
      const pidFile = join(workspace, 'grandchild.pid');
      const command = `sleep 30 & echo $! > '${pidFile}'; wait`;
      const controller = new AbortController();
      const running = executor.execute(task({ argv: ['sh', '-c', command] }), controller.signal);
      await waitFor(() => readPid(pidFile) !== undefined, 'the grandchild to start');
      const grandchild = readPid(pidFile)!;
      assert.equal(isGone(grandchild), false);
      controller.abort(new StageTimeoutError('stage', 100));
      const result = await running;
      assert.equal(result.status, 'failed');
      assert.equal(result.error?.code, 'TIMEOUT');
      await waitFor(() => isGone(grandchild), `grandchild ${grandchild} to be gone`);
    });

    test('an environment is activated (its bin first on PATH); one init never made fails ENV_NOT_CREATED', async () => {
      const dir = join(workspace, 'envs', `conda${stages}`);
      const environment = { name: 'packed', kind: 'conda' as const, dir, source: '/x.tar' };
      const missing = await executor.execute(task({ environment }), never);
      assert.equal(missing.status, 'failed');
      assert.equal(missing.error?.code, 'ENV_NOT_CREATED');
      assert.match(
        missing.error?.message ?? '',
        /environment 'packed' \(conda\) is not made in .*: run gpipe init on its pipeline first/,
      );

      mkdirSync(join(dir, 'bin'), { recursive: true });
      writeFileSync(
        join(dir, 'bin', 'where'),
        '#!/bin/sh\necho "in $CONDA_PREFIX ($CONDA_DEFAULT_ENV)"\n',
        { mode: 0o755 },
      );
      writeFileSync(join(dir, environmentMarkerFile), '{}');
      const t = task({
        argv: [
          'sh',
          '-c',
          'where > "$OUTPUT_ROOT/where.txt"; echo "$PATH" >> "$OUTPUT_ROOT/where.txt"',
        ],
        env: { PATH: '/usr/bin:/bin' },
        environment,
      });
      const result = await executor.execute(t, never);
      assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
      assert.equal(
        readFileSync(join(t.paths.stageDir, 'artifacts', 'where.txt'), 'utf8'),
        `in ${dir} (packed)\n${join(dir, 'bin')}:/usr/bin:/bin\n`,
      );
    });

    test('a grandchild that ignores SIGTERM is SIGKILLed after the grace period', async () => {
      const pidFile = join(workspace, 'stubborn.pid');
      const stubborn = `trap '' TERM; echo $$ > '${pidFile}'; while :; do sleep 1; done`;
      const command = `sh -c "${stubborn}" & wait`;
      const controller = new AbortController();
      const running = executor.execute(task({ argv: ['sh', '-c', command] }), controller.signal);
      await waitFor(() => readPid(pidFile) !== undefined, 'the grandchild to start');
      const grandchild = readPid(pidFile)!;
      controller.abort(new StageTimeoutError('stage', 100));
      const result = await running;
      assert.equal(result.error?.code, 'TIMEOUT');
      // The executor only returns once the group is empty; SIGTERM alone would have left it.
      await waitFor(() => isGone(grandchild), `grandchild ${grandchild} to be gone`, 2000);
    });

    test('the standard variables are absolute and right, over the base environment and the stage env', async () => {
      const upstreamTask = task({});
      assert.equal((await executor.execute(upstreamTask, never)).status, 'succeeded');
      const t = task(
        {
          argv: ['sh', '-c', 'env > "$OUTPUT_ROOT/env.txt"'],
          env: { OVERRIDDEN: 'stage', PIPELINE_ID: 'not this' },
        },
        { dependencyResults: { [upstreamTask.stage]: null } },
      );
      const result = await executor.execute(t, never);
      assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
      const env = Object.fromEntries(
        readFileSync(join(t.paths.stageDir, 'artifacts', 'env.txt'), 'utf8')
          .trimEnd()
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      assert.equal(env.PIPELINE_ID, 'demo');
      assert.equal(env.OPERATOR_ID, t.stage);
      assert.equal(env.INPUT_ROOT, join(t.paths.stageDir, 'inputs'));
      assert.equal(env.OUTPUT_ROOT, join(t.paths.stageDir, 'artifacts'));
      assert.equal(env.WORKSPACE_ROOT, workspace);
      assert.equal(env.GP_RESULT_FILE, join(t.paths.stageDir, 'result.json'));
      for (const key of ['INPUT_ROOT', 'OUTPUT_ROOT', 'WORKSPACE_ROOT', 'GP_RESULT_FILE']) {
        assert.ok(isAbsolute(env[key]!), `${key}=${env[key]}`);
      }
      assert.ok(statSync(env.INPUT_ROOT!).isDirectory());
      assert.equal(
        readlinkSync(join(env.INPUT_ROOT!, upstreamTask.stage)),
        join(upstreamTask.paths.stageDir, 'artifacts'),
      );
      assert.equal(env.FROM_BASE, 'base');
      assert.equal(env.OVERRIDDEN, 'stage');
      assert.equal(env.PWD ?? workspace, workspace);
    });

    test('the JSON in GP_RESULT_FILE becomes the output; no file means null', async () => {
      const writes = await executor.execute(
        task({ argv: ['sh', '-c', 'echo \'{"count": 3, "names": ["a"]}\' > "$GP_RESULT_FILE"'] }),
        never,
      );
      assert.equal(writes.status, 'succeeded');
      assert.deepEqual(writes.output, { count: 3, names: ['a'] });
      assert.equal(writes.exitCode, 0);
      const silent = await executor.execute(task({}), never);
      assert.equal(silent.status, 'succeeded');
      assert.equal(silent.output, null);
    });

    test('params arrive as JSON in GP_PARAMS ({} without any); the result names the pid', async () => {
      const echo = [
        'sh',
        '-c',
        'printf %s "$GP_PARAMS" > "$GP_RESULT_FILE.txt"; echo $$ > "$OUTPUT_ROOT/pid"',
      ];
      const params = { n: 3, grid: { lr: [0.1, 0.01] }, name: 'it\'s "quoted"' };
      const withParams = task({ argv: echo }, { params });
      const result = await executor.execute(withParams, never);
      assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
      const sent = readFileSync(join(withParams.paths.stageDir, 'result.json.txt'), 'utf8');
      assert.deepStrictEqual(JSON.parse(sent), params);
      const pid = Number(readFileSync(join(withParams.paths.stageDir, 'artifacts', 'pid'), 'utf8'));
      assert.equal(result.pid, pid);
      const without = task({ argv: echo });
      assert.equal((await executor.execute(without, never)).status, 'succeeded');
      assert.equal(readFileSync(join(without.paths.stageDir, 'result.json.txt'), 'utf8'), '{}');
    });

    test('a result file that is not JSON fails the stage, naming the file', async () => {
      const t = task({ argv: ['sh', '-c', 'echo "{not json" > "$GP_RESULT_FILE"'] });
      const result = await executor.execute(t, never);
      assert.equal(result.status, 'failed');
      assert.equal(result.error?.code, 'BAD_RESULT');
      assert.match(result.error!.message, /result\.json is not JSON/);
      assert.ok(result.error!.message.includes(join(t.paths.stageDir, 'result.json')));
    });

    test('a non-zero exit fails with EXIT_CODE and the end of the log', async () => {
      const result = await executor.execute(
        task({ argv: ['sh', '-c', 'echo starting; echo "boom: disk full" >&2; exit 3'] }),
        never,
      );
      assert.equal(result.status, 'failed');
      assert.equal(result.exitCode, 3);
      assert.equal(result.error?.code, 'EXIT_CODE');
      assert.equal(
        result.error?.message,
        'command exited with code 3; last output:\nstarting\nboom: disk full',
      );
    });

    test('a command killed by a signal fails with 128 + the signal number', async () => {
      const result = await executor.execute(task({ argv: ['sh', '-c', 'kill -KILL $$'] }), never);
      assert.equal(result.exitCode, 137);
      assert.equal(result.error?.code, 'EXIT_CODE');
      assert.match(result.error!.message, /^command was killed by SIGKILL/);
    });

    test('a shell string runs only with shell: true', async () => {
      const line = 'echo hello > "$OUTPUT_ROOT/greeting"';
      const asArgv = task({ argv: [line], shell: false });
      const refused = await executor.execute(asArgv, never);
      assert.equal(refused.status, 'failed');
      assert.equal(refused.error?.code, 'ENV_SPAWN_FAILED');
      assert.equal(existsSync(join(asArgv.paths.stageDir, 'artifacts', 'greeting')), false);
      const asShell = task({ argv: [line], shell: true });
      assert.equal((await executor.execute(asShell, never)).status, 'succeeded');
      assert.equal(
        readFileSync(join(asShell.paths.stageDir, 'artifacts', 'greeting'), 'utf8'),
        'hello\n',
      );
    });

    test('a program that does not exist fails with ENV_SPAWN_FAILED, naming it', async () => {
      const result = await executor.execute(
        task({ argv: ['gp-no-such-program', '--flag'] }),
        never,
      );
      assert.equal(result.status, 'failed');
      assert.equal(result.error?.code, 'ENV_SPAWN_FAILED');
      assert.equal(
        result.error?.message,
        "cannot start 'gp-no-such-program': no such file or directory (ENOENT)",
      );
    });

    test('stdout and stderr go to stage.log in the stage directory', async () => {
      const t = task({ argv: ['sh', '-c', 'echo to-out; echo to-err >&2'] });
      assert.equal((await executor.execute(t, never)).status, 'succeeded');
      const lines = readFileSync(join(t.paths.stageDir, 'stage.log'), 'utf8').trimEnd().split('\n');
      // Two pipes: which one is read first is up to the scheduler, so compare as a set.
      assert.deepEqual(
        lines
          .map(parseLogLine)
          .map((l) => `${l.stream} ${l.text}`)
          .sort(),
        ['stderr to-err', 'stdout to-out'],
      );
    });
  });
}
