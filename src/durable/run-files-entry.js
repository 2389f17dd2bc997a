// The run-files worker's entry when run from the sources: its bundle when fresh, else the
// TypeScript through tsx (bin/worker-code.js). The CLI bundle builds run-files-worker.ts under
// this name instead.
import { loadWorkerCode } from '../../bin/worker-code.js';

await loadWorkerCode('run-files-entry', new URL('./run-files-worker.ts', import.meta.url));
