// The run-files worker's entry. A worker does not inherit a tsx loader registered through its
// API (bin/gpipe.js does that), so it registers one before loading the TypeScript. The CLI
// bundle (scripts/build-cli.js) builds run-files-worker.ts under this name instead.
import { register } from 'tsx/esm/api';

register();
await import('./run-files-worker.ts');
