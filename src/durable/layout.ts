import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** Where a workspace keeps its durable state (DESIGN "Workspace", SPEC C4). */
export interface StateLayout {
  workspaceRoot: string;
  /** `.gpipe/` in the workspace, or the pipeline's `checkpoint.directory`. */
  stateDir: string;
  dbFile: string;
  runsDir: string;
  /** A link to the newest run's directory. */
  latestLink: string;
  /** What module exports are made of, kept between processes (export-code.ts). */
  exportCodeFile: string;
}

/**
 * The state layout of a workspace; `stateDir` overrides `.gpipe` and `runsDir` its `runs`
 * (both relative to the workspace).
 */
export function stateLayout(
  workspaceRoot: string,
  stateDir?: string,
  runsDir?: string,
): StateLayout {
  const root = resolve(workspaceRoot);
  const dir =
    stateDir === undefined
      ? join(root, '.gpipe')
      : isAbsolute(stateDir)
        ? stateDir
        : resolve(root, stateDir);
  return {
    workspaceRoot: root,
    stateDir: dir,
    dbFile: join(dir, 'state.db'),
    runsDir: runsDir === undefined ? join(dir, 'runs') : resolve(root, runsDir),
    latestLink: join(dir, 'latest'),
    exportCodeFile: join(dir, 'export-code.json'),
  };
}

export function runDirOf(layout: StateLayout, runId: string): string {
  return join(layout.runsDir, runId);
}

/**
 * A run's directory: where the store says it is, else under `runsDir` — the store keeps it
 * absolute, and the project may have moved since.
 */
export function runDirFound(run: { runId: string; runDir: string }, runsDir: string): string {
  return existsSync(run.runDir) ? run.runDir : join(runsDir, run.runId);
}
