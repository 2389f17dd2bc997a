/**
 * CPU time of each thread of this process, from /proc/self/task (Linux): where a window's CPU
 * went, which process.cpuUsage (every thread together) cannot say.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Milliseconds of user and system time by thread id; empty where /proc is not there. */
export function threadCpu(): Map<number, number> {
  const cpu = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return cpu;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(Number(tid), ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond);
    } catch {
      // the thread ended since the listing
    }
  }
  return cpu;
}

/** USER_HZ: 100 on every Linux Node supports. */
const ticksPerSecond = 100;

export interface ThreadSplit {
  /** The main thread. */
  main: number;
  /** Threads there at the window's start (V8's helpers: garbage collection, compilation). */
  helpers: number;
  /** Threads started during the window (worker threads) and still there at its end. */
  started: number;
}

/** The CPU of the window between two threadCpu() readings, split by kind of thread. */
export function splitThreadCpu(
  before: Map<number, number>,
  after: Map<number, number>,
): ThreadSplit {
  const split: ThreadSplit = { main: 0, helpers: 0, started: 0 };
  for (const [tid, ms] of after) {
    const spent = ms - (before.get(tid) ?? 0);
    if (tid === process.pid) split.main += spent;
    else if (before.has(tid)) split.helpers += spent;
    else split.started += spent;
  }
  return split;
}
