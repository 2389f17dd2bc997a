/**
 * The RunStore contract: every adapter runs this suite unchanged (SQLite now, PostgreSQL
 * later). `open` gives a new, empty store; the suite closes it before calling `cleanup`.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ResourceSample, ResourceSummaryRecord } from '../src/monitor/resource-sample.ts';
import type { AttemptRecord, RunRecord, RunStore, StoreWrite } from '../src/store/run-store.ts';
import { cacheContract } from './store-contract-cache.ts';
import {
  attempt,
  attemptRecord,
  cacheEntry,
  entryAttempt,
  event,
  put,
  run,
  runRecord,
} from './store-records.ts';

export { attemptRecord, cacheEntry, entryAttempt, runRecord };

export type OpenStore = () => Promise<{ store: RunStore; cleanup: () => Promise<void> }>;

export function runStoreContract(name: string, open: OpenStore): void {
  describe(`${name} (the RunStore contract)`, () => {
    let store: RunStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    describe('runs', () => {
      it('round-trips a run exactly, optional fields absent or set', async () => {
        const bare = runRecord('r1');
        const full = runRecord('r2', {
          source: '/work/pipeline.yaml',
          status: 'failed',
          endedAt: 1_500,
          options: { selection: { from: 'train' }, flags: ['--no-cache'], depth: 2, on: true },
        });
        await store.append([run(bare), run(full)]);
        const stored = await store.getRun('r1');
        assert.deepEqual(stored, bare);
        assert.ok(
          stored && !('source' in stored) && !('endedAt' in stored) && !('options' in stored),
        );
        assert.deepEqual(await store.getRun('r2'), full);
        assert.equal(await store.getRun('missing'), undefined);
      });

      it('replaces a run whole', async () => {
        await store.append([run(runRecord('r1', { options: { a: 1 }, endedAt: 5 }))]);
        const resumed = runRecord('r1', { pid: 200, host: 'host-b', stages: ['train'] });
        await store.append([run(resumed)]);
        assert.deepEqual(await store.getRun('r1'), resumed);
        assert.equal((await store.listRuns()).length, 1);
      });

      it('updates status and end time; an absent end time clears it', async () => {
        await store.append([run(runRecord('r1'))]);
        await store.append([{ kind: 'run_status', runId: 'r1', status: 'succeeded', endedAt: 9 }]);
        assert.deepEqual(
          await store.getRun('r1'),
          runRecord('r1', { status: 'succeeded', endedAt: 9 }),
        );
        await store.append([{ kind: 'run_status', runId: 'r1', status: 'running' }]);
        assert.deepEqual(await store.getRun('r1'), runRecord('r1'));
      });

      it('lists runs newest first, by start time then run id, filtered and limited', async () => {
        await store.append([
          run(runRecord('a', { startedAt: 10 })),
          run(runRecord('c', { startedAt: 30, pipeline: 'q' })),
          run(runRecord('b2', { startedAt: 20 })),
          run(runRecord('b1', { startedAt: 20, pipeline: 'q' })),
        ]);
        const ids = (runs: RunRecord[]) => runs.map((r) => r.runId);
        assert.deepEqual(ids(await store.listRuns()), ['c', 'b2', 'b1', 'a']);
        assert.deepEqual(ids(await store.listRuns({ pipeline: 'q' })), ['c', 'b1']);
        assert.deepEqual(ids(await store.listRuns({ limit: 2 })), ['c', 'b2']);
        assert.deepEqual(ids(await store.listRuns({ pipeline: 'p', limit: 1 })), ['b2']);
        assert.deepEqual(await store.listRuns({ pipeline: 'none' }), []);
      });

      it('lists 50 runs unless told otherwise', async () => {
        const many = Array.from({ length: 55 }, (_, i) =>
          run(runRecord(`r${i}`, { startedAt: i })),
        );
        await store.append(many);
        const listed = await store.listRuns();
        assert.equal(listed.length, 50);
        assert.equal(listed[0]!.runId, 'r54');
        assert.equal((await store.listRuns({ limit: 100 })).length, 55);
      });
    });

    describe('events', () => {
      it('numbers events across runs in the order they were appended', async () => {
        await store.append([run(runRecord('r1')), run(runRecord('r2'))]);
        await store.append([event('r1', 1), event('r2', 2), event('r1', 3)]);
        await store.append([event('r2', 4), event('r1', 5)]);
        const r1 = await store.events('r1');
        const r2 = await store.events('r2');
        assert.deepEqual(
          r1.map((e) => e.ts),
          [1, 3, 5],
        );
        assert.deepEqual(
          r2.map((e) => e.ts),
          [2, 4],
        );
        const bySeq = [...r1, ...r2].sort((a, b) => a.seq - b.seq).map((e) => e.ts);
        assert.deepEqual(bySeq, [1, 2, 3, 4, 5]);
        assert.ok(r1.every((e, i) => i === 0 || e.seq > r1[i - 1]!.seq));
        assert.deepEqual(await store.events('missing'), []);
      });

      it('pages with afterSeq', async () => {
        await store.append([run(runRecord('r1'))]);
        await store.append([1, 2, 3, 4, 5].map((ts) => event('r1', ts)));
        const all = await store.events('r1');
        const rest = await store.events('r1', all[1]!.seq);
        assert.deepEqual(rest, all.slice(2));
        assert.deepEqual(await store.events('r1', all[4]!.seq), []);
        assert.deepEqual(await store.events('r1', 0), all);
      });

      it('round-trips events exactly, optional fields absent or set', async () => {
        await store.append([run(runRecord('r1'))]);
        const data = { status: 'failed', exitCode: 3, error: { code: 'E', message: 'ünïcode ✓' } };
        await store.append([
          { kind: 'event', event: { runId: 'r1', ts: 1, type: 'run_started' } },
          event('r1', 2, { type: 'stage_finished', stage: 'load', attempt: 2, data }),
        ]);
        const [started, finished] = await store.events('r1');
        const { seq: _s1, ...startedRest } = started!;
        assert.deepEqual(startedRest, { runId: 'r1', ts: 1, type: 'run_started' });
        const { seq: _s2, ...finishedRest } = finished!;
        assert.deepEqual(finishedRest, {
          runId: 'r1',
          ts: 2,
          type: 'stage_finished',
          stage: 'load',
          attempt: 2,
          data,
        });
      });
    });

    describe('attempts', () => {
      it('orders by stage name, then attempt, and filters by stage', async () => {
        await store.append([run(runRecord('r1')), run(runRecord('r2'))]);
        await store.append([
          attempt(attemptRecord('r1', 'train', 2, { status: 'failed' })),
          attempt(attemptRecord('r1', 'load', 1)),
          attempt(attemptRecord('r1', 'train', 1, { status: 'failed' })),
          attempt(attemptRecord('r2', 'load', 1)),
        ]);
        const keys = (list: AttemptRecord[]) => list.map((a) => `${a.stage}#${a.attempt}`);
        assert.deepEqual(keys(await store.attempts('r1')), ['load#1', 'train#1', 'train#2']);
        assert.deepEqual(keys(await store.attempts('r1', 'train')), ['train#1', 'train#2']);
        assert.deepEqual(await store.attempts('r1', 'none'), []);
        assert.deepEqual(await store.attempts('missing'), []);
      });

      it('replaces an attempt whole and round-trips every field', async () => {
        await store.append([run(runRecord('r1'))]);
        const running = attemptRecord('r1', 'load', 1, {
          status: 'running',
          fallback: 'load_small',
          cacheKey: 'sha256:key',
        });
        await store.append([attempt(running)]);
        assert.deepEqual(await store.attempts('r1'), [running]);
        const done = attemptRecord('r1', 'load', 1, {
          status: 'failed',
          endedAt: 2_500,
          exitCode: 75,
          errorCode: 'CONNECTION',
          errorMessage: 'reset by peer',
          executor: 'command',
          taskId: 'custom-task-id',
          outputJson: '{"partial":[1,2]}',
          outputHash: 'sha256:o',
          inputHash: 'sha256:i',
          reusedFrom: 'r0',
        });
        await store.append([attempt(done)]);
        const [stored] = await store.attempts('r1');
        assert.deepEqual(stored, done);
        assert.ok(stored && !('fallback' in stored) && !('cacheKey' in stored));
      });
    });

    describe('latest attempts and last stage events', () => {
      it('gives the highest attempt of each stage, in stage order, every field', async () => {
        await store.append([run(runRecord('r1')), run(runRecord('r2'))]);
        const last = attemptRecord('r1', 'train', 3, {
          status: 'failed',
          endedAt: 2_500,
          exitCode: 2,
          errorCode: 'E',
          errorMessage: 'no',
          executor: 'command',
        });
        await store.append([
          attempt(attemptRecord('r1', 'train', 2, { status: 'failed' })),
          attempt(last),
          attempt(attemptRecord('r1', 'load', 1, { outputJson: '[1]', outputHash: 'sha256:h' })),
          attempt(attemptRecord('r1', 'train', 1, { status: 'failed' })),
          attempt(attemptRecord('r2', 'load', 4)),
          attempt(attemptRecord('r1', 'Zeta', 1)),
        ]);
        assert.deepEqual(await store.latestAttempts('r1'), [
          attemptRecord('r1', 'Zeta', 1),
          attemptRecord('r1', 'load', 1, { outputJson: '[1]', outputHash: 'sha256:h' }),
          last,
        ]);
        assert.deepEqual(await store.latestAttempts('missing'), []);
        // What status shows of each: no output, hashes, host, pid or task id.
        const stateOf = ({
          runId,
          host,
          pid,
          taskId,
          outputJson,
          outputHash,
          ...state
        }: AttemptRecord) => state;
        assert.deepEqual(await store.latestAttemptStates('r1'), [
          stateOf(attemptRecord('r1', 'Zeta', 1)),
          stateOf(attemptRecord('r1', 'load', 1, { outputJson: '[1]', outputHash: 'sha256:h' })),
          stateOf(last),
        ]);
        assert.deepEqual(await store.latestAttemptStates('missing'), []);
        // A reused one says where from.
        await store.append([attempt(attemptRecord('r2', 'load', 5, { reusedFrom: 'r0' }))]);
        assert.equal((await store.latestAttemptStates('r2'))[0]!.reusedFrom, 'r0');
      });

      it('gives the last attempt of each stage reduced to its outcome, by stage name', async () => {
        await store.append([run(runRecord('r1')), run(runRecord('r2'))]);
        await store.append([
          attempt(attemptRecord('r1', 'train', 2, { status: 'failed', exitCode: 3 })),
          attempt(attemptRecord('r1', 'load', 1, { outputJson: '[1]', outputHash: 'sha256:h' })),
          attempt(attemptRecord('r1', 'train', 1, { status: 'failed' })),
          attempt(attemptRecord('r2', 'load', 4)),
        ]);
        assert.deepEqual(await store.latestOutcomes('r1'), [
          {
            stage: 'load',
            attempt: 1,
            status: 'succeeded',
            outputJson: '[1]',
            outputHash: 'sha256:h',
          },
          { stage: 'train', attempt: 2, status: 'failed' },
        ]);
        assert.deepEqual(await store.latestOutcomes('missing'), []);
      });

      it('gives the highest attempt each stage started, of that run only', async () => {
        await store.append([run(runRecord('r1')), run(runRecord('r2'))]);
        await store.append([
          { kind: 'event', event: { runId: 'r1', ts: 1, type: 'run_started' } },
          event('r1', 2, { stage: 'load', attempt: 1 }),
          event('r1', 3, { stage: 'train', attempt: 1 }),
          event('r1', 4, { type: 'stage_retrying', stage: 'train', attempt: 1 }),
          event('r1', 5, { stage: 'train', attempt: 2 }),
          event('r1', 6, { type: 'stage_finished', stage: 'train', attempt: 9 }),
          event('r2', 7, { stage: 'load', attempt: 7 }),
        ]);
        assert.deepEqual(
          await store.startedAttempts('r1'),
          new Map([
            ['load', 1],
            ['train', 2],
          ]),
        );
        assert.deepEqual(await store.startedAttempts('missing'), new Map());
      });

      it('gives the last started or finished event of each stage, in sequence order', async () => {
        await store.append([run(runRecord('r1')), run(runRecord('r2'))]);
        await store.append([
          { kind: 'event', event: { runId: 'r1', ts: 1, type: 'run_started' } },
          event('r1', 2, { stage: 'load', attempt: 1 }),
          event('r1', 3, { stage: 'train', attempt: 1 }),
          event('r1', 4, { type: 'stage_finished', stage: 'load', attempt: 1, data: { a: 1 } }),
          event('r1', 5, { type: 'stage_retrying', stage: 'train', attempt: 1 }),
          event('r2', 6, { stage: 'train', attempt: 7 }),
          event('r1', 7, { stage: 'train', attempt: 2 }),
          event('r1', 8, { type: 'stage_fallback', stage: 'train', attempt: 2 }),
          { kind: 'event', event: { runId: 'r1', ts: 9, type: 'run_finished' } },
        ]);
        const all = await store.events('r1');
        const last = await store.lastStageEvents('r1');
        assert.deepEqual(
          last.map((e) => e.ts),
          [4, 7],
        );
        assert.deepEqual(last, [all[3], all[5]]);
        assert.deepEqual(await store.lastStageEvents('missing'), []);
      });

      it('gives the events of one type, in sequence order, of that run only', async () => {
        await store.append([run(runRecord('r1')), run(runRecord('r2'))]);
        await store.append([
          event('r1', 1, { type: 'stage_mapped', stage: 'map', data: { over: 'list', items: 3 } }),
          event('r1', 2, { stage: 'map[0]', attempt: 1 }),
          event('r2', 3, { type: 'stage_mapped', stage: 'map', data: { over: 'list', items: 9 } }),
          event('r1', 4, {
            type: 'stage_mapped',
            stage: 'deep',
            data: { over: 'map[0]', items: 2 },
          }),
        ]);
        const mapped = await store.eventsOfType('r1', 'stage_mapped');
        assert.deepEqual(
          mapped.map((e) => [e.ts, e.stage, e.data]),
          [
            [1, 'map', { over: 'list', items: 3 }],
            [4, 'deep', { over: 'map[0]', items: 2 }],
          ],
        );
        assert.deepEqual(await store.eventsOfType('missing', 'stage_mapped'), []);
      });
    });

    describe('latestSuccess', () => {
      it('picks the newest succeeded or cached attempt across runs of the pipeline', async () => {
        await store.append([
          run(runRecord('old')),
          run(runRecord('new')),
          run(runRecord('other', { pipeline: 'q' })),
        ]);
        await store.append([
          attempt(attemptRecord('old', 'load', 1, { startedAt: 10, outputJson: '"old"' })),
          attempt(attemptRecord('new', 'load', 1, { startedAt: 20, status: 'cached' })),
          attempt(attemptRecord('new', 'load', 2, { startedAt: 30, status: 'failed' })),
          attempt(attemptRecord('other', 'load', 1, { startedAt: 40 })),
          attempt(attemptRecord('new', 'train', 1, { startedAt: 50 })),
        ]);
        const latest = await store.latestSuccess('p', 'load');
        assert.deepEqual(
          latest,
          attemptRecord('new', 'load', 1, { startedAt: 20, status: 'cached' }),
        );
        assert.equal((await store.latestSuccess('q', 'load'))?.runId, 'other');
        assert.equal(await store.latestSuccess('p', 'none'), undefined);
        assert.equal(await store.latestSuccess('none', 'load'), undefined);
      });

      it('follows replaced attempts; of equal start times, the last written wins', async () => {
        await store.append([run(runRecord('a')), run(runRecord('b'))]);
        await store.append([
          attempt(attemptRecord('b', 'load', 1, { startedAt: 10 })),
          attempt(attemptRecord('a', 'load', 1, { startedAt: 10 })),
        ]);
        assert.equal((await store.latestSuccess('p', 'load'))?.runId, 'a');
        await store.append([attempt(attemptRecord('a', 'load', 1, { status: 'failed' }))]);
        assert.equal((await store.latestSuccess('p', 'load'))?.runId, 'b');
      });

      it('moves with a run replaced into another pipeline', async () => {
        await store.append([run(runRecord('r1')), attempt(attemptRecord('r1', 'load', 1))]);
        await store.append([run(runRecord('r1', { pipeline: 'renamed' }))]);
        assert.equal(await store.latestSuccess('p', 'load'), undefined);
        assert.equal((await store.latestSuccess('renamed', 'load'))?.runId, 'r1');
      });
    });

    describe('cache', () => cacheContract(() => store));

    describe('batches', () => {
      it('stores nothing of a batch with an invalid write; later batches still work', async () => {
        const invalid = { kind: 'nonsense' } as unknown as StoreWrite;
        const entry = cacheEntry('k');
        await assert.rejects(
          store.append([run(runRecord('r1')), put(entry), attempt(entryAttempt(entry)), invalid]),
        );
        assert.equal(await store.getRun('r1'), undefined);
        assert.equal(await store.cacheGet('p', 'load', 'k'), undefined);
        await store.append([run(runRecord('r1')), event('r1', 1)]);
        assert.equal((await store.events('r1')).length, 1);
      });

      it('rejects a batch that names a run the store does not have', async () => {
        await store.append([run(runRecord('r1'))]);
        await assert.rejects(store.append([event('r1', 1), event('ghost', 2)]));
        await assert.rejects(store.append([attempt(attemptRecord('ghost', 'load', 1))]));
        await assert.rejects(
          store.append([{ kind: 'run_status', runId: 'ghost', status: 'failed' }]),
        );
        assert.deepEqual(await store.events('r1'), []);
        await assert.rejects(store.append([event('late', 1), run(runRecord('late'))]));
        assert.equal(await store.getRun('late'), undefined);
      });

      it('commits appends made without waiting in between, in order', async () => {
        await store.append([run(runRecord('r1'))]);
        const statuses = ['running', 'failed', 'succeeded', 'cancelled'] as const;
        const appends: Promise<void>[] = [];
        for (let i = 0; i < 40; i++) {
          appends.push(
            store.append([
              event('r1', i),
              attempt(attemptRecord('r1', 'load', 1, { startedAt: i })),
              { kind: 'run_status', runId: 'r1', status: statuses[i % 4]!, endedAt: i },
            ]),
          );
        }
        const failing = store.append([event('r1', 999), event('ghost', 1000)]);
        const last = store.append([event('r1', 40)]);
        await Promise.all(appends);
        await assert.rejects(failing);
        await last;
        const ts = (await store.events('r1')).map((e) => e.ts);
        assert.deepEqual(
          ts,
          Array.from({ length: 41 }, (_, i) => i),
        );
        assert.equal((await store.attempts('r1'))[0]!.startedAt, 39);
        assert.equal((await store.getRun('r1'))?.status, 'cancelled');
      });

      it('takes batches larger than any chunk an adapter writes in', async () => {
        await store.append([run(runRecord('r1'))]);
        const writes: StoreWrite[] = [];
        for (let i = 0; i < 300; i++) {
          writes.push(event('r1', i, { stage: `s${i}`, attempt: 1, data: { i } }));
          if (i % 2 === 0)
            writes.push(attempt(attemptRecord('r1', `s${String(i).padStart(3, '0')}`, 1)));
        }
        await store.append(writes);
        const events = await store.events('r1');
        assert.deepEqual(
          events.map((e) => e.data?.i),
          Array.from({ length: 300 }, (_, i) => i),
        );
        const attempts = await store.attempts('r1');
        assert.equal(attempts.length, 150);
        assert.equal(attempts[149]!.stage, 's298');
      });

      it('keeps metrics lines with their read position, by stage, attempt and line', async () => {
        const metrics = (
          stage: string,
          attempt: number,
          from: number,
          data: string[],
          offset: number,
        ): StoreWrite => ({
          kind: 'metrics',
          runId: 'r1',
          stage,
          attempt,
          records: data.map((text, i) => ({ line: from + i, ts: 5_000 + i, data: text })),
          position: { offset, lines: from + data.length },
        });
        await store.append([run(runRecord('r1')), metrics('train', 1, 0, ['{"loss":3}'], 11)]);
        assert.equal(await store.metricsPosition('r1', 'train', 2), undefined);
        await store.append([
          metrics('train', 1, 1, ['{"loss":2}', '{"loss":1}'], 33),
          metrics('load', 1, 0, ['{"rows":5}'], 11),
          // The same line again (a read after a crash): replaced, not doubled.
          metrics('train', 1, 2, ['{"loss":1}'], 33),
        ]);
        assert.deepEqual(await store.metricsPosition('r1', 'train', 1), { offset: 33, lines: 3 });
        const train = await store.metrics('r1', 'train');
        assert.deepEqual(
          train.map((m) => [m.attempt, m.line, m.data]),
          [
            [1, 0, '{"loss":3}'],
            [1, 1, '{"loss":2}'],
            [1, 2, '{"loss":1}'],
          ],
        );
        assert.equal(train[1]!.ts, 5_000);
        assert.deepEqual(
          (await store.metrics('r1')).map((m) => m.stage),
          ['load', 'train', 'train', 'train'],
        );
        await assert.rejects(
          store.append([
            {
              kind: 'metrics',
              runId: 'nope',
              stage: 'x',
              attempt: 1,
              records: [],
              position: { offset: 0, lines: 0 },
            },
          ]),
        );
      });

      it('waits for appends in flight when closing', async () => {
        const appended = store.append([run(runRecord('r1'))]);
        await store.close();
        await appended;
        await assert.rejects(store.append([run(runRecord('r2'))]));
      });
    });

    describe('resources', () => {
      const sample = (
        stage: string,
        attempt: number,
        ts: number,
        more: Partial<ResourceSample> = {},
      ): ResourceSample => ({
        runId: 'r1',
        stage,
        attempt,
        ts,
        cpuPercent: 87.5,
        rssBytes: 50 * 1024 * 1024,
        readBytes: 4096,
        writeBytes: 10 * 1024 * 1024,
        netRxBytes: 1500,
        netTxBytes: 300,
        ...more,
      });
      const summary = (
        stage: string,
        attempt: number,
        more: Partial<ResourceSummaryRecord> = {},
      ): ResourceSummaryRecord => ({
        runId: 'r1',
        stage,
        attempt,
        source: 'process',
        samples: 3,
        peakRssBytes: 60 * 1024 * 1024,
        cpuSeconds: 1.234,
        avgCpuPercent: 82.3,
        readBytes: 4096,
        writeBytes: 10 * 1024 * 1024,
        netRxBytes: 1500,
        netTxBytes: 300,
        ...more,
      });

      it('round-trips samples and summaries exactly, by stage, attempt, then time', async () => {
        await store.append([run(runRecord('r1')), run(runRecord('r2'))]);
        const gpus = [{ index: 0, utilizationPercent: 91, memoryUsedMb: 12_345 }];
        await store.appendResources({
          samples: [
            sample('train', 2, 30),
            sample('train', 1, 20, { gpus, final: true }),
            sample('load', 1, 10),
            sample('train', 1, 10),
            { ...sample('load', 1, 5), runId: 'r2' },
          ],
          summaries: [summary('train', 1, { peakGpuMemoryMb: 12_345 }), summary('load', 1)],
        });
        const samples = await store.resourceSamples('r1');
        assert.deepEqual(
          samples.map((s) => [s.stage, s.attempt, s.ts]),
          [
            ['load', 1, 10],
            ['train', 1, 10],
            ['train', 1, 20],
            ['train', 2, 30],
          ],
        );
        assert.deepEqual(samples[2], sample('train', 1, 20, { gpus, final: true }));
        assert.deepEqual(samples[0], sample('load', 1, 10));
        assert.deepEqual(
          (await store.resourceSamples('r1', 'train')).map((s) => s.ts),
          [10, 20, 30],
        );
        assert.deepEqual(await store.resourceSummaries('r1'), [
          summary('load', 1),
          summary('train', 1, { peakGpuMemoryMb: 12_345 }),
        ]);
        assert.deepEqual(await store.resourceSummaries('r1', 'load'), [summary('load', 1)]);
        assert.equal((await store.resourceSamples('r2')).length, 1);
        assert.deepEqual(await store.resourceSamples('nope'), []);
      });

      it('replaces an attempt summarised again; other attempts stay', async () => {
        await store.append([run(runRecord('r1'))]);
        await store.appendResources({ samples: [], summaries: [summary('train', 1)] });
        await store.appendResources({
          samples: [],
          summaries: [summary('train', 1, { samples: 9 }), summary('train', 2)],
        });
        const stored = await store.resourceSummaries('r1', 'train');
        assert.deepEqual(
          stored.map((s) => [s.attempt, s.samples]),
          [
            [1, 9],
            [2, 3],
          ],
        );
      });

      it('returns an exit sample whether its summary came in the same batch or a later one', async () => {
        await store.append([run(runRecord('r1'))]);
        await store.appendResources({
          samples: [sample('a', 1, 5), sample('a', 1, 9, { final: true })],
          summaries: [],
        });
        await store.appendResources({
          samples: [sample('b', 1, 7, { final: true })],
          summaries: [summary('a', 1), summary('b', 1)],
        });
        assert.deepEqual(await store.resourceSamples('r1'), [
          sample('a', 1, 5),
          sample('a', 1, 9, { final: true }),
          sample('b', 1, 7, { final: true }),
        ]);
        assert.deepEqual(await store.resourceSamples('r1', 'b'), [
          sample('b', 1, 7, { final: true }),
        ]);
      });

      it('rejects a batch naming a run not in the store, whole', async () => {
        await store.append([run(runRecord('r1'))]);
        await assert.rejects(
          store.appendResources({
            samples: [sample('load', 1, 1), { ...sample('load', 1, 2), runId: 'ghost' }],
            summaries: [],
          }),
        );
        assert.deepEqual(await store.resourceSamples('r1'), []);
      });

      it('keeps resource batches in order with appends: a run appended just before is known', async () => {
        const appended = store.append([run(runRecord('r9'))]);
        const resources = store.appendResources({
          samples: [{ ...sample('load', 1, 1), runId: 'r9' }],
          summaries: [],
        });
        await Promise.all([appended, resources]);
        assert.equal((await store.resourceSamples('r9')).length, 1);
      });

      it('takes many samples in one batch', async () => {
        await store.append([run(runRecord('r1'))]);
        const samples = Array.from({ length: 1000 }, (_, i) => sample(`s${i % 7}`, 1, i));
        await store.appendResources({ samples, summaries: [] });
        assert.equal((await store.resourceSamples('r1')).length, 1000);
      });
    });
  });
}
