/**
 * After a crash, a stage that succeeded may lack its output.json: a run's files are written
 * after its commits, and the crash may come in between. The run-files worker says which are
 * missing while the run goes on; only then are attempts read whole (their timings and hashes
 * make `_meta`), instead of before the first stage of a 100,000-stage resume.
 */
import type { ValidPipeline } from '../graph/validate.ts';
import type { RunStore } from '../store/run-store.ts';
import { pushOutputRow } from './output-file.ts';
import type { RunFiles } from './run-files.ts';

/** Resolves once the missing files are asked for; to why they could not be, if so. */
export async function repairOutputs(
  store: RunStore,
  files: RunFiles,
  pipeline: ValidPipeline,
  run: { runId: string; runDir: string },
  stages: readonly string[],
): Promise<string | undefined> {
  if (stages.length === 0) return undefined;
  try {
    const missing = new Set(await files.missingOutputs(run.runDir, stages));
    if (missing.size === 0) return undefined;
    const values: unknown[] = [];
    for (const attempt of await store.latestAttempts(run.runId)) {
      if (!missing.has(attempt.stage)) continue;
      const i = pipeline.graph.indexOf.get(attempt.stage);
      const version = i === undefined ? undefined : pipeline.stages[i]!.version;
      pushOutputRow(values, attempt, version);
    }
    files.writeOutputs(run.runDir, values, { ifMissing: true });
    return undefined;
  } catch (error) {
    return `the output.json files a crash left unwritten were not repaired: ${(error as Error).message}`;
  }
}
