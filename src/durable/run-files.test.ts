import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pushOutputRow } from './output-file.ts';
import { RunFiles } from './run-files.ts';

/** The output row of stage `load`'s first attempt. */
function outputRows(): unknown[] {
  const rows: unknown[] = [];
  pushOutputRow(
    rows,
    {
      runId: 'r1',
      stage: 'load',
      attempt: 1,
      status: 'succeeded',
      startedAt: 1_000,
      endedAt: 2_000,
      host: 'h',
      pid: 1,
      executor: 'inline',
      taskId: 'r1:load:1',
      outputJson: '42',
      outputHash: 'sha256:x',
      inputHash: 'sha256:y',
    },
    undefined,
  );
  return rows;
}

async function until(what: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) assert.fail('timed out waiting');
    await sleep(5);
  }
}

test('output files wait while the run holds them, and close writes them at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-run-files-'));
  const files = new RunFiles();
  try {
    const output = join(dir, 'load', 'output.json');
    // The worker is up and writing: run.json, asked for first, is there.
    files.writeFile(join(dir, 'run.json'), '{}\n');
    await until(() => existsSync(join(dir, 'run.json')));
    const holdEnds = Date.now() + 20_000;
    files.holdFor(20_000);
    files.writeOutputs(dir, outputRows());
    await sleep(300);
    assert.equal(existsSync(output), false, 'held');
    await files.close();
    assert.equal(JSON.parse(readFileSync(output, 'utf8')).data, 42, 'written by close');
    // close lifted the hold: it did not wait for it to run out.
    assert.ok(Date.now() < holdEnds, 'close waited for the hold to run out');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('output files are written as they come when nothing holds them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-run-files-'));
  const files = new RunFiles();
  try {
    files.holdFor(0);
    files.writeOutputs(dir, outputRows());
    await until(() => existsSync(join(dir, 'load', 'output.json')));
  } finally {
    await files.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("removes the temporary files a crash left in a run directory, but not this process's", async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'gp-run-files-'));
  try {
    mkdirSync(join(runDir, 'load', 'artifacts'), { recursive: true });
    const leftovers = [
      join(runDir, 'run.json.tmp-999999-3'),
      join(runDir, 'load', 'output.json.tmp-999999-1'),
    ];
    const own = join(runDir, 'load', `output.json.tmp-${process.pid}-7`);
    const kept = [own, join(runDir, 'load', 'stage.log'), join(runDir, 'load', 'artifacts')];
    for (const path of [...leftovers, own, join(runDir, 'load', 'stage.log')])
      writeFileSync(path, '{"torn');
    const files = new RunFiles();
    files.removeLeftovers(runDir);
    files.removeLeftovers(join(runDir, 'gone'));
    await files.close();
    assert.equal(files.firstError, undefined);
    for (const path of leftovers) assert.equal(existsSync(path), false, path);
    for (const path of kept) assert.equal(existsSync(path), true, path);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
