import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { ingest, MetricsFileReader } from './metrics-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'gp-metrics-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('three appends: each ingestion reads only the new bytes; a partial line waits for its end', async () => {
  const store = await openSqliteStore(join(dir, 'state.db'));
  try {
    await store.append([
      {
        kind: 'run',
        run: {
          runId: 'r1',
          pipeline: 'p',
          status: 'running',
          startedAt: 1,
          host: 'h',
          pid: 1,
          runDir: dir,
          stages: ['train'],
        },
      },
    ]);
    const file = join(dir, 'metrics.jsonl');
    const reader = new MetricsFileReader(file, { runId: 'r1', stage: 'train', attempt: 1 });
    const first = '{"step":1,"loss":0.9}\nnot json\n[1,2]\n{"step":2,';
    writeFileSync(file, first);
    await ingest(reader, store);
    assert.equal(reader.bytesRead, Buffer.byteLength(first));
    assert.deepEqual(await store.metricsPosition('r1', 'train', 1), {
      offset: first.lastIndexOf('\n') + 1,
      lines: 1,
    });

    const second = '"loss":0.5}\n';
    appendFileSync(file, second);
    await ingest(reader, store);
    assert.equal(reader.bytesRead, Buffer.byteLength(first + second), 'only the new bytes');

    const third = '{"step":3,"loss":0.2}\n';
    appendFileSync(file, third);
    await ingest(reader, store);
    await ingest(reader, store); // nothing new: nothing read
    assert.equal(reader.bytesRead, Buffer.byteLength(first + second + third));

    const stored = await store.metrics('r1', 'train');
    assert.deepEqual(
      stored.map((m) => [m.line, JSON.parse(m.data)]),
      [
        [0, { step: 1, loss: 0.9 }],
        [1, { step: 2, loss: 0.5 }],
        [2, { step: 3, loss: 0.2 }],
      ],
    );
    const size = Buffer.byteLength(first + second + third);
    assert.deepEqual(await store.metricsPosition('r1', 'train', 1), { offset: size, lines: 3 });

    // A reader started from the stored position (after a restart) reads nothing again.
    const resumed = new MetricsFileReader(
      file,
      { runId: 'r1', stage: 'train', attempt: 1 },
      await store.metricsPosition('r1', 'train', 1),
    );
    assert.equal(resumed.next(), undefined);
    assert.equal(resumed.bytesRead, 0);
  } finally {
    await store.close();
  }
});
