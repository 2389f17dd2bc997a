import { Worker, type WorkerOptions } from 'node:worker_threads';

const bootstrap = new URL('./ts-worker.js', import.meta.url);

/** Starts a worker thread running a TypeScript module (given as a file URL). */
export function startTsWorker(
  module: URL,
  data: Record<string, unknown> = {},
  options: Omit<WorkerOptions, 'workerData'> = {},
): Worker {
  return new Worker(bootstrap, { ...options, workerData: { ...data, module: module.href } });
}
