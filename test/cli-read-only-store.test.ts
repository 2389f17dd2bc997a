/**
 * A run store this user may not write, through the real `gpipe`: the inspection commands read
 * an archived or shared `.gpipe/` and change nothing in it, and `gpipe run` stops before any
 * stage when its run cannot be recorded, with one line naming the file at fault, exit 5.
 *
 * "This user" is `nobody` (setpriv) when the tests run as root, whom permissions do not stop;
 * otherwise the test's own user, with the write bits taken away.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sqlitePackage } from '../src/store/sqlite/sqlite-driver.ts';
import { CliProcess, type Finished, gpipeBin, repoRoot } from './fixtures/cli/harness.ts';
import {
  assertExit,
  assertUnchanged,
  durableWorkspaces,
  expectExit,
  invocationCounts,
  runFinished,
  snapshot,
} from './fixtures/durable/durable-harness.ts';

const asRoot = process.getuid?.() === 0;
const canSwitchUser = !asRoot || spawnSync('setpriv', ['--version']).status === 0;
// Under CI a missing setpriv fails the run: these tests must not skip there unnoticed.
if (!canSwitchUser && process.env.CI)
  throw new Error('these tests need setpriv (util-linux) when run as root');
const skip = canSwitchUser ? false : 'needs setpriv to run gpipe as a user who cannot write';

/** Runs `gpipe …args` in `cwd` as a user whom only permissions allow to write. */
function gpipeAsUser(args: readonly string[], cwd: string): Promise<Finished> {
  const gpipe = [process.execPath, gpipeBin, ...args];
  const cli = asRoot
    ? new CliProcess('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...gpipe], {
        cwd,
      })
    : new CliProcess(gpipe[0]!, gpipe.slice(1), { cwd });
  cli.child.stdin!.end();
  return cli.finished;
}

async function expectUserExit(code: number, args: readonly string[], cwd: string) {
  return assertExit(await gpipeAsUser(args, cwd), code, args);
}

/** Sets every folder under `dir` (itself too) to `folders`, every file to `files`. */
function chmodTree(dir: string, folders: number, files: number): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chmodTree(path, folders, files);
    else if (entry.isFile()) chmodSync(path, files);
  }
  chmodSync(dir, folders);
}

/**
 * Leaves `state.db-wal` and `state.db-shm` as a gpipe killed mid-run would: a process that
 * commits (every run's status set to `failed`, in the -wal only) and exits without closing.
 */
function leaveWalBehind(cwd: string): void {
  const script = `const Database = require(${JSON.stringify(sqlitePackage)});
    const db = new Database(${JSON.stringify(join(cwd, '.gpipe', 'state.db'))});
    db.prepare("UPDATE runs SET status = 'failed'").run();
    process.exit(0);`;
  const child = spawnSync(process.execPath, ['-e', script], { cwd: repoRoot });
  assert.equal(child.status, 0, String(child.stderr));
  assert.ok(statSync(join(cwd, '.gpipe', 'state.db-wal')).size > 0, 'the -wal holds the commit');
}

const spaces = durableWorkspaces();

/** A workspace with one finished run of flow.yaml, made by this process's user. */
async function finishedRun(): Promise<{ cwd: string; runId: string }> {
  const cwd = spaces.make(['flow.yaml']);
  const { stdout } = await expectExit(0, ['run', 'flow.yaml', '--json'], cwd);
  return { cwd, runId: runFinished(stdout).runId };
}

describe('inspecting a workspace this user cannot write', { skip }, () => {
  let cwd = '';
  let runId = '';
  before(async () => {
    ({ cwd, runId } = await finishedRun());
    chmodTree(cwd, 0o555, 0o444);
  });
  // Its owner may remove it again (rmSync needs to write the folders).
  after(() => chmodTree(cwd, 0o755, 0o644));

  const inspections = () => [
    ['runs'],
    ['status'],
    ['show', runId, 'b'],
    ['logs', runId],
    ['run', '--dry-run', 'flow.yaml'],
  ];

  test('runs, status, show, logs and run --dry-run read it and write nothing', async () => {
    const before = snapshot(cwd);
    for (const args of inspections()) {
      const { stdout, stderr } = await expectUserExit(0, args, cwd);
      assert.equal(stderr, '', `gpipe ${args.join(' ')}: nothing on stderr`);
      if (args[0] !== 'logs') assert.match(stdout, /\S/, `gpipe ${args.join(' ')} prints`);
    }
    assert.match((await gpipeAsUser(['runs'], cwd)).stdout, new RegExp(`${runId}.*succeeded`));
    assert.match((await gpipeAsUser(['show', runId, 'b'], cwd)).stdout, /"file": ?"hello"/);
    assertUnchanged(cwd, before, 'inspecting a read-only workspace');
  });

  test('what a crashed session left in state.db-wal is read through its state.db-shm', async () => {
    chmodTree(cwd, 0o755, 0o644);
    leaveWalBehind(cwd);
    chmodTree(cwd, 0o555, 0o444);
    const before = snapshot(cwd);
    const { stdout } = await expectUserExit(0, ['runs'], cwd);
    assert.match(stdout, new RegExp(`${runId}.*failed`), 'the commit in the -wal is seen');
    await expectUserExit(0, ['status'], cwd);
    assertUnchanged(cwd, before, 'reading through a left -shm');
  });

  test('commits in a -wal with no -shm to read them through: one line, exit 5', async () => {
    chmodTree(cwd, 0o755, 0o644);
    rmSync(join(cwd, '.gpipe', 'state.db-shm'));
    chmodTree(cwd, 0o555, 0o444);
    for (const args of [['runs'], ['status'], ['run', '--dry-run', 'flow.yaml']]) {
      const { stdout, stderr } = await expectUserExit(5, args, cwd);
      assert.equal(stdout, '');
      assert.match(stderr, /^gpipe: cannot read the run store: [^\n]*state\.db-wal[^\n]*\n$/);
      assert.match(stderr, /state\.db-shm/);
    }
  });
});

describe('a run whose store this user cannot write', { skip }, () => {
  /**
   * A finished run's workspace that this user may write, but for `fault`; then a second run,
   * which must fail at once with exit 5 and one line matching `message`, having started no
   * stage, recorded no run and moved no `latest`.
   */
  async function expectRefused(fault: (gpipeDir: string) => void, message: RegExp) {
    const { cwd } = await finishedRun();
    const gpipeDir = join(cwd, '.gpipe');
    chmodTree(cwd, 0o777, 0o666);
    fault(gpipeDir);
    const runs = readdirSync(join(gpipeDir, 'runs'));
    const latest = readlinkSync(join(gpipeDir, 'latest'));
    const invoked = invocationCounts(cwd);
    try {
      const { stdout, stderr } = await expectUserExit(5, ['run', 'flow.yaml', '--no-cache'], cwd);
      assert.equal(stdout, '');
      assert.match(stderr, /^gpipe: the run store cannot be written, so the run did not start: /);
      assert.match(stderr, /^[^\n]*\n$/, 'one line');
      assert.match(stderr, message);
      assert.deepEqual(invocationCounts(cwd), invoked, 'no stage ran');
      assert.deepEqual(readdirSync(join(gpipeDir, 'runs')), runs, 'no run directory');
      assert.equal(readlinkSync(join(gpipeDir, 'latest')), latest);
    } finally {
      chmodTree(cwd, 0o755, 0o644);
    }
    const { stdout } = await expectExit(0, ['runs', '--json'], cwd);
    assert.equal((JSON.parse(stdout) as unknown[]).length, 1, 'no run recorded');
  }

  /** What is made read-only in `.gpipe/` (`.` is the folder), after leaving a -wal behind or not. */
  const refusals: [string, { wal?: boolean; modes: Record<string, number> }, RegExp][] = [
    [
      'a read-only state.db',
      { modes: { 'state.db': 0o444 } },
      /\/\.gpipe\/state\.db: permission denied$/m,
    ],
    [
      'a read-only state.db-wal and state.db-shm left by another session',
      { wal: true, modes: { 'state.db-wal': 0o444, 'state.db-shm': 0o444 } },
      /\/\.gpipe\/state\.db-wal: permission denied$/m,
    ],
    [
      'a read-only state.db-shm',
      { wal: true, modes: { 'state.db-wal': 0o666, 'state.db-shm': 0o444 } },
      /\/\.gpipe\/state\.db-shm: permission denied$/m,
    ],
    [
      'a .gpipe/ where SQLite cannot create the -wal and -shm',
      { modes: { '.': 0o555 } },
      /\/\.gpipe: permission denied, and SQLite must create state\.db-wal and state\.db-shm there$/m,
    ],
  ];
  for (const [name, { wal, modes }, message] of refusals) {
    test(name, async () => {
      await expectRefused((dir) => {
        if (wal) leaveWalBehind(join(dir, '..'));
        for (const [file, mode] of Object.entries(modes)) chmodSync(join(dir, file), mode);
      }, message);
    });
  }
});
