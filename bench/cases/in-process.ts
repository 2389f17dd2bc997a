/**
 * Case A, in one child process: no-op async stages run in this process.
 *
 *   --impl ours      runPipeline on a prebuilt PipelineSpec (inline stages, cpus 1, maxCpus 2)
 *   --impl ours-api  the same through the TypeScript API: stage() + pipeline() + run(), all timed
 *   --impl bare      the minimal correct program: one Promise.all per stage, in topological order
 *
 * Only the execution is timed (for `ours-api`, the construction of the stages too), never the
 * generation of the DAG. Both implementations load the same modules, so that their peak RSS
 * starts from the same footprint.
 *
 *   node --import tsx bench/cases/in-process.ts --impl ours --shape layered-10k [--warm 2]
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExecutors } from '../../src/executors/default-executors.ts';
import type { PipelineSpec } from '../../src/graph/pipeline.ts';
import { pipeline, type Stage, stage } from '../../src/index.ts';
import { type RunResult, runPipeline } from '../../src/scheduler/engine.ts';
import { emitResult, median, parseCaseArgs, peakRssKb, requireArg } from '../case-io.ts';
import { buildDag, type Dag, inlinePipelineOf } from '../dags.ts';

const maxCpus = 2;
const workspaceRoot = join(tmpdir(), 'gp-bench-inline');

let calls = 0;
const noop = async (): Promise<undefined> => {
  calls++;
  return undefined;
};

function specOf(dag: Dag): PipelineSpec {
  return inlinePipelineOf(dag, () => noop, maxCpus);
}

/** Runs once; returns the milliseconds timed and whether every stage succeeded. */
type Execution = () => Promise<{ ms: number; ok: boolean }>;

/** Times one run of ours; it counts only when every stage succeeded exactly once. */
async function timedRun(
  dag: Dag,
  run: () => Promise<RunResult>,
): Promise<{ ms: number; ok: boolean }> {
  const t0 = performance.now();
  const result = await run();
  const ms = performance.now() - t0;
  return {
    ms,
    ok: result.status === 'succeeded' && countSucceeded(result.stages) === dag.names.length,
  };
}

function ours(dag: Dag): Execution {
  const spec = specOf(dag);
  return () =>
    timedRun(dag, () =>
      runPipeline(spec, { executors: createExecutors(spec), workspaceRoot, hostCpus: maxCpus }),
    );
}

function oursApi(dag: Dag): Execution {
  // Building the stages is part of what this case measures.
  return () =>
    timedRun(dag, () => {
      const stages: Stage[] = new Array(dag.names.length);
      for (let i = 0; i < stages.length; i++) {
        const after = dag.deps[i]!.map((d) => stages[d]!);
        stages[i] = stage(dag.names[i]!, { after }, noop);
      }
      return pipeline(dag.shape, stages, { maxCpus }).run({ workspaceRoot, hostCpus: maxCpus });
    });
}

function bare(dag: Dag): Execution {
  const n = dag.names.length;
  return async () => {
    const t0 = performance.now();
    const done: Promise<unknown>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      done[i] = Promise.all(dag.deps[i]!.map((d) => done[d])).then(() => noop());
    }
    await Promise.all(done);
    const ms = performance.now() - t0;
    return { ms, ok: true };
  };
}

function countSucceeded(stages: Record<string, { status: string }>): number {
  let count = 0;
  for (const name in stages) if (stages[name]!.status === 'succeeded') count++;
  return count;
}

const implementations: Record<string, (dag: Dag) => Execution> = {
  ours,
  'ours-api': oursApi,
  bare,
};

const args = parseCaseArgs();
const impl = requireArg(args, 'impl');
const make = implementations[impl];
if (!make)
  throw new Error(`unknown --impl '${impl}' (known: ${Object.keys(implementations).join(', ')})`);
const warmRuns = Number(args.get('warm') ?? 0);
const startRssKb = peakRssKb();
const dag = buildDag(requireArg(args, 'shape'));
const n = dag.names.length;
const execute = make(dag);

calls = 0;
const cold = await execute();
const maxRssKb = peakRssKb();
let verified = cold.ok && calls === n;
const warm: number[] = [];
for (let r = 0; r < warmRuns; r++) {
  calls = 0;
  const run = await execute();
  verified &&= run.ok && calls === n;
  warm.push(run.ms);
}
emitResult({
  stages: n,
  wallMs: cold.ms,
  // The JIT takes several executions to reach its top tier: the later half is the steady state.
  ...(warm.length > 0 && { warmMs: median(warm.slice(Math.floor(warm.length / 2))) }),
  maxRssKb,
  startRssKb,
  verified,
});
