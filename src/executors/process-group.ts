import { setTimeout as sleep } from 'node:timers/promises';
import { readProcessTable } from '../monitor/process-tree.ts';
import type { ProcessExit } from './spawner.ts';

/**
 * Ends a process group: SIGTERM to all of it, then SIGKILL to whatever is left once the grace
 * period is over. Waits until the leader has exited and the group is empty (or was SIGKILLed).
 * Grandchildren that print nothing are members too; only a process that called setsid escapes.
 * A group left with zombies only is over: they wait for init to reap them, which some inits
 * (a container's first process) do late or never.
 */
export async function killProcessGroup(
  pgid: number,
  leaderExited: Promise<ProcessExit>,
  graceMs: number,
): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) {
    await leaderExited;
    return;
  }
  const deadline = Date.now() + graceMs;
  let pause = 5;
  while (Date.now() < deadline) {
    if (!signalGroup(pgid, 0) || (pause > 5 && !hasLiveMembers(pgid))) {
      await leaderExited;
      return;
    }
    await sleep(Math.min(pause, Math.max(1, deadline - Date.now())));
    pause = Math.min(pause * 2, 100);
  }
  signalGroup(pgid, 'SIGKILL');
  await leaderExited;
}

/** Sends a signal to a whole group; false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Whether a process of the group is alive, not a zombie. Reads /proc; true where there is none. */
function hasLiveMembers(pgid: number): boolean {
  const table = readProcessTable();
  if (!table) return true;
  return table.some((info) => info.pgid === pgid && info.state !== 'Z' && info.state !== 'X');
}
