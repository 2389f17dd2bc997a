import { readFileSync } from 'node:fs';
import { NativeSpawner } from '../src/executors/native-spawner.ts';
import { msPerCommandStage } from './command-stages.ts';

const stages = Number(process.env.STAGES ?? 2000);
const rounds = Number(process.env.ROUNDS ?? 3);
const inFlight = 2;

/** [wall ms, CPU ms] per stage. */
async function runStages(
  helperPath: string | undefined,
  argv: string[],
): Promise<[number, number]> {
  const spawner = new NativeSpawner(helperPath === undefined ? {} : { helperPath });
  const cpuBefore = cpuMs();
  const wall = await msPerCommandStage(spawner, () => argv, stages, inFlight);
  // The helper has exited and been reaped: its CPU and its commands' are in ours now.
  return [wall, (cpuMs() - cpuBefore) / (stages + 20)];
}

/**
 * CPU time of this process and of every descendant it (or they) waited for — the helper and
 * the commands it ran — from /proc/self/stat: much steadier than wall time on a shared machine.
 */
function cpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

const helpers: [string, string | undefined][] = [['this helper (pipes, stamped lines)', undefined]];
if (process.env.COMPARE_HELPER) helpers.push(['COMPARE_HELPER', process.env.COMPARE_HELPER]);
const commands: [string, string[]][] = [
  ['`true`', ['true']],
  ['`sh -c` printing 3 lines', ['sh', '-c', 'echo one; echo two >&2; echo three']],
];
for (const [what, argv] of commands) {
  const times = new Map<string, [number, number][]>();
  for (let round = 0; round < rounds; round++) {
    for (const [label, path] of helpers) {
      times.set(label, [...(times.get(label) ?? []), await runStages(path, argv)]);
    }
  }
  for (const [label, values] of times) {
    const median = (i: 0 | 1) => values.map((v) => v[i]).sort((a, b) => a - b)[values.length >> 1]!;
    console.log(
      `${what.padEnd(26)} ${label.padEnd(36)} wall ${median(0).toFixed(3)} ms/stage, CPU ${median(1).toFixed(3)} ms/stage (medians of ${rounds} × ${stages}; wall ${values.map((v) => v[0].toFixed(2)).join(', ')}; CPU ${values.map((v) => v[1].toFixed(2)).join(', ')})`,
    );
  }
}
