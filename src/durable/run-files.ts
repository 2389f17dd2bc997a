import { Worker } from 'node:worker_threads';
import type { RunFilesData, RunFilesMessage, RunFilesReply } from './run-files-protocol.ts';
import type { ManifestStages, ManifestState } from './run-json.ts';

/**
 * Writes a run's files through a worker thread, in the order asked. Outputs are batched: the
 * recorder hands over every output of a committed batch at once.
 */
export class RunFiles {
  readonly #worker: Worker;
  /** Shared with the worker: until when (ms after #epoch) it leaves output files alone. */
  readonly #hold = new Int32Array(new SharedArrayBuffer(4));
  readonly #epoch = Date.now();
  #closed: Promise<void> | undefined;
  /** The worker is gone (it failed, or was closed): nothing more will be written. */
  #exited = false;
  /** The first write that failed: the run goes on (the store has the truth), the CLI warns. */
  firstError: string | undefined;
  /** Questions asked of the worker (missingOutputs), by id. */
  readonly #asked = new Map<number, (stages: string[]) => void>();
  #nextId = 1;

  constructor() {
    // run-files-entry.js loads run-files-worker.ts; in the CLI bundle, it is that worker built.
    const workerData: RunFilesData = {
      hold: this.#hold.buffer as SharedArrayBuffer,
      epoch: this.#epoch,
    };
    this.#worker = new Worker(new URL('./run-files-entry.js', import.meta.url), { workerData });
    this.#worker.on('message', (reply: RunFilesReply) => {
      if (reply.type === 'error') this.firstError ??= reply.message;
      else if (reply.type === 'missing') {
        this.#asked.get(reply.id)?.(reply.stages);
        this.#asked.delete(reply.id);
        if (this.#asked.size === 0 && !this.#closed) this.#worker.unref();
      }
    });
    this.#worker.on('error', (error) => {
      this.firstError ??= error.message;
    });
    this.#worker.once('exit', () => {
      this.#exited = true;
      // Nothing can be written any more: no output is worth reading a record for.
      for (const answer of this.#asked.values()) answer([]);
      this.#asked.clear();
    });
    // Writes in flight must not keep a finished CLI alive on their own: close() waits for them.
    this.#worker.unref();
  }

  writeFile(path: string, text: string): void {
    this.#post({ type: 'file', path, text });
  }

  /** The run's stages, which every later manifest lists. */
  setStages(stages: ManifestStages): void {
    this.#post({ type: 'stages', stages });
  }

  /**
   * `manifest.json`, made by the worker: for 100,000 stages the text took the main thread
   * 75 ms to make and 60 ms more to send, at the start of the run and again at its end.
   */
  writeManifest(path: string, state: ManifestState): void {
    this.#post({ type: 'manifest', path, state });
  }

  /** `values`: output rows (output-file.ts) of stages of the run in `runDir`, one after the other. */
  writeOutputs(
    runDir: string,
    values: readonly unknown[],
    options: { ifMissing?: boolean } = {},
  ): void {
    if (values.length === 0) return;
    this.#post(
      options.ifMissing
        ? { type: 'outputs', runDir, values, ifMissing: true }
        : { type: 'outputs', runDir, values },
    );
  }

  /**
   * Asks the worker to leave output files for `ms` from now. The run asks while it records a
   * burst of stages: making a directory and a file costs the kernel 50–300 µs, and on two
   * cores that time came out of the run's own (a 100,000-stage run: 2.4 s → 2.8–3.8 s).
   */
  holdFor(ms: number): void {
    Atomics.store(this.#hold, 0, Date.now() - this.#epoch + ms);
  }

  /**
   * Removes what atomic writes cut short by a crash left in `runDir`: listing the directories
   * of 100,000 stages takes a second, which the run does not wait for. A leftover is never
   * read (readers read the file it was to replace), so the run may start first.
   */
  removeLeftovers(runDir: string): void {
    this.#post({ type: 'clean', runDir });
  }

  /**
   * Which of `stages` have no `output.json` in `runDir`, as the worker finds them after every
   * file asked for before: the run goes on meanwhile.
   */
  missingOutputs(runDir: string, stages: readonly string[]): Promise<string[]> {
    if (this.#exited) return Promise.resolve([]);
    const id = this.#nextId++;
    // A question keeps the process alive until it is answered.
    this.#worker.ref();
    return new Promise((resolve) => {
      this.#asked.set(id, resolve);
      this.#post({ type: 'missing', id, runDir, stages });
    });
  }

  /** Points `path` (a symbolic link) at `target`, replacing it atomically. */
  link(target: string, path: string): void {
    this.#post({ type: 'link', target, path });
  }

  /** Resolves once every file asked for is written. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      // A worker that died earlier (its error is in firstError) has nothing left to write.
      if (this.#exited) {
        resolve();
        return;
      }
      const onReply = (reply: RunFilesReply) => {
        if (reply.type !== 'closed') return;
        this.#worker.off('message', onReply);
        void this.#worker.terminate().then(() => resolve());
      };
      this.#worker.on('message', onReply);
      this.#worker.once('exit', () => resolve());
      this.#worker.ref();
      // Whatever waits is written now: the run is over.
      Atomics.store(this.#hold, 0, 0);
      Atomics.notify(this.#hold, 0);
      this.#post({ type: 'close' });
    });
    return this.#closed;
  }

  #post(message: RunFilesMessage): void {
    this.#worker.postMessage(message);
  }
}
