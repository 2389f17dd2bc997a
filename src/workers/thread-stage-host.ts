// The entry of a worker thread that runs module stages (started through ts-worker.js).
import { parentPort } from 'node:worker_threads';
import { serveStages } from './stage-host.ts';
import { StageLogCapture } from './stage-log-capture.ts';
import type { RunStageMessage } from './stage-protocol.ts';

const port = parentPort!;
serveStages(
  {
    post: (message) => port.postMessage(message),
    onMessage: (listener) => port.on('message', (message: RunStageMessage) => listener(message)),
  },
  { capture: new StageLogCapture() },
);
