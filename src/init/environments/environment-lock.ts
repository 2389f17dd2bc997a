/**
 * One init at a time makes a given environment: two CI jobs or terminals running init at
 * once must not wipe each other's half-made venv. The lock is a file beside the env dir made
 * with O_EXCL, holding its owner's pid; a lock whose owner is gone (killed mid-build) is taken
 * over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often a waiting init looks at the lock again. */
const pollMs = 100;

/** Runs `work` holding the lock of the environment in `dir`; `onWait` is told once if it waits. */
export async function withEnvironmentLock<T>(
  dir: string,
  work: () => Promise<T>,
  onWait: (ownerPid: number) => void = () => {},
): Promise<T> {
  const lockFile = `${dir}.lock`;
  mkdirSync(dirname(dir), { recursive: true });
  let told = false;
  for (;;) {
    const owner = tryLock(lockFile);
    if (owner === undefined) break;
    if (!isAlive(owner)) {
      rmSync(lockFile, { force: true });
      continue;
    }
    if (!told) onWait(owner);
    told = true;
    await sleep(pollMs);
  }
  try {
    return await work();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

/** Undefined when the lock is now ours; else the pid of its owner (0 when unreadable). */
function tryLock(lockFile: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(lockFile, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const pid = Number(readOrEmpty(lockFile));
    // A lock being written this instant has no pid yet: its owner is alive.
    return Number.isInteger(pid) && pid > 0 ? pid : process.pid;
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return undefined;
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, but someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
