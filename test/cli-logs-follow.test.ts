// `gpipe logs -f` reads only the logs that may grow: judged by what it prints while following.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatLogLine, parseLogLine } from '../src/logs/stage-log-line.ts';
import type { RunRecord, StoreWrite } from '../src/store/run-store.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { followTalk, printedLines } from './fixtures/cli/follow-talk.ts';
import { startGpipe, workspaces } from './fixtures/cli/harness.ts';

const workspace = workspaces();

test('logs -f prints the lines a running stage appends to its log while it runs', async () => {
  const talk = await followTalk(workspace, 'appends', {
    secondToStderr: true,
    holdAfter: true,
    wholeRun: true,
  });
  try {
    writeFileSync(join(talk.dir, 'go'), '');
    // The stage still runs (it waits for `end`): the line must come from following, not the
    // last read after the end.
    await talk.follow.waitFor('the appended line', ({ stdout }) => stdout.includes('second'));
    assert.equal(talk.follow.child.exitCode, null, 'still following');
    writeFileSync(join(talk.dir, 'end'), '');
    const followed = await talk.follow.finished;
    assert.equal(followed.code, 0, followed.stderr);
    assert.deepEqual(
      printedLines(followed.stdout).map((line) => line.text),
      ['first', 'second'],
    );
  } finally {
    talk.release();
  }
  assert.equal((await talk.run.finished).code, 0);
});

/** A run of a mapped stage `square` with `items` items, written as a run would. */
async function fanOutRun(dir: string, items: number, running: number) {
  const runId = '20261202_010000_f0f0f0';
  const runDir = join(dir, '.gpipe', 'runs', runId);
  const t0 = Date.now() - 60_000;
  const run: RunRecord = {
    ...{ runId, pipeline: 'fanned', status: 'running', startedAt: t0, runDir },
    ...{ host: hostname(), pid: process.pid, stages: ['square'], options: {} },
  };
  const store = await openSqliteStore(join(dir, '.gpipe', 'state.db'));
  const event = (type: 'stage_started' | 'stage_finished', stage: string): StoreWrite => ({
    kind: 'event',
    event: { runId, ts: Date.now(), type, stage, attempt: 1 },
  });
  const say = (i: number, text: string, ms = Date.now()) => {
    mkdirSync(join(runDir, `square[${i}]`), { recursive: true });
    const line = formatLogLine(new Date(ms).toISOString(), 'stdout', text);
    appendFileSync(join(runDir, `square[${i}]`, 'stage.log'), line);
  };
  const writes: StoreWrite[] = [{ kind: 'run', run }, event('stage_started', 'square')];
  for (let i = 0; i < items; i++) {
    say(i, `item ${i} one`, t0 + i);
    writes.push(event('stage_started', `square[${i}]`));
    if (i >= running) writes.push(event('stage_finished', `square[${i}]`));
  }
  await store.append(writes);
  return { store, run, event, say };
}

test('logs -f of a fan-out reads the items that run, start, end or start again', async () => {
  const dir = workspace({});
  const items = 300;
  const { store, run, event, say } = await fanOutRun(dir, items, 2);
  const lines = (stdout: string) => stdout.trimEnd().split('\n');
  try {
    const all = startGpipe(['logs', run.runId, '-f'], dir);
    const mapped = startGpipe(['logs', run.runId, 'square', '-f', '--json'], dir);
    const printed =
      (n: number) =>
      ({ stdout }: { stdout: string }) =>
        lines(stdout).length >= n;
    await Promise.all([
      all.waitFor('every item', printed(items)),
      mapped.waitFor('every item', printed(items)),
    ]);
    const step = async (what: string, n: number, change: () => Promise<void> | void) => {
      await change();
      await Promise.all([all.waitFor(what, printed(n)), mapped.waitFor(what, printed(n))]);
    };
    // A running item's log grows; a new item starts; a running one writes its last line and
    // ends; an item that had ended starts again (a retry) and writes.
    await step('a running item', items + 1, () => say(0, 'item 0 two'));
    await step('a new item', items + 2, async () => {
      say(items, `item ${items} one`);
      await store.append([event('stage_started', `square[${items}]`)]);
    });
    await step('an item that ends', items + 3, async () => {
      say(1, 'item 1 two');
      await store.append([event('stage_finished', 'square[1]')]);
    });
    await step('an item that runs again', items + 4, async () => {
      await store.append([event('stage_started', 'square[7]')]);
      say(7, 'item 7 two');
    });
    await store.append([
      { kind: 'run', run: { ...run, status: 'succeeded', endedAt: Date.now() } },
    ]);
    const [followedAll, followedMapped] = await Promise.all([all.finished, mapped.finished]);
    assert.equal(followedAll.code, 0, followedAll.stderr);
    assert.equal(followedMapped.code, 0, followedMapped.stderr);
    const texts = lines(followedAll.stdout).map((line) => {
      const prefix = /^\[(square\[\d+\])\] /.exec(line)!;
      return `${prefix[1]} ${parseLogLine(line.slice(prefix[0].length)).text}`;
    });
    const expected = [...Array(items + 1).keys()].map((i) => `square[${i}] item ${i} one`);
    expected.splice(items, 0, 'square[0] item 0 two');
    expected.push('square[1] item 1 two', 'square[7] item 7 two');
    assert.deepEqual(texts, expected);
    const json = lines(followedMapped.stdout).map((line) => JSON.parse(line));
    assert.deepEqual(
      json.map(({ stage, line }) => `${stage} ${line}`),
      expected,
    );
  } finally {
    await store.close();
  }
});
