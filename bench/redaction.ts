/**
 * The cost of masking secrets (SPEC H2): command stages with and without the masking filter
 * between the command and its stage.log, and the filter's throughput on its own.
 * `node --import tsx bench/redaction.ts`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CommandExecutor } from '../src/executors/command.ts';
import { createDefaultSpawner } from '../src/executors/default-spawner.ts';
import type { StageTask } from '../src/executors/executor.ts';
import { NodeSpawner, type Spawner } from '../src/executors/spawner.ts';
import { RedactingFilter } from '../src/secrets/redacting-filter.ts';
import { Redactor } from '../src/secrets/redactor.ts';

const stages = Number(process.env.STAGES ?? 300);
const inFlight = 2;
const redactor = new Redactor();
for (let i = 0; i < 5; i++) redactor.add(`secret-value-${i}-${'x'.repeat(20)}`);

async function runStages(label: string, spawner: Spawner): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gp-redaction-bench-'));
  const executor = new CommandExecutor({ spawner });
  const never = new AbortController().signal;
  const task = (i: number): StageTask => ({
    runId: 'bench',
    pipelineName: 'bench',
    stage: `s${i}`,
    attempt: 1,
    spec: {
      kind: 'command',
      shell: false,
      argv: ['echo', `line ${i} secret-value-1-${'x'.repeat(20)} end`],
    },
    inputs: {},
    dependencyResults: {},
    cpus: 1,
    paths: { workspaceRoot: dir, runDir: dir, stageDir: join(dir, `s${i}`) },
  });
  // Warm-up, then the measured run.
  for (let i = 0; i < 20; i++) await executor.execute(task(-i - 1), never);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < stages) await executor.execute(task(next++), never);
    }),
  );
  const ms = performance.now() - started;
  await executor.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`${label.padEnd(44)} ${(ms / stages).toFixed(3)} ms/stage (${stages} stages)`);
}

async function filterThroughput(): Promise<void> {
  const line = `${'some ordinary output of a stage, '.repeat(3)}secret-value-3-${'x'.repeat(20)}\n`;
  const chunk = Buffer.from(line.repeat(Math.ceil(65536 / line.length)));
  const chunks = Math.ceil((64 * 1024 * 1024) / chunk.length);
  const started = performance.now();
  let bytes = 0;
  await pipeline(
    Readable.from(
      (function* () {
        for (let i = 0; i < chunks; i++) yield chunk;
      })(),
    ),
    new RedactingFilter(redactor),
    new Writable({
      write(data: Buffer, _e, done) {
        bytes += data.length;
        done();
      },
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${'RedactingFilter, 5 secrets, one per line'.padEnd(44)} ${((chunks * chunk.length) / 1e6 / seconds).toFixed(0)} MB/s in (${(bytes / 1e6).toFixed(0)} MB out)`,
  );
}

await runStages('no secrets: default spawner (as before)', createDefaultSpawner());
await runStages(
  'secrets: Node spawner + masking filter',
  new NodeSpawner({ outputFilter: () => new RedactingFilter(redactor) }),
);
await runStages('for reference: Node spawner, no filter', new NodeSpawner());
await filterThroughput();
