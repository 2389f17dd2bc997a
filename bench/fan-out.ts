/**
 * Dynamic fan-out (SPEC A8, issue 5): a 10,000-item fan-out of no-op items, in memory and
 * durable (every instance committed to the SQLite run store, every output.json written), and
 * a chain of two mapped stages (20,000 instances, each item flowing on as it succeeds) into a
 * collector. Target: < 1 s in process.
 *
 *   npm run bench:fan-out [-- --items 10000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapStage } from '../src/api/map-stage.ts';
import { pipeline } from '../src/api/pipeline.ts';
import { stage } from '../src/api/stage.ts';
import { runDurable } from '../src/durable/durable-run.ts';
import { createExecutors } from '../src/executors/default-executors.ts';
import { type ValidPipeline, validatePipeline } from '../src/graph/validate.ts';
import { runPipeline } from '../src/scheduler/engine.ts';
import { printRows } from './print-rows.ts';

const items = process.argv.includes('--items')
  ? Number(process.argv[process.argv.indexOf('--items') + 1])
  : 10_000;
const maxCpus = 2;

function valid(chained: boolean): ValidPipeline {
  const list = stage('list', () => Array.from({ length: items }, (_, i) => i));
  const each = mapStage('each', { over: list }, (i) => i);
  const last = chained ? mapStage('then', { over: each }, (i) => i) : each;
  const collect = stage('collect', { deps: { last } }, ({ last }) => last.length);
  const checked = validatePipeline(pipeline('fan-out', [collect], { maxCpus }).spec, maxCpus);
  if (!('pipeline' in checked)) throw new Error('invalid pipeline');
  return checked.pipeline;
}

async function best(rounds: number, run: () => Promise<void>): Promise<number> {
  let ms = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    await run();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}

const rows: string[][] = [];
for (const chained of [false, true]) {
  const valid_ = valid(chained);
  const executors = createExecutors(valid_.spec);
  const instances = chained ? 2 * items : items;
  const what = chained
    ? `${items} items → ${items} items → collector`
    : `${items} items → collector`;
  const memoryMs = await best(3, async () => {
    const result = await runPipeline(valid_, { executors, workspaceRoot: tmpdir() });
    if (result.stages.collect?.output !== items) throw new Error('fan-out failed');
  });
  rows.push([
    `${what}, in memory`,
    `${memoryMs.toFixed(0)} ms`,
    `${((memoryMs * 1000) / instances).toFixed(1)} µs/instance`,
  ]);
  let committedMs = 0;
  const durableMs = await best(1, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp-bench-fan-out-'));
    const t0 = performance.now();
    const result = await runDurable({
      pipeline: valid_,
      workspaceRoot: dir,
      executors,
      cache: false,
      // Announced once every transition is committed; output.json files may still be going.
      onEvent: (event) => {
        if (event.event === 'run_finished') committedMs = performance.now() - t0;
      },
    });
    if (result.status !== 'succeeded') throw new Error('durable fan-out failed');
    rmSync(dir, { recursive: true, force: true });
  });
  const perInstance = (ms: number) => `${((ms * 1000) / instances).toFixed(1)} µs/instance`;
  rows.push([
    `${what}, durable: all committed`,
    `${committedMs.toFixed(0)} ms`,
    perInstance(committedMs),
  ]);
  rows.push([
    `${what}, durable: + every output.json`,
    `${durableMs.toFixed(0)} ms`,
    perInstance(durableMs),
  ]);
}
printRows(rows);
