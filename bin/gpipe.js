#!/usr/bin/env node
// The `gpipe` command: loads TypeScript through tsx (no build step) and hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
await runCli();
