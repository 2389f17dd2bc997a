import type { AttemptRecord } from '../store/run-store.ts';

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

/**
 * What `{stage}/output.json` of a succeeded (or cached) attempt is made from, as a row of
 * primitives: rows travel to the run-files worker in flat arrays (cheap to clone), and the
 * text is made there, off the main thread, in the stage's directory of the run's.
 */
export type OutputRow = [
  stage: string,
  version: string | null,
  status: string,
  runId: string,
  attempt: number,
  startedAt: number,
  endedAt: number | null,
  inputHash: string | null,
  outputHash: string | null,
  cacheKey: string | null,
  reusedFrom: string | null,
  outputJson: string | null,
];

export const outputRowLength = 12;

/** Appends the output row of `attempt` to `values`. */
export function pushOutputRow(
  values: unknown[],
  attempt: AttemptRecord,
  version: string | undefined,
): void {
  values.push(
    attempt.stage,
    version ?? null,
    attempt.status,
    attempt.runId,
    attempt.attempt,
    attempt.startedAt,
    attempt.endedAt ?? null,
    attempt.inputHash ?? null,
    attempt.outputHash ?? null,
    attempt.cacheKey ?? null,
    attempt.reusedFrom ?? null,
    attempt.outputJson ?? null,
  );
}

/** The output row at `values[start]`. */
export function outputRowAt(values: readonly unknown[], start: number): OutputRow {
  return values.slice(start, start + outputRowLength) as OutputRow;
}

/** The text of `output.json`: `_meta`, `data`, and `artifacts` (a JSON list, made by the caller). */
export function outputText(row: OutputRow, artifactsJson: string): string {
  const [stage, version, status, runId, attempt, startedAt, ended, inputHash, outputHash] = row;
  const [cacheKey, reusedFrom, outputJson] = row.slice(9) as [
    string | null,
    string | null,
    string | null,
  ];
  const endedAt = ended ?? startedAt;
  const meta: OutputMeta = {
    stage,
    version,
    status,
    run_id: runId,
    attempt,
    created_at: new Date(endedAt).toISOString(),
    duration_seconds: Math.max(0, endedAt - startedAt) / 1000,
    input_hash: inputHash,
    output_hash: outputHash,
  };
  if (cacheKey !== null) meta.cache_key = cacheKey;
  if (reusedFrom !== null) meta.reused_from = reusedFrom;
  const metaText = JSON.stringify(meta, null, 2).replaceAll('\n', '\n  ');
  return `{\n  "_meta": ${metaText},\n  "data": ${outputJson ?? 'null'},\n  "artifacts": ${artifactsJson}\n}\n`;
}
