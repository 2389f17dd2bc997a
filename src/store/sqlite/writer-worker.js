// The writer thread's entry when run from the sources: its bundle when fresh, else the
// TypeScript through tsx (bin/worker-code.js). The CLI bundle builds writer-thread.ts under
// this name instead.
import { loadWorkerCode } from '../../../bin/worker-code.js';

await loadWorkerCode('writer-worker', new URL('./writer-thread.ts', import.meta.url));
