/**
 * The run a command names: its id, or `latest` — the newest run of the workspace, the one
 * `.gpipe/latest` points at — so that `gpipe logs latest train` needs no id copied.
 */
import { InputError } from '../errors.ts';
import type { RunRecord, RunStore } from '../store/run-store.ts';

export const latestRun = 'latest';

export async function runNamed(store: RunStore, runId: string): Promise<RunRecord | undefined> {
  if (runId === latestRun) return (await store.listRuns({ limit: 1 }))[0];
  return store.getRun(runId);
}

/** The run named does not exist: say what to look at instead. */
export function noSuchRun(runId: string): InputError {
  return new InputError(
    runId === latestRun
      ? 'no runs yet in this workspace'
      : `no run '${runId}' in this workspace (see gpipe runs)`,
  );
}
