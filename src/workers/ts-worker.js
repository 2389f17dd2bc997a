// A worker thread's entry: registers tsx (a worker does not inherit the main thread's
// registration) and loads the TypeScript module named in `workerData.module`.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
