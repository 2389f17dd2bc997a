/**
 * Metrics-file ingestion (SPEC E5): 100 MB of JSON lines appended in ten parts, ingested into
 * a SQLite run store after each part from the stored offset. Shows that every byte is read once
 * (bytes read = file size) and that memory stays flat as the file grows.
 * `node --import tsx bench/metrics-ingest.ts` (MB=100 PARTS=10 by default)
 */
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ingest, MetricsFileReader } from '../src/monitor/metrics-file.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';

const totalMb = Number(process.env.MB ?? 100);
const parts = Number(process.env.PARTS ?? 10);
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** About `bytes` of lines; the last one cut in the middle, finished by the next part. */
function part(index: number, bytes: number, carry: string): { text: string; carry: string } {
  let text = carry;
  let step = index * 1_000_000;
  while (text.length < bytes) {
    step++;
    text += `{"step":${step},"loss":${(1 / step).toFixed(8)},"throughput":${(step % 977) + 0.5},"phase":"train"}\n`;
  }
  const cut = text.length - 20; // a partial last line, as a writer caught mid-write leaves
  return { text: text.slice(0, cut), carry: text.slice(cut) };
}

const dir = mkdtempSync(join(tmpdir(), 'gp-metrics-bench-'));
try {
  const store = await openSqliteStore(join(dir, 'state.db'));
  await store.append([
    {
      kind: 'run',
      run: {
        runId: 'bench',
        pipeline: 'bench',
        status: 'running',
        startedAt: Date.now(),
        host: 'bench',
        pid: process.pid,
        runDir: dir,
        stages: ['train'],
      },
    },
  ]);
  const file = join(dir, 'metrics.jsonl');
  const reader = new MetricsFileReader(file, { runId: 'bench', stage: 'train', attempt: 1 });
  let carry = '';
  let ingestMs = 0;
  console.log('| part | file MB | bytes read (total) | ingest ms | RSS MB | heap MB |');
  console.log('| ---- | ------- | ------------------ | --------- | ------ | ------- |');
  for (let i = 1; i <= parts; i++) {
    const next = part(i, (totalMb * 1024 * 1024) / parts, carry);
    appendFileSync(file, i === parts ? next.text + next.carry : next.text);
    carry = next.carry;
    const started = performance.now();
    await ingest(reader, store);
    const ms = performance.now() - started;
    ingestMs += ms;
    global.gc?.();
    const memory = process.memoryUsage();
    console.log(
      `| ${i} | ${mb(statSync(file).size)} | ${reader.bytesRead} | ${ms.toFixed(0)} | ${mb(memory.rss)} | ${mb(memory.heapUsed)} |`,
    );
  }
  const size = statSync(file).size;
  const position = await store.metricsPosition('bench', 'train', 1);
  await store.close();
  console.log(
    `\nfile ${size} bytes, read ${reader.bytesRead} bytes (${(reader.bytesRead / size).toFixed(4)}× the file), ` +
      `${position?.lines} lines stored, ${(size / 1024 / 1024 / (ingestMs / 1000)).toFixed(1)} MB/s ingest`,
  );
  if (reader.bytesRead !== size) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
