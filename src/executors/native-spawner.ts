import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { packageFile } from '../package-files.ts';
import {
  type ProcessExit,
  SpawnError,
  type SpawnedProcess,
  type Spawner,
  type SpawnRequest,
  type SpawnStep,
  type SymbolicLink,
} from './spawner.ts';

/** Where scripts/build-native.js puts the helper (native/spawn-helper.c). */
export const nativeHelperPath = packageFile('native/build/spawn-helper');

/** The protocol is described at the top of native/spawn-helper.c. */
const protocolVersion = 2;
const replySize = 64;
const replyHello = 0;
const replySpawned = 1;
const replyFailed = 2;
const replyExited = 3;
const steps: readonly SpawnStep[] = ['exec', 'cwd', 'log', 'directory', 'link'];
/** Base environments the helper keeps; past this, environments travel whole. */
const maxBases = 64;

export interface NativeSpawnerOptions {
  /** @default native/build/spawn-helper of this package */
  helperPath?: string;
}

type HelperProcess = ChildProcessByStdio<Socket, Socket, null>;

class Request {
  pid = 0;
  exited: Promise<ProcessExit> | undefined;
  resolveExit: ((exit: ProcessExit) => void) | undefined;
  constructor(
    readonly program: string,
    /** Kept to name what failed. */
    readonly spawn: SpawnRequest,
    readonly resolveSpawn: (spawned: SpawnedProcess) => void,
    readonly rejectSpawn: (error: Error) => void,
  ) {}
}

/**
 * Starts commands through one small native helper process (native/spawn-helper.c) that
 * vforks and execs them and reaps them with wait4: a fraction of child_process's cost, off the
 * main thread, with each process's rusage. The helper starts with the first spawn, does not keep
 * the event loop alive while nothing runs, and exits when `close()` is called or this process
 * ends; commands still running then are killed with their process groups.
 */
export class NativeSpawner implements Spawner {
  readonly #helperPath: string;
  #helper: HelperProcess | undefined;
  #closed: Promise<void> | undefined;
  /** In flight by request id; ids are reused through `#freeIds`. */
  readonly #requests: (Request | undefined)[] = [];
  readonly #freeIds: number[] = [];
  #inFlight = 0;
  /** close() was called: the helper stays referenced until it has gone. */
  #closing = false;
  #partial: Buffer | undefined;
  /** Why the helper failed, when it says more than its exit status. */
  #failure: Error | undefined;
  #bases = new WeakMap<object, number>();
  #baseCount = 0;

  constructor(options: NativeSpawnerOptions = {}) {
    this.#helperPath = options.helperPath ?? nativeHelperPath;
  }

  spawn(request: SpawnRequest): Promise<SpawnedProcess> {
    const helper = this.#helper ?? this.#start();
    const base = this.#baseOf(helper, request.baseEnv);
    const program = request.argv[0]!;
    const cwd = absolute(request.cwd);
    const logFile = absolute(request.logFile);
    const argc = request.argv.length;
    let tail = '';
    for (const arg of request.argv) tail += `${arg}\0`;
    let envc = 0;
    // Past maxBases (or with no base) the whole environment travels with the request.
    const env = base < 0 && request.baseEnv ? { ...request.baseEnv, ...request.env } : request.env;
    for (const key in env) {
      const value = env[key];
      if (value === undefined) continue;
      tail += `${key}=${value}\0`;
      envc++;
    }
    const directories = request.directories ?? noStrings;
    for (const directory of directories) tail += `${absolute(directory)}\0`;
    const links = request.links ?? noLinks;
    for (const link of links) tail += `${link.target}\0${absolute(link.path)}\0`;
    const id = this.#freeIds.pop() ?? this.#requests.length;
    const head = `S\0${id}\0${base}\0${argc}\0${envc}\0${directories.length}\0${links.length}\0${cwd}\0${logFile}\0`;
    const record = encode(head + tail, 9 + argc + envc + directories.length + 2 * links.length);
    if (record === undefined) {
      this.#freeIds.push(id);
      return Promise.reject(
        new TypeError(`a command's argv, env, cwd or log file holds a NUL byte: '${program}'`),
      );
    }
    return new Promise<SpawnedProcess>((resolveSpawn, rejectSpawn) => {
      this.#requests[id] = new Request(program, request, resolveSpawn, rejectSpawn);
      if (this.#inFlight++ === 0) setRef(helper, true);
      helper.stdin.write(record);
    });
  }

  /** Ends the helper; whatever it still runs is killed with its process group. */
  close(): Promise<void> {
    const helper = this.#helper;
    if (!helper) return Promise.resolve();
    this.#closing = true;
    setRef(helper, true); // until it has gone
    helper.stdin.end();
    return this.#closed!;
  }

  #start(): HelperProcess {
    const helper = spawn(this.#helperPath, [], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }) as HelperProcess;
    this.#helper = helper;
    this.#closing = false;
    this.#partial = undefined;
    this.#bases = new WeakMap();
    this.#baseCount = 0;
    helper.stdout.on('data', (chunk: Buffer) => this.#onData(chunk));
    // Writes after the helper died fail with EPIPE; 'close' below answers those requests.
    helper.stdin.on('error', () => {});
    this.#failure = undefined;
    helper.once('error', (error) => {
      this.#failure = error;
    });
    this.#closed = new Promise((resolveClosed) => {
      helper.once('close', (code, signal) => {
        if (this.#helper === helper) this.#helper = undefined;
        this.#abandon(
          this.#failure ??
            new Error(
              `the spawn helper ${this.#helperPath} ended (${signal ?? `exit code ${code}`})`,
            ),
        );
        resolveClosed();
      });
    });
    setRef(helper, false);
    return helper;
  }

  /** The helper's id of a base environment, sending the base the first time; -1 for none. */
  #baseOf(helper: HelperProcess, baseEnv: Readonly<Record<string, string>> | undefined): number {
    if (baseEnv === undefined) return -1;
    const known = this.#bases.get(baseEnv);
    if (known !== undefined) return known;
    if (this.#baseCount >= maxBases) return -1; // one executor has one base
    let body = '';
    let count = 0;
    for (const key in baseEnv) {
      const value = baseEnv[key];
      if (value === undefined) continue;
      body += `${key}=${value}\0`;
      count++;
    }
    const record = encode(`E\0${this.#baseCount}\0${count}\0${body}`, count + 3);
    if (record === undefined) return -1;
    helper.stdin.write(record);
    this.#bases.set(baseEnv, this.#baseCount);
    return this.#baseCount++;
  }

  #onData(chunk: Buffer): void {
    let data = chunk;
    if (this.#partial) {
      data = Buffer.concat([this.#partial, chunk]);
      this.#partial = undefined;
    }
    let at = 0;
    for (; data.length - at >= replySize; at += replySize) {
      const type = data.readUInt32LE(at);
      const id = data.readUInt32LE(at + 4);
      if (type === replyHello) {
        if (id !== protocolVersion) {
          this.#failure = new Error(
            `the spawn helper ${this.#helperPath} speaks protocol ${id}, not ${protocolVersion}: run npm run build:native`,
          );
          this.#helper?.kill();
        }
        continue;
      }
      const request = this.#requests[id];
      if (!request) continue;
      if (type === replySpawned) {
        request.pid = data.readInt32LE(at + 8);
        request.exited = new Promise((resolveExit) => {
          request.resolveExit = resolveExit;
        });
        request.resolveSpawn({ pid: request.pid, exited: request.exited });
      } else if (type === replyFailed) {
        const step = steps[data.readInt32LE(at + 16)] ?? 'exec';
        const path = failedPath(request, step, data.readUInt32LE(at + 40));
        this.#finish(id);
        request.rejectSpawn(new SpawnError(request.program, data.readInt32LE(at + 12), step, path));
      } else if (type === replyExited) {
        const code = data.readInt32LE(at + 12);
        const signal = data.readInt32LE(at + 16);
        this.#finish(id);
        request.resolveExit?.({
          exitCode: code >= 0 ? code : null,
          signal: signal === 0 ? null : signalName(signal),
          maxRssKb: data.readInt32LE(at + 20),
          userCpuUs: data.readDoubleLE(at + 24),
          systemCpuUs: data.readDoubleLE(at + 32),
          inBlocks: data.readDoubleLE(at + 48),
          outBlocks: data.readDoubleLE(at + 56),
          groupEmpty: (data.readUInt32LE(at + 40) & 1) === 1,
        });
      }
    }
    if (at < data.length) this.#partial = Buffer.from(data.subarray(at));
  }

  #finish(id: number): void {
    this.#requests[id] = undefined;
    this.#freeIds.push(id);
    if (--this.#inFlight === 0 && this.#helper && !this.#closing) setRef(this.#helper, false);
  }

  /** The helper is gone: requests it never answered fail, and its children are killed. */
  #abandon(error: Error): void {
    for (let id = 0; id < this.#requests.length; id++) {
      const request = this.#requests[id];
      if (!request) continue;
      this.#finish(id);
      if (request.resolveExit) {
        try {
          process.kill(-request.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
        request.resolveExit({ exitCode: null, signal: 'SIGKILL' });
      } else {
        request.rejectSpawn(error);
      }
    }
    this.#inFlight = 0;
  }
}

const noStrings: readonly string[] = [];
const noLinks: readonly SymbolicLink[] = [];

/** The helper may run in another directory than ours: it gets absolute paths. */
function absolute(path: string): string {
  return path.charCodeAt(0) === 47 ? path : resolve(path);
}

function failedPath(request: Request, step: SpawnStep, index: number): string {
  const spawn = request.spawn;
  if (step === 'cwd') return absolute(spawn.cwd);
  if (step === 'log') return absolute(spawn.logFile);
  if (step === 'directory') return absolute(spawn.directories?.[index] ?? '');
  if (step === 'link') return absolute(spawn.links?.[index]?.path ?? '');
  return request.program;
}

/** The record with its length prefix, or undefined when a field held a NUL of its own. */
function encode(body: string, fields: number): Buffer | undefined {
  let nuls = 0;
  for (let at = body.indexOf('\0'); at >= 0; at = body.indexOf('\0', at + 1)) nuls++;
  if (nuls !== fields) return undefined;
  const length = Buffer.byteLength(body);
  const record = Buffer.allocUnsafe(4 + length);
  record.writeUInt32LE(length, 0);
  record.write(body, 4);
  return record;
}

/** While nothing is in flight the helper must not keep this process alive. */
function setRef(helper: HelperProcess, ref: boolean): void {
  if (ref) {
    helper.ref();
    helper.stdout.ref();
    helper.stdin.ref();
  } else {
    helper.unref();
    helper.stdout.unref();
    helper.stdin.unref();
  }
}

let signalNames: Map<number, string> | undefined;

function signalName(signal: number): string {
  if (!signalNames) {
    signalNames = new Map();
    for (const [name, number] of Object.entries(constants.signals)) signalNames.set(number, name);
  }
  return signalNames.get(signal) ?? `SIG${signal}`;
}
