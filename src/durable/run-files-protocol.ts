import type { ManifestStages, ManifestState } from './run-json.ts';

/** Messages between the main thread and the run-files worker. */
export type RunFilesMessage =
  | { type: 'file'; path: string; text: string }
  /** The run's stages, once: what every later `manifest` lists. */
  | { type: 'stages'; stages: ManifestStages }
  /** `manifest.json` at `path`, made in the worker (run-json.ts). */
  | { type: 'manifest'; path: string; state: ManifestState }
  /**
   * `{stage}/output.json` files in `runDir`: `values` holds output rows (output-file.ts) one
   * after the other. `ifMissing`: write each only when none is there (a resume repairing a
   * crash).
   */
  | { type: 'outputs'; runDir: string; values: readonly unknown[]; ifMissing?: boolean }
  | { type: 'link'; target: string; path: string }
  /**
   * The temporary files a crash left in `runDir` and in its stage directories, removed; not
   * this process's own (`.tmp-{pid}-`): the main thread may be writing one.
   */
  | { type: 'clean'; runDir: string }
  /** Which of `stages` have no `output.json` in `runDir`: answered by a `missing` reply. */
  | { type: 'missing'; id: number; runDir: string; stages: readonly string[] }
  | { type: 'close' };

export type RunFilesReply =
  | { type: 'error'; message: string }
  | { type: 'closed' }
  | { type: 'missing'; id: number; stages: string[] };

/**
 * What the worker is started with: `hold`, a shared Int32Array of one slot, holds the time
 * (ms after `epoch`) until which the run asks the worker to leave output files alone.
 */
export interface RunFilesData {
  hold: SharedArrayBuffer;
  epoch: number;
}
