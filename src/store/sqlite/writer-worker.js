// The writer thread's entry. A worker does not inherit a tsx loader registered through its API
// (bin/gpipe.js does that), so it registers one before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./writer-thread.ts');
