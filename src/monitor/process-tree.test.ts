import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { type ProcessInfo, parseStat, processTreeOf, sampleProcessTree } from './process-tree.ts';

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
    cpuTicks: 0,
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
  assert.deepEqual(processTreeOf(table, 99), { pids: [], rssBytes: 0 });
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
