/**
 * The worker that writes a run's files (run.json, manifest.json, `{stage}/output.json`, the
 * `latest` link) off the main thread: on a slow disk a file costs ~100 µs, and a 100,000-stage
 * run must not wait for them. Every file is replaced atomically; none is fsynced, because the
 * run store, not these files, is what a resume trusts.
 */
import { type Dirent, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { replaceSymlinkSync, writeFileAtomicSync } from './atomic-file.ts';
import { type OutputRow, outputRowAt, outputRowLength, outputText } from './output-file.ts';
import type { RunFilesData, RunFilesMessage, RunFilesReply } from './run-files-protocol.ts';
import { type ManifestStages, manifestJson } from './run-json.ts';

const port = parentPort!;
const { hold: holdBuffer, epoch } = workerData as RunFilesData;
const hold = new Int32Array(holdBuffer);
const made = new Set<string>();
let stages: ManifestStages = {
  names: [],
  upstreamStart: new Int32Array(1),
  upstream: new Int32Array(0),
};

port.on('message', (message: RunFilesMessage) => {
  try {
    handle(message);
  } catch (error) {
    reply({ type: 'error', message: (error as Error).message });
  }
  if (message.type === 'close') reply({ type: 'closed' });
});

function handle(message: RunFilesMessage): void {
  switch (message.type) {
    case 'file':
      write(message.path, message.text);
      break;
    case 'stages':
      stages = message.stages;
      break;
    case 'manifest':
      write(message.path, manifestJson(stages, message.state));
      break;
    case 'outputs':
      waitWhileHeld();
      for (let i = 0; i < message.values.length; i += outputRowLength) {
        const row = outputRowAt(message.values, i);
        const stageDir = `${message.runDir}/${row[0]}`;
        if (message.ifMissing && existsSync(join(stageDir, 'output.json'))) continue;
        writeOutput(stageDir, row);
      }
      break;
    case 'link':
      replaceSymlinkSync(message.target, message.path);
      break;
    case 'clean':
      removeLeftovers(message.runDir);
      break;
    case 'missing': {
      const { runDir, id } = message;
      const stages = message.stages.filter(
        (stage) => !existsSync(`${runDir}/${stage}/output.json`),
      );
      reply({ type: 'missing', id, stages });
      break;
    }
    case 'close':
      break;
  }
}

/**
 * While the run asks for the disk and the cores (RunFiles.holdFor), the outputs wait: until the
 * hold runs out, or the run lifts it (close) and wakes this thread.
 */
function waitWhileHeld(): void {
  for (;;) {
    const until = Atomics.load(hold, 0);
    const left = epoch + until - Date.now();
    if (left <= 0) return;
    Atomics.wait(hold, 0, until, left);
  }
}

/** The artifacts list is made here, from what the stage directory holds. */
function writeOutput(stageDir: string, row: OutputRow): void {
  const artifacts = listArtifacts(join(stageDir, 'artifacts'));
  write(join(stageDir, 'output.json'), outputText(row, JSON.stringify(artifacts)));
}

function listArtifacts(dir: string): { name: string; path: string; bytes: number }[] {
  return namesIn(dir)
    .sort()
    .map((name) => {
      let bytes = 0;
      try {
        bytes = statSync(join(dir, name)).size;
      } catch {
        // gone since the listing: reported with no size
      }
      return { name, path: `artifacts/${name}`, bytes };
    });
}

/** Temporary files of atomic writes in `runDir` and its directories, but this process's own. */
function removeLeftovers(runDir: string): void {
  const own = `.tmp-${process.pid}-`;
  const isLeftover = (name: string) => name.includes('.tmp-') && !name.includes(own);
  let entries: Dirent[];
  try {
    entries = readdirSync(runDir, { withFileTypes: true });
  } catch {
    return; // no directory yet: nothing left over
  }
  for (const entry of entries) {
    const path = `${runDir}/${entry.name}`;
    if (isLeftover(entry.name)) rmSync(path, { force: true });
    else if (entry.isDirectory()) {
      for (const name of namesIn(path))
        if (isLeftover(name)) rmSync(`${path}/${name}`, { force: true });
    }
  }
}

/** The names in `dir`; none when it is gone (a stage's files cleared for its rerun). */
function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function write(path: string, text: string): void {
  const dir = path.slice(0, path.lastIndexOf('/'));
  if (!made.has(dir)) {
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  writeFileAtomicSync(path, text, { fsync: false });
}

function reply(message: RunFilesReply): void {
  port.postMessage(message);
}
