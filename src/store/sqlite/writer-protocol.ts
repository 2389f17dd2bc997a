/** The messages between the store (main thread) and its writer thread. */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../../errors.ts';
import type { ResourceBatch } from '../run-store.ts';

export type WriterRequest =
  /** `values`: the batch's writes in the wire format (wire-format.ts). */
  | { id: number; op: 'append'; values: readonly unknown[] }
  | { id: number; op: 'cache_clear'; pipeline?: string }
  | { id: number; op: 'cache_gc'; before: number }
  | { id: number; op: 'resources'; batch: ResourceBatch }
  /** Answered once every request before it is; then the writer closes its connection. */
  | { id: number; op: 'close' };

/** How a request went; `removed`: how many cache entries went, for cache_clear and cache_gc. */
export type Settled =
  | { id: number; ok: true; removed?: number }
  | { id: number; ok: false; error: SerializedError };

export type WriterReply =
  | { type: 'open_failed'; error: SerializedError }
  /** The requests one transaction held, in the order they came. */
  | { type: 'settled'; settled: Settled[] };

export interface WriterData {
  file: string;
  port: MessagePort;
}
