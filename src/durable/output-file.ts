import type { AttemptRecord } from '../store/run-store.ts';
import type { OutputFile } from './run-files-protocol.ts';

/** The `_meta` block of a stage's `output.json` (SPEC C4). */
export interface OutputMeta {
  stage: string;
  version: string | null;
  status: string;
  run_id: string;
  attempt: number;
  created_at: string;
  duration_seconds: number;
  input_hash: string | null;
  output_hash: string | null;
  cache_key?: string;
  reused_from?: string;
}

/** `{stage}/output.json` of a succeeded (or cached) attempt: `_meta`, `data`, `artifacts`. */
export function outputFileOf(
  stageDir: string,
  attempt: AttemptRecord,
  version: string | undefined,
): OutputFile {
  const endedAt = attempt.endedAt ?? attempt.startedAt;
  const meta: OutputMeta = {
    stage: attempt.stage,
    version: version ?? null,
    status: attempt.status,
    run_id: attempt.runId,
    attempt: attempt.attempt,
    created_at: new Date(endedAt).toISOString(),
    duration_seconds: Math.max(0, endedAt - attempt.startedAt) / 1000,
    input_hash: attempt.inputHash ?? null,
    output_hash: attempt.outputHash ?? null,
  };
  if (attempt.cacheKey !== undefined) meta.cache_key = attempt.cacheKey;
  if (attempt.reusedFrom !== undefined) meta.reused_from = attempt.reusedFrom;
  const metaText = JSON.stringify(meta, null, 2).replaceAll('\n', '\n  ');
  return {
    stageDir,
    head: `{\n  "_meta": ${metaText},\n  "data": ${attempt.outputJson ?? 'null'},\n  "artifacts": `,
    tail: '\n}\n',
  };
}
