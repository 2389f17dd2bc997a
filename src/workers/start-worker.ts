import { Worker, type WorkerOptions } from 'node:worker_threads';
import { packageFileUrl } from '../package-files.ts';

const bootstrap = packageFileUrl('src/workers/ts-worker.js');

/** Starts a worker thread running a TypeScript module (given as a file URL). */
export function startTsWorker(
  module: URL,
  data: Record<string, unknown> = {},
  options: Omit<WorkerOptions, 'workerData'> = {},
): Worker {
  return new Worker(bootstrap, { ...options, workerData: { ...data, module: module.href } });
}
