import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDefaultSpawner } from '../src/executors/default-spawner.ts';
import { NodeSpawner, type Spawner } from '../src/executors/spawner.ts';
import { RedactingFilter } from '../src/secrets/redacting-filter.ts';
import { Redactor } from '../src/secrets/redactor.ts';
import { msPerCommandStage } from './command-stages.ts';

const stages = Number(process.env.STAGES ?? 300);
const inFlight = 2;
const redactor = new Redactor();
for (let i = 0; i < 5; i++) redactor.add(`secret-value-${i}-${'x'.repeat(20)}`);

async function runStages(label: string, spawner: Spawner): Promise<void> {
  const ms = await msPerCommandStage(
    spawner,
    (i) => ['echo', `line ${i} secret-value-1-${'x'.repeat(20)} end`],
    stages,
    inFlight,
  );
  console.log(`${label.padEnd(44)} ${ms.toFixed(3)} ms/stage (${stages} stages)`);
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
