/** Messages between the main thread and the run-files worker. */
export type RunFilesMessage =
  | { type: 'file'; path: string; text: string }
  | { type: 'outputs'; outputs: readonly OutputFile[] }
  | { type: 'link'; target: string; path: string }
  | { type: 'close' };

/** A stage's `output.json`, less its artifacts list, which the worker makes from the directory. */
export interface OutputFile {
  stageDir: string;
  head: string;
  tail: string;
  /** Write it only when no `output.json` is there (a resume repairing what a crash left). */
  ifMissing?: boolean;
}

export type RunFilesReply = { type: 'error'; message: string } | { type: 'closed' };
