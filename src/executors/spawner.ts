import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { constants } from 'node:os';
import type { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { getSystemErrorMap } from 'node:util';
import { LineStamper } from '../logs/line-stamper.ts';
import { ReapedCpu } from './reaped-cpu.ts';

export interface SpawnRequest {
  argv: readonly string[];
  cwd: string;
  /** The child's environment: exactly `baseEnv` overridden by these variables. */
  env: Readonly<Record<string, string>>;
  /**
   * Variables under `env`. Keep passing the same object: a spawner may encode it once and
   * reuse it by identity (so it must not be changed once passed). @default none
   */
  baseEnv?: Readonly<Record<string, string>>;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Created, with their parents, before the command starts. @default none */
  directories?: readonly string[];
  /** Symbolic links made after the directories; one whose path exists is left as it is. @default none */
  links?: readonly SymbolicLink[];
}

export interface SymbolicLink {
  /** What the link points to. */
  target: string;
  path: string;
}

export interface ProcessExit {
  exitCode: number | null;
  signal: string | null;
  /**
   * CPU time in user mode, µs, of the process and of every descendant it waited for (wait4's
   * rusage). Only spawners that reap the process themselves report it.
   */
  userCpuUs?: number;
  /** CPU time in the kernel, µs, counted as `userCpuUs` is. */
  systemCpuUs?: number;
  /** Peak resident set in KiB of the process, or of the largest descendant it waited for. */
  maxRssKb?: number;
  /** 512-byte blocks read from storage by the process and the descendants it waited for. */
  inBlocks?: number;
  /** 512-byte blocks written to storage, counted as `inBlocks` is. */
  outBlocks?: number;
  /** True when no process was left in its group once it had been reaped. */
  groupEmpty?: boolean;
}

export interface SpawnedProcess {
  /** Also the process group id: every spawned process leads its own group. */
  pid: number;
  exited: Promise<ProcessExit>;
}

/** What could not be done: start the program, enter its directory, open the log file, create a directory or a link. */
export type SpawnStep = 'exec' | 'cwd' | 'log' | 'directory' | 'link';

/** A command that could not start. `code` is the errno name, such as ENOENT or EACCES. */
export class SpawnError extends Error {
  readonly code: string;
  readonly step: SpawnStep;
  readonly program: string;
  constructor(program: string, errno: number, step: SpawnStep, path: string) {
    const [code, description] = describeErrno(errno);
    const what = step === 'exec' ? '' : `${stepDescriptions[step]} '${path}': `;
    super(`cannot start '${program}': ${what}${description} (${code})`);
    this.name = 'SpawnError';
    this.code = code;
    this.step = step;
    this.program = program;
  }
}

const stepDescriptions: Record<SpawnStep, string> = {
  exec: 'cannot execute',
  cwd: 'cannot use the directory',
  log: 'cannot open the log file',
  directory: 'cannot create the directory',
  link: 'cannot create the link',
};

/** Starts commands, each as the leader of a new process group. */
export interface Spawner {
  /** Resolves once the process runs; rejects with a SpawnError when it cannot start. */
  spawn(request: SpawnRequest): Promise<SpawnedProcess>;
  close?(): Promise<void>;
}

export interface NodeSpawnerOptions {
  /**
   * Makes a filter for each of a command's output streams (masking secrets, say), applied
   * before the lines are stamped on their way to the log file.
   * @default none
   */
  outputFilter?: () => Transform;
}

/** One per process: what it reads is this whole process's reaped children. */
let reapedCpu: ReapedCpu | undefined;

/**
 * Node's child_process, `detached` so that the child leads its own process group. Exits carry
 * the command's CPU time when it can be told apart (reaped-cpu.ts); never its peak RSS or IO.
 */
export class NodeSpawner implements Spawner {
  readonly #outputFilter: (() => Transform) | undefined;

  constructor(options: NodeSpawnerOptions = {}) {
    this.#outputFilter = options.outputFilter;
  }

  async spawn(request: SpawnRequest): Promise<SpawnedProcess> {
    const program = request.argv[0]!;
    prepare(program, request);
    return spawnCaptured(program, request, this.#outputFilter);
  }
}

/**
 * A command whose output goes through pipes to the log, each line stamped with its time and
 * stream (src/logs/stage-log-line.ts), filtered first when a filter is given. Its exit is
 * reported once the log holds everything it wrote — unless something it started still holds the pipes open: then
 * at once, with `groupEmpty: false`, so that the caller ends the group (which closes them).
 */
async function spawnCaptured(
  program: string,
  request: SpawnRequest,
  outputFilter: (() => Transform) | undefined,
): Promise<SpawnedProcess> {
  reapedCpu ??= new ReapedCpu();
  const reaped = reapedCpu;
  const log = createWriteStream(request.logFile, { flags: 'a' });
  const opened = await new Promise<Error | undefined>((resolve) => {
    log.once('open', () => resolve(undefined));
    log.once('error', resolve);
  });
  if (opened) throw new SpawnError(program, errnoOf(opened), 'log', request.logFile);
  let child: ReturnType<typeof spawn>;
  reaped.spawning();
  try {
    child = spawn(program, request.argv.slice(1), {
      cwd: request.cwd,
      env: request.baseEnv ? { ...request.baseEnv, ...request.env } : request.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    log.destroy();
    if (typeof (error as NodeJS.ErrnoException).errno !== 'number') throw error;
    throw startFailure(program, request.cwd, error);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const error = await new Promise((resolve) => child.once('error', resolve));
    log.destroy();
    throw startFailure(program, request.cwd, error);
  }
  const streams = [
    [child.stdout!, 'stdout'],
    [child.stderr!, 'stderr'],
  ] as const;
  const filters = streams.map(([output, name]) => {
    const stamper = new LineStamper(name);
    (outputFilter ? output.pipe(outputFilter()) : output).pipe(stamper).pipe(log, { end: false });
    return finished(stamper).catch(() => {});
  });
  const written = Promise.all(filters).then(() => {
    log.end();
    return finished(log).catch(() => {});
  });
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (exitCode, signal) => {
      const cpu = reaped.exited();
      const groupEmpty = !groupAlive(pid);
      const output = groupEmpty ? written : Promise.resolve();
      void Promise.all([cpu, output]).then(([usage]) =>
        resolve({ exitCode, signal, groupEmpty, ...usage }),
      );
    });
  });
  return { pid, exited };
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Makes the request's directories and links, as the native helper does. */
function prepare(program: string, request: SpawnRequest): void {
  for (const directory of request.directories ?? []) {
    try {
      mkdirSync(directory, { recursive: true });
    } catch (error) {
      throw new SpawnError(program, errnoOf(error), 'directory', directory);
    }
  }
  for (const link of request.links ?? []) {
    try {
      symlinkSync(link.target, link.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SpawnError(program, errnoOf(error), 'link', link.path);
      }
    }
  }
}

/** libuv says ENOENT for a missing directory as for a missing program: tell them apart. */
function startFailure(program: string, cwd: string, error: unknown): SpawnError {
  try {
    if (!statSync(cwd).isDirectory())
      return new SpawnError(program, constants.errno.ENOTDIR, 'cwd', cwd);
  } catch (statError) {
    return new SpawnError(program, errnoOf(statError), 'cwd', cwd);
  }
  return new SpawnError(program, errnoOf(error), 'exec', program);
}

function errnoOf(error: unknown): number {
  const errno = (error as NodeJS.ErrnoException).errno;
  return typeof errno === 'number' ? errno : -5; // EIO: no better guess
}

let errnoNames: Map<number, [string, string]> | undefined;

/** [name, description] of an errno, negative (libuv's sign) or positive. */
function describeErrno(errno: number): [string, string] {
  errnoNames ??= getSystemErrorMap();
  return (
    errnoNames.get(-Math.abs(errno)) ?? [`E${Math.abs(errno)}`, `system error ${Math.abs(errno)}`]
  );
}
