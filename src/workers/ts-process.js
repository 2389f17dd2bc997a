// A child process's entry: registers tsx (a child does not inherit the parent's loaders) and
// loads the TypeScript module whose file URL is its first argument.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
