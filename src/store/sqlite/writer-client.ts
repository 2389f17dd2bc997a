/**
 * The main thread's side of the writer thread: posts requests in call order and settles each
 * one's promise when the writer says its transaction committed (or failed).
 */
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from 'node:worker_threads';
import { InputError, PipelineError, type SerializedError } from '../../errors.ts';
import type { ResourceBatch, StoreWrite } from '../run-store.ts';
import { refusalOf, storeRefused } from './connection.ts';
import { encodeWrites } from './wire-format.ts';
import type { Settled, WriterData, WriterReply, WriterRequest } from './writer-protocol.ts';

const entry = new URL('./writer-worker.js', import.meta.url);

interface Pending {
  resolve: (removed: number | undefined) => void;
  reject: (error: Error) => void;
}

export class WriterClient {
  readonly #file: string;
  /** Started by the first request: a store opened only to read never starts a thread. */
  #thread: { worker: Worker; port: MessagePort } | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Set when the writer cannot take requests any more: closed, or dead. */
  #refusal: Error | undefined;
  #closed: Promise<void> | undefined;

  constructor(file: string) {
    this.#file = file;
  }

  /** Starts the thread now, so that its start overlaps what the caller reads before writing. */
  start(): void {
    if (!this.#refusal) this.#thread ??= this.#start();
  }

  /**
   * Starts the writer thread on the file. Requests queue until it is up, so the caller does
   * not wait for it; if it cannot open the file, every request rejects with the reason.
   */
  #start(): { worker: Worker; port: MessagePort } {
    const { port1, port2 } = new MessageChannel();
    const workerData: WriterData = { file: this.#file, port: port2 };
    const worker = new Worker(entry, { workerData, transferList: [port2] });
    const onReply = (reply: WriterReply) => {
      if (reply.type === 'settled') this.#settle(reply.settled);
      else if (reply.type === 'open_failed') this.#fail(this.#revive(reply.error));
    };
    port1.on('message', onReply);
    // The thread's last replies may still wait in the port when its exit is reported (it exits
    // right after answering a close): they are taken first, so that what committed says so.
    const takeReplies = () => {
      for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1))
        onReply(m.message as WriterReply);
    };
    worker.on('error', (error) => {
      takeReplies();
      this.#fail(this.#died(`failed: ${error.message}`, error));
    });
    worker.on('exit', (code) => {
      takeReplies();
      this.#fail(this.#died(`exited (code ${code})`));
    });
    // Idle, neither keeps the process alive: a request in flight refs the port (see #request).
    worker.unref();
    port1.unref();
    return { worker, port: port1 };
  }

  append(writes: readonly StoreWrite[]): Promise<void> {
    let values: unknown[];
    try {
      values = encodeWrites(writes);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#request({ id: this.#nextId++, op: 'append', values }) as Promise<void>;
  }

  appendResources(batch: ResourceBatch): Promise<void> {
    return this.#request({ id: this.#nextId++, op: 'resources', batch }) as Promise<void>;
  }

  /** Resolves to how many entries went. */
  async cacheClear(pipeline: string | undefined): Promise<number> {
    const request: WriterRequest = { id: this.#nextId++, op: 'cache_clear' };
    if (pipeline !== undefined) request.pipeline = pipeline;
    return (await this.#request(request)) ?? 0;
  }

  /** Resolves to how many entries went. */
  async cacheGc(before: number): Promise<number> {
    return (await this.#request({ id: this.#nextId++, op: 'cache_gc', before })) ?? 0;
  }

  /** Resolves once every request made before is settled and the thread is gone. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      // Only a store that was asked something has a thread to wait for (it may still be
      // starting): one opened just to read closes at once.
      const closing =
        this.#thread && !this.#refusal
          ? this.#request({ id: this.#nextId++, op: 'close' })
          : undefined;
      this.#refusal ??= new PipelineError('STORE_CLOSED', `${this.#file}: the run store is closed`);
      // A failure of the close request already reached every request it failed with.
      await closing?.catch(() => {});
      await this.#thread?.worker.terminate();
    })();
    return this.#closed;
  }

  #request(request: WriterRequest): Promise<number | undefined> {
    if (this.#refusal) return Promise.reject(this.#refusal);
    this.#thread ??= this.#start();
    const port = this.#thread.port;
    return new Promise((resolve, reject) => {
      try {
        // Structured clone copies the writes now: the caller may reuse its arrays at once.
        port.postMessage(request);
      } catch (error) {
        reject(
          new PipelineError(
            'STORE_INVALID_WRITE',
            `${this.#file}: a write cannot be sent to the run store: ${(error as Error).message}`,
          ),
        );
        return;
      }
      if (this.#pending.size === 0) port.ref();
      this.#pending.set(request.id, { resolve, reject });
    });
  }

  #settle(settled: readonly Settled[]): void {
    for (const outcome of settled) {
      const pending = this.#pending.get(outcome.id);
      if (!pending) continue;
      this.#pending.delete(outcome.id);
      if (outcome.ok) pending.resolve(outcome.removed);
      else pending.reject(this.#revive(outcome.error));
    }
    if (this.#pending.size === 0) this.#thread?.port.unref();
  }

  /**
   * An error from the writer thread, revived by its code, naming the file; where the machine
   * refused, naming what it refused: the file, its -wal or -shm, or their folder.
   */
  #revive(serialized: SerializedError): Error {
    const { code, message } = serialized;
    let error: Error;
    if (code === 'INPUT_INVALID') error = new InputError(message);
    // Refused on opening (connection.ts): its message names the path already.
    else if (code === storeRefused) error = new PipelineError(code, message);
    else {
      error =
        refusalOf(this.#file, code, message) ??
        new PipelineError(code, `${this.#file}: ${message}`);
    }
    if (serialized.stack) error.stack = serialized.stack;
    return error;
  }

  /** `cause`: what the thread threw, whose code may say that the machine refused. */
  #died(how: string, cause?: Error): Error {
    const message = `${this.#file}: the run store's writer thread ${how}`;
    return new PipelineError('STORE_WRITER', message, { cause });
  }

  /** The thread is gone, or could not open the file: nothing in flight will be answered. */
  #fail(error: Error): void {
    this.#refusal ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#thread?.port.unref();
  }
}
