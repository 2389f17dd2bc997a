// Exit codes and error messages of the CLI, Ctrl-C handling and the workspace search, in process.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { describeError } from '../src/cli/describe-error.ts';
import { exitCodeOfRun } from '../src/cli/exit-code.ts';
import { handleInterrupts } from '../src/cli/interrupt.ts';
import { findWorkspaceRoot } from '../src/cli/workspace.ts';
import { ConfigError, InputError, PipelineError } from '../src/errors.ts';
import type { Executor } from '../src/executors/executor.ts';
import type { RunResult, StageOutcome } from '../src/scheduler/engine.ts';

const options = { program: 'gpipe', cwd: '/work/project', debug: false };

describe('describeError', () => {
  test('a config error: every issue on its own line, relative paths, then a count', () => {
    const error = new ConfigError([
      {
        file: '/work/project/p.yaml',
        line: 4,
        column: 7,
        stage: 'train',
        message: "unknown key 'dependson'",
        hint: "did you mean 'depends_on'?",
      },
      {
        file: '/work/project/p.yaml',
        line: 9,
        column: 3,
        message: 'modules must list at least one module',
      },
    ]);
    assert.deepEqual(describeError(error, options), {
      exitCode: 1,
      lines: [
        "p.yaml:4:7: module 'train': unknown key 'dependson' (hint: did you mean 'depends_on'?)",
        'p.yaml:9:3: modules must list at least one module',
        'gpipe: 2 problems in p.yaml',
      ],
    });
  });

  test('input errors exit 2, environment errors 5, other errors of ours 1', () => {
    assert.deepEqual(describeError(new InputError('no such file: p.yaml'), options), {
      exitCode: 2,
      lines: ['gpipe: no such file: p.yaml'],
    });
    assert.equal(
      describeError(new PipelineError('ENV_NO_PYTHON', 'python3 not found'), options).exitCode,
      5,
    );
    const denied = Object.assign(new Error("EACCES: permission denied, mkdir '/ro/.gpipe'"), {
      code: 'EACCES',
      syscall: 'mkdir',
    });
    assert.deepEqual(describeError(denied, options), {
      exitCode: 5,
      lines: [`gpipe: ${denied.message}`],
    });
    assert.equal(
      describeError(new PipelineError('INVALID_STAGE', "stage 'x' needs a function"), options)
        .exitCode,
      1,
    );
  });

  test('an error of another copy of this package is recognised by its code', () => {
    const foreign = Object.assign(new Error('bad'), {
      name: 'ConfigError',
      code: 'CONFIG_INVALID',
      issues: [{ message: 'bad' }],
    });
    assert.deepEqual(describeError(foreign, options), {
      exitCode: 1,
      lines: ['bad', 'gpipe: 1 problem'],
    });
  });

  test('usage errors: one line naming the help to read', () => {
    const unknown = Object.assign(new Error("error: unknown option '--bogus'"), {
      code: 'commander.unknownOption',
      exitCode: 1,
    });
    assert.deepEqual(describeError(unknown, { ...options, command: 'run' }), {
      exitCode: 2,
      lines: ["gpipe: unknown option '--bogus' (see 'gpipe run --help')"],
    });
    const help = Object.assign(new Error('(outputHelp)'), {
      code: 'commander.helpDisplayed',
      exitCode: 0,
    });
    assert.deepEqual(describeError(help, options), { exitCode: 0, lines: [] });
  });

  test('anything else is an internal error: one line and a hint, the stack only with GP_DEBUG', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    assert.deepEqual(describeError(bug, options), {
      exitCode: 70,
      lines: [`gpipe: internal error: ${bug.message}`, 'set GP_DEBUG=1 to see the stack trace'],
    });
    const debug = describeError(bug, { ...options, debug: true });
    assert.equal(debug.lines[1], bug.stack);
    assert.equal(
      describeError('thrown string', options).lines[0],
      'gpipe: internal error: thrown string',
    );
  });
});

describe('exitCodeOfRun', () => {
  const run = (status: RunResult['status'], stages: Record<string, StageOutcome>): RunResult => ({
    runId: 'r',
    status,
    runDir: '/r',
    stages,
  });
  const failed = (code: string): StageOutcome => ({
    status: 'failed',
    attempts: 1,
    error: { code, name: 'PipelineError', message: code, retryable: true },
  });

  test('0 succeeded, 130 cancelled, 3 a stage failed', () => {
    assert.equal(exitCodeOfRun(run('succeeded', { a: { status: 'succeeded', attempts: 1 } })), 0);
    assert.equal(exitCodeOfRun(run('cancelled', { a: { status: 'cancelled', attempts: 1 } })), 130);
    assert.equal(exitCodeOfRun(run('failed', { a: failed('EXIT_CODE') })), 3);
  });

  test('4 when a failure is a resource running out, 5 when it is the environment', () => {
    assert.equal(exitCodeOfRun(run('failed', { a: failed('EXIT_CODE'), b: failed('TIMEOUT') })), 4);
    assert.equal(exitCodeOfRun(run('failed', { a: failed('MEMORY_LIMIT') })), 4);
    assert.equal(
      exitCodeOfRun(run('failed', { a: failed('TIMEOUT'), b: failed('ENV_MISSING') })),
      5,
    );
    assert.equal(exitCodeOfRun(run('failed', { a: failed('ENOSPC') })), 5);
  });
});

describe('handleInterrupts', () => {
  function setUp() {
    const signals = new EventEmitter();
    const controller = new AbortController();
    const log: string[] = [];
    const executor = (name: string): Executor => ({
      execute: () => Promise.reject(new Error('not used')),
      killAll: () => log.push(`kill ${name}`),
    });
    const command = executor('command');
    const inline: Executor = { execute: () => Promise.reject(new Error('not used')) };
    const stop = handleInterrupts({
      controller,
      executors: [command, inline, command],
      notice: (message) => log.push(`notice ${message}`),
      beforeExit: () => log.push('restore terminal'),
      exit: (code) => log.push(`exit ${code}`),
      signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    });
    return { signals, controller, log, stop };
  }

  test('the first signal cancels the run and says a second one kills', () => {
    const { signals, controller, log } = setUp();
    signals.emit('SIGINT', 'SIGINT');
    assert.equal(controller.signal.aborted, true);
    assert.equal((controller.signal.reason as PipelineError).code, 'CANCELLED');
    assert.equal(log.length, 1);
    assert.match(log[0]!, /^notice stopping \(SIGINT\).*Ctrl-C again to kill/);
  });

  test('the second kills every executor once and exits 130', () => {
    const { signals, log } = setUp();
    signals.emit('SIGTERM', 'SIGTERM');
    signals.emit('SIGINT', 'SIGINT');
    assert.deepEqual(log.slice(1), [
      'notice killing running stages',
      'kill command',
      'restore terminal',
      'exit 130',
    ]);
  });

  test('once removed, signals are left alone', () => {
    const { signals, controller, stop } = setUp();
    stop();
    assert.equal(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM'), 0);
    assert.equal(controller.signal.aborted, false);
  });
});

describe('findWorkspaceRoot', () => {
  test('the nearest directory upwards with a .project_root marker', () => {
    const markers = new Set(['/a/.project_root', '/a/b/c/.project_root']);
    const exists = (path: string) => markers.has(path);
    assert.equal(findWorkspaceRoot('/a/b/c/d/e', exists), '/a/b/c');
    assert.equal(findWorkspaceRoot('/a/b', exists), '/a');
  });

  test('else the directory it started from', () => {
    assert.equal(
      findWorkspaceRoot('/x/y', () => false),
      '/x/y',
    );
  });
});
