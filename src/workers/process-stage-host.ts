// The entry of a child process that runs module stages (started through ts-process.js).
import { serveStages } from './stage-host.ts';
import { StageLogCapture } from './stage-log-capture.ts';
import type { RunStageMessage } from './stage-protocol.ts';

// The orchestrator has gone (ended, or killed with -9): nothing is left to report to.
process.on('disconnect', () => process.exit(0));
serveStages(
  {
    post: (message) => {
      process.send!(message);
    },
    onMessage: (listener) =>
      process.on('message', (message) => listener(message as RunStageMessage)),
  },
  // Written from inside, in order with what context.log writes (the pipe to the parent would
  // deliver them later).
  { pid: process.pid, capture: new StageLogCapture() },
);
