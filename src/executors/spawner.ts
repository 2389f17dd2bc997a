import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface SpawnRequest {
  argv: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  /** stdout and stderr are appended here. */
  logFile: string;
}

export interface ProcessExit {
  exitCode: number | null;
  signal: string | null;
}

export interface SpawnedProcess {
  /** Also the process group id: every spawned process leads its own group. */
  pid: number;
  exited: Promise<ProcessExit>;
}

/** Starts a command as the leader of a new process group. Throws when it cannot start. */
export interface Spawner {
  spawn(request: SpawnRequest): SpawnedProcess;
  close?(): Promise<void>;
}

/** Node's child_process, `detached` so that the child leads its own process group. */
export class NodeSpawner implements Spawner {
  spawn(request: SpawnRequest): SpawnedProcess {
    const log = openSync(request.logFile, 'a');
    try {
      const child = spawn(request.argv[0]!, request.argv.slice(1), {
        cwd: request.cwd,
        env: request.env,
        detached: true,
        stdio: ['ignore', log, log],
      });
      const exited = new Promise<ProcessExit>((resolve) => {
        // A failed start (ENOENT) ends as exit code 127, as a shell would report it.
        child.once('error', () => resolve({ exitCode: 127, signal: null }));
        child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
      });
      if (child.pid === undefined) {
        throw new Error(`cannot start '${request.argv[0]}': not found or not executable`);
      }
      return { pid: child.pid, exited };
    } finally {
      closeSync(log);
    }
  }
}
