/**
 * What a process stage (a command, a Python stage) left in its `artifacts/`: each file's path
 * and size, written beside it (`artifacts.json`) before its success is recorded. A resume or a
 * cache hit reuses the stage only while those files are still there (SPEC C2: "a finished
 * stage whose outputs are intact"); one deleted or cut short makes it run again.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { TaskSpec } from '../graph/pipeline.ts';
import { writeFileAtomicSync } from './atomic-file.ts';

const manifestName = 'artifacts.json';

/** Records the files of `stageDir/artifacts`; a failure to write leaves the stage unchecked. */
export function writeArtifactsManifest(stageDir: string): void {
  const root = join(stageDir, 'artifacts');
  const files: [string, number][] = [];
  try {
    for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath ?? entry.path, entry.name);
      files.push([relative(root, path).split(sep).join('/'), lstatSync(path).size]);
    }
  } catch {
    // No artifacts directory: the stage wrote none, and the manifest says so.
  }
  files.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  try {
    writeFileAtomicSync(join(stageDir, manifestName), `${JSON.stringify({ files })}\n`);
  } catch {
    // A disk that refuses this will refuse the run store's commit too, which says so.
  }
}

/**
 * Whether the files the manifest in `stageDir` lists are there, each with its size. A stage
 * without a manifest (an in-process stage, a run of an older gpipe) has nothing to check.
 */
export function artifactsIntact(stageDir: string): boolean {
  let listed: [string, number][];
  try {
    listed = (
      JSON.parse(readFileSync(join(stageDir, manifestName), 'utf8')) as {
        files: [string, number][];
      }
    ).files;
  } catch {
    return true;
  }
  for (const [path, size] of listed) {
    try {
      const stats = lstatSync(join(stageDir, 'artifacts', path));
      if (!stats.isFile() || stats.size !== size) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Whether the files a finished stage left still serve its output. `runDir`: where its run's
 * directory is now (runDirFound), undefined when the run is gone. A process stage's files are
 * its output: they must be there, as listed. A module stage lists them only when it left some,
 * an in-process function never: without a list there is nothing to check.
 */
export function stageFilesIntact(
  kind: TaskSpec['kind'],
  runDir: string | undefined,
  stage: string,
): boolean {
  const isProcess = kind === 'command' || kind === 'python';
  if (runDir === undefined) return !isProcess;
  const stageDir = join(runDir, stage);
  if (isProcess) return existsSync(stageDir) && artifactsIntact(stageDir);
  return !existsSync(join(stageDir, manifestName)) || artifactsIntact(stageDir);
}
