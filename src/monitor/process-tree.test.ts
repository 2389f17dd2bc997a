import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type ProcessInfo,
  parseStat,
  processTreeOf,
  readTreeIo,
  sampleProcessTree,
} from './process-tree.ts';

test('a stat line parses even when the command name holds spaces and parentheses', () => {
  const line =
    '4242 (my (odd) name) S 4000 4242 4242 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 0 123 1000000 256 18446744073709551615';
  assert.deepEqual(parseStat(line, 4096), {
    pid: 4242,
    ppid: 4000,
    pgid: 4242,
    state: 'S',
    rssBytes: 256 * 4096,
    cpuTicks: 10,
    childCpuTicks: 0,
  });
  assert.equal(parseStat('garbage', 4096), undefined);
});

test('a tree is the root, its descendants and its group; zombies and strangers are not', () => {
  const p = (pid: number, ppid: number, pgid: number, rss: number, state = 'S'): ProcessInfo => ({
    pid,
    ppid,
    pgid,
    state,
    rssBytes: rss,
    cpuTicks: pid,
    childCpuTicks: 1000 * pid,
  });
  const table = [
    p(1, 0, 1, 5),
    p(10, 1, 10, 100), // root
    p(11, 10, 10, 20), // child
    p(12, 11, 12, 30), // grandchild in a group of its own (setpgid): still a descendant
    p(13, 1, 10, 40), // orphan reparented to init, still in the group
    p(14, 10, 10, 999, 'Z'), // zombie
    p(20, 1, 20, 7), // a stranger
  ];
  const tree = processTreeOf(table, 10);
  assert.deepEqual(
    tree.pids.slice().sort((a, b) => a - b),
    [10, 11, 12, 13],
  );
  assert.equal(tree.pids[0], 10);
  assert.equal(tree.rssBytes, 190);
  // CPU counts the zombie too (its time is not yet its parent's), and reaped children's time.
  assert.deepEqual(
    tree.members.slice().sort((a, b) => a - b),
    [10, 11, 12, 13, 14],
  );
  assert.equal(tree.cpuTicks, 1001 * (10 + 11 + 12 + 13 + 14));
  assert.deepEqual(processTreeOf(table, 99), { pids: [], rssBytes: 0, members: [], cpuTicks: 0 });
});

test("the IO of a tree counts what a shell's reaped child wrote", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-io-'));
  // The shell waits for head: head's IO is the shell's once head is reaped.
  const shell = spawn('/bin/sh', ['-c', 'head -c 4M /dev/zero > out.bin; sleep 30'], {
    cwd: dir,
    detached: true,
    stdio: 'ignore',
  });
  try {
    let io = readTreeIo([shell.pid!]);
    for (let i = 0; i < 250 && io.writeBytes < 4 * 1024 * 1024; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      io = readTreeIo(sampleProcessTree(shell.pid!).members);
    }
    assert.ok(io.writeBytes >= 4 * 1024 * 1024, `${io.writeBytes} bytes written`);
  } finally {
    process.kill(-shell.pid!, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real shell and its sleeping grandchild are found, with their memory', async () => {
  const child = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30; wait'], {
    detached: true,
    stdio: 'ignore',
  });
  try {
    let tree = sampleProcessTree(child.pid!);
    for (let i = 0; i < 100 && tree.pids.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      tree = sampleProcessTree(child.pid!);
    }
    assert.equal(tree.pids.length, 3);
    assert.equal(tree.pids[0], child.pid);
    assert.ok(tree.rssBytes > 100 * 1024, `${tree.rssBytes} bytes`);
  } finally {
    process.kill(-child.pid!, 'SIGKILL');
  }
});
