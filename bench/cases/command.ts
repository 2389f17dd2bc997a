/**
 * Case B, ours, in one child process: every stage a command stage running `true` (argv, no
 * shell), maxCpus 2, in a fresh temporary workspace, with the default executors. GP_SPAWNER in
 * the environment picks the spawner where the executor honours it.
 *
 * Timed: createExecutors + runPipeline (the stage directories, logs and processes included).
 * Not timed: building the spec, closing the executors, deleting the workspace.
 *
 *   node --import tsx bench/cases/command.ts --shape layered-10k
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExecutors } from '../../src/executors/default-executors.ts';
import { runPipeline } from '../../src/scheduler/engine.ts';
import { emitResult, parseCaseArgs, peakRssKb, requireArg } from '../case-io.ts';
import { buildDag, pipelineSpecOf } from '../dags.ts';

const maxCpus = 2;
const args = parseCaseArgs();
const startRssKb = peakRssKb();
const dag = buildDag(requireArg(args, 'shape'));
const n = dag.names.length;
const spec = pipelineSpecOf(
  dag,
  () => ({ task: { kind: 'command', argv: ['true'], shell: false } }),
  maxCpus,
);
const workspaceRoot = mkdtempSync(join(tmpdir(), 'gp-bench-cmd-'));

try {
  const t0 = performance.now();
  const executors = createExecutors(spec);
  const result = await runPipeline(spec, { executors, workspaceRoot, hostCpus: maxCpus });
  const wallMs = performance.now() - t0;
  const maxRssKb = peakRssKb();
  await executors.command.close?.();
  let succeeded = 0;
  let firstError: string | undefined;
  for (const outcome of Object.values(result.stages)) {
    if (outcome.status === 'succeeded') succeeded++;
    else firstError ??= outcome.error?.message ?? outcome.status;
  }
  emitResult({
    stages: n,
    wallMs,
    maxRssKb,
    startRssKb,
    verified: result.status === 'succeeded' && succeeded === n,
    ...(firstError !== undefined && { note: firstError.slice(0, 200) }),
  });
} finally {
  rmSync(workspaceRoot, { recursive: true, force: true });
}
