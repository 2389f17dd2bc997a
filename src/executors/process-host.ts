import { type ChildProcess, fork } from 'node:child_process';
import type { Readable } from 'node:stream';
import { packageFile, packageFileUrl } from '../package-files.ts';
import type { RunStageMessage, StageDoneMessage } from '../workers/stage-protocol.ts';
import type { StageResult } from './executor.ts';
import {
  goneBeforeStart,
  type StageHostHandle,
  serializeWorkerFailure,
  WorkerLostError,
} from './stage-host-handle.ts';
import { StageOutput } from './stage-output.ts';

const bootstrap = packageFile('src/workers/ts-process.js');
const entry = packageFileUrl('src/workers/process-stage-host.ts').href;
/** Between SIGTERM and SIGKILL to the worker's process group. */
const graceMs = 2000;

interface Pending {
  resolve(result: StageResult): void;
  startedAt: number;
  stage: string;
}

/**
 * A child Node process that runs module stages, one at a time, in its own process group: a
 * crash, `process.exit` or an out-of-memory abort ends the child, never the orchestrator.
 */
export class ProcessHost implements StageHostHandle {
  readonly key: string;
  readonly #child: ChildProcess;
  readonly #output: StageOutput;
  readonly #heapLimitMb: number | undefined;
  #pending: Pending | undefined;
  #usable = true;
  #exited = false;

  /** `redact` masks secrets in what reaches the log past the worker's own masking (a crash). */
  constructor(key: string, heapLimitMb: number | undefined, redact?: (text: string) => string) {
    this.key = key;
    this.#heapLimitMb = heapLimitMb;
    this.#output = new StageOutput(redact);
    this.#child = fork(bootstrap, [entry], {
      // Not the parent's flags (a test runner's `--test`, a loader): the child sets up its own.
      execArgv: heapLimitMb === undefined ? [] : [`--max-old-space-size=${heapLimitMb}`],
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.#child.stdout?.on('data', (chunk: Buffer) => this.#output.write(chunk, false));
    this.#child.stderr?.on('data', (chunk: Buffer) => this.#output.write(chunk, true));
    this.#child.on('message', (message: StageDoneMessage) => this.#finish(message.result));
    this.#child.on('error', (error) => this.#die(error));
    this.#child.on('exit', (code, signal) => {
      this.#exited = true;
      this.#usable = false;
      // The last of stderr (an out-of-memory report) may arrive just after the exit.
      let reported = false;
      const report = () => {
        if (reported) return;
        reported = true;
        this.#die(this.#exitError(code, signal), code ?? undefined);
      };
      this.#child.once('close', report);
      setTimeout(report, 200).unref();
    });
    this.setBusy(false);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get usable(): boolean {
    return this.#usable;
  }

  run(message: RunStageMessage): Promise<StageResult> {
    if (!this.#usable) return Promise.resolve(goneBeforeStart());
    this.#output.attach(message.task.paths.stageDir);
    return new Promise((resolve) => {
      this.#pending = { resolve, startedAt: Date.now(), stage: message.task.stage };
      this.#child.send(message, (error) => {
        if (error) this.#die(error);
      });
    });
  }

  destroy(now = false): void {
    this.#usable = false;
    if (this.#exited) return;
    const pid = this.#child.pid;
    if (pid === undefined) return;
    signalGroup(pid, now ? 'SIGKILL' : 'SIGTERM');
    if (now) return;
    setTimeout(() => {
      if (!this.#exited) signalGroup(pid, 'SIGKILL');
    }, graceMs).unref();
  }

  setBusy(busy: boolean): void {
    const handles: (ChildProcess | Readable | { ref(): void; unref(): void } | null | undefined)[] =
      [this.#child, this.#child.stdout, this.#child.stderr, this.#child.channel];
    for (const handle of handles) {
      const refable = handle as { ref?: () => void; unref?: () => void } | null | undefined;
      if (busy) refable?.ref?.();
      else refable?.unref?.();
    }
  }

  #exitError(code: number | null, signal: NodeJS.Signals | null): Error {
    const stage = this.#pending?.stage ?? '';
    const tail = this.#output.stderrTail;
    if (/heap out of memory|Reached heap limit/.test(tail)) {
      const limit =
        this.#heapLimitMb === undefined
          ? 'the default heap limit'
          : `heap limit ${this.#heapLimitMb} MB`;
      return new WorkerLostError(
        'MEMORY_LIMIT',
        `stage '${stage}' ran out of memory in its worker process (${limit})`,
      );
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const lastLines = tail.trim().split('\n').slice(-5).join('\n');
    return new WorkerLostError(
      'WORKER_EXITED',
      `stage '${stage}': its worker process ${how}${lastLines ? `\n${lastLines}` : ''}`,
    );
  }

  #finish(result: StageResult): void {
    const pending = this.#pending;
    this.#pending = undefined;
    this.#output.detach();
    pending?.resolve(result);
  }

  #die(error: Error, exitCode?: number): void {
    this.#usable = false;
    const pending = this.#pending;
    if (!pending) return;
    const result: StageResult = {
      status: 'failed',
      error: serializeWorkerFailure(error),
      startedAt: pending.startedAt,
      endedAt: Date.now(),
    };
    if (exitCode !== undefined) result.exitCode = exitCode;
    if (this.#child.pid !== undefined) result.pid = this.#child.pid;
    this.#finish(result);
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group has gone already
  }
}
