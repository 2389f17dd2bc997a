import { Worker } from 'node:worker_threads';
import type { RunFilesMessage, RunFilesReply } from './run-files-protocol.ts';

/**
 * Writes a run's files through a worker thread, in the order asked. Outputs are batched: the
 * recorder hands over every output of a committed batch at once.
 */
export class RunFiles {
  readonly #worker: Worker;
  #closed: Promise<void> | undefined;
  /** The first write that failed: the run goes on (the store has the truth), the CLI warns. */
  firstError: string | undefined;

  constructor() {
    // run-files-entry.js loads run-files-worker.ts; in the CLI bundle, it is that worker built.
    this.#worker = new Worker(new URL('./run-files-entry.js', import.meta.url));
    this.#worker.on('message', (reply: RunFilesReply) => {
      if (reply.type === 'error') this.firstError ??= reply.message;
    });
    this.#worker.on('error', (error) => {
      this.firstError ??= error.message;
    });
    // Writes in flight must not keep a finished CLI alive on their own: close() waits for them.
    this.#worker.unref();
  }

  writeFile(path: string, text: string): void {
    this.#post({ type: 'file', path, text });
  }

  /** `values`: output rows (output-file.ts), one after the other. */
  writeOutputs(values: readonly unknown[], options: { ifMissing?: boolean } = {}): void {
    if (values.length === 0) return;
    this.#post(
      options.ifMissing
        ? { type: 'outputs', values, ifMissing: true }
        : { type: 'outputs', values },
    );
  }

  /** Points `path` (a symbolic link) at `target`, replacing it atomically. */
  link(target: string, path: string): void {
    this.#post({ type: 'link', target, path });
  }

  /** Resolves once every file asked for is written. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const onReply = (reply: RunFilesReply) => {
        if (reply.type !== 'closed') return;
        this.#worker.off('message', onReply);
        void this.#worker.terminate().then(() => resolve());
      };
      this.#worker.on('message', onReply);
      this.#worker.once('exit', () => resolve());
      this.#worker.ref();
      this.#post({ type: 'close' });
    });
    return this.#closed;
  }

  #post(message: RunFilesMessage): void {
    this.#worker.postMessage(message);
  }
}
