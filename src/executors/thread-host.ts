import type { Worker } from 'node:worker_threads';
import { packageFileUrl } from '../package-files.ts';
import type { RunStageMessage, StageDoneMessage } from '../workers/stage-protocol.ts';
import { startTsWorker } from '../workers/start-worker.ts';
import type { StageResult } from './executor.ts';
import {
  goneBeforeStart,
  type StageHostHandle,
  serializeWorkerFailure,
  WorkerLostError,
} from './stage-host-handle.ts';

const entry = packageFileUrl('src/workers/thread-stage-host.ts');

interface Pending {
  resolve(result: StageResult): void;
  startedAt: number;
  stage: string;
}

/** A worker thread that runs module stages, one at a time. */
export class ThreadHost implements StageHostHandle {
  readonly key: string;
  readonly #worker: Worker;
  readonly #heapLimitMb: number | undefined;
  #pending: Pending | undefined;
  #usable = true;

  constructor(key: string, heapLimitMb: number | undefined) {
    this.key = key;
    this.#heapLimitMb = heapLimitMb;
    // The worker writes its stages' stdout and stderr to their logs itself (stage-host.ts): a
    // worker's piped stdio holds a port that would keep an idle pool's process alive.
    this.#worker = startTsWorker(
      entry,
      {},
      heapLimitMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: heapLimitMb } },
    );
    this.#worker.on('message', (message: StageDoneMessage) => this.#finish(message.result));
    this.#worker.on('error', (error) => this.#die(this.#describe(error)));
    this.#worker.on('exit', (code) => {
      const stage = this.#pending?.stage ?? '';
      this.#die(
        new WorkerLostError(
          'WORKER_EXITED',
          `stage '${stage}' ended its worker thread (exit code ${code})`,
        ),
        code,
      );
    });
    this.setBusy(false);
  }

  get usable(): boolean {
    return this.#usable;
  }

  run(message: RunStageMessage): Promise<StageResult> {
    if (!this.#usable) return Promise.resolve(goneBeforeStart());
    return new Promise((resolve) => {
      this.#pending = { resolve, startedAt: Date.now(), stage: message.task.stage };
      this.#worker.postMessage(message);
    });
  }

  destroy(): void {
    this.#usable = false;
    void this.#worker.terminate();
  }

  setBusy(busy: boolean): void {
    if (busy) this.#worker.ref();
    else this.#worker.unref();
  }

  #finish(result: StageResult): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(result);
  }

  #describe(error: Error): Error {
    if ((error as { code?: unknown }).code !== 'ERR_WORKER_OUT_OF_MEMORY') return error;
    const stage = this.#pending?.stage ?? '';
    return new WorkerLostError(
      'MEMORY_LIMIT',
      `stage '${stage}' ran out of memory in its worker thread (heap limit ${this.#heapLimitMb ?? 'default'} MB)`,
    );
  }

  #die(error: Error, exitCode?: number): void {
    this.#usable = false;
    const pending = this.#pending;
    if (!pending) return;
    this.#finish({
      status: 'failed',
      error: serializeWorkerFailure(error),
      ...(exitCode !== undefined && { exitCode }),
      startedAt: pending.startedAt,
      endedAt: Date.now(),
    });
  }
}
