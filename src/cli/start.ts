// The CLI process's entry: bin/gpipe.js imports it from the sources (through tsx), and
// scripts/build-cli.js bundles it into dist/cli/gpipe.js.
import { runCli } from './main.ts';

await runCli();
