import { NativeSpawner } from '../src/executors/native-spawner.ts';
import { msPerCommandStage } from './command-stages.ts';

const stages = Number(process.env.STAGES ?? 2000);
const rounds = Number(process.env.ROUNDS ?? 3);
const inFlight = 2;

function runStages(helperPath: string | undefined, argv: string[]): Promise<number> {
  const spawner = new NativeSpawner(helperPath === undefined ? {} : { helperPath });
  return msPerCommandStage(spawner, () => argv, stages, inFlight);
}

const helpers: [string, string | undefined][] = [['this helper (pipes, stamped lines)', undefined]];
if (process.env.COMPARE_HELPER) helpers.push(['COMPARE_HELPER', process.env.COMPARE_HELPER]);
const commands: [string, string[]][] = [
  ['`true`', ['true']],
  ['`sh -c` printing 3 lines', ['sh', '-c', 'echo one; echo two >&2; echo three']],
];
for (const [what, argv] of commands) {
  const times = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [label, path] of helpers) {
      const ms = await runStages(path, argv);
      times.set(label, [...(times.get(label) ?? []), ms]);
    }
  }
  for (const [label, values] of times) {
    const sorted = [...values].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `${what.padEnd(26)} ${label.padEnd(36)} ${median.toFixed(3)} ms/stage (median of ${rounds} × ${stages}; ${values.map((v) => v.toFixed(3)).join(', ')})`,
    );
  }
}
