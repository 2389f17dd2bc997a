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
}

export type RunFilesReply = { type: 'error'; message: string } | { type: 'closed' };
