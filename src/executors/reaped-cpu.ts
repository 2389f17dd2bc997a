/**
 * The CPU time of a command that Node's child_process ran, read when it has been reaped.
 *
 * libuv reaps a child (waitpid, no rusage) before its 'exit' event, so its zombie — and its
 * /proc entry — is gone by then. What the kernel keeps is this process's total of reaped
 * children's CPU time (cutime + cstime in /proc/self/stat: each child's own time plus its
 * waited-for descendants', as wait4 counts it). The rise of that total across one child's
 * reaping is that child's CPU time, as long as nothing else was reaped in between:
 * - children that exit together are reaped in one pass, their 'exit' events following each
 *   other in one turn of the event loop: a turn with two or more gets no figures;
 * - the total is read again at every spawn (when no exit is pending), so the window is at most
 *   the command's own run. A child of this process that is not a command (nvidia-smi polled
 *   while GPUs are leased, a git of init) reaped inside the window is counted in.
 * Peak RSS and storage IO have no such per-process total: only the monitor's samples give them.
 */
import { readFileSync } from 'node:fs';
import { ticksPerSecond } from '../monitor/process-tree.ts';

export interface ReapedCpuTime {
  userCpuUs: number;
  systemCpuUs: number;
}

type Reader = () => ReapedCpuTime | undefined;

export class ReapedCpu {
  readonly #read: Reader;
  #last: ReapedCpuTime | undefined;
  #batch: ((usage: ReapedCpuTime | undefined) => void)[] = [];

  constructor(read: Reader = readReapedChildrenCpu) {
    this.#read = read;
    this.#last = read();
  }

  /** A command is about to start: the total so far belongs to no command of ours. */
  spawning(): void {
    if (this.#batch.length === 0) this.#last = this.#read();
  }

  /**
   * Call in a child's 'exit' handler: resolves, once the turn's exits are all in, with its CPU
   * time — or undefined when another child ended in the same turn or /proc cannot be read.
   */
  exited(): Promise<ReapedCpuTime | undefined> {
    return new Promise((resolve) => {
      if (this.#batch.length === 0) setImmediate(() => this.#settle());
      this.#batch.push(resolve);
    });
  }

  #settle(): void {
    const batch = this.#batch;
    this.#batch = [];
    const before = this.#last;
    const now = this.#read();
    this.#last = now;
    const alone =
      batch.length === 1 && before && now
        ? {
            userCpuUs: now.userCpuUs - before.userCpuUs,
            systemCpuUs: now.systemCpuUs - before.systemCpuUs,
          }
        : undefined;
    for (const resolve of batch) resolve(alone);
  }
}

/** cutime and cstime of /proc/self/stat, in µs; undefined without /proc. */
export function readReapedChildrenCpu(): ReapedCpuTime | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/self/stat', 'latin1');
  } catch {
    return undefined;
  }
  // Fields after the command name's last ')': state is 0, cutime 13, cstime 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const usPerTick = 1e6 / ticksPerSecond;
  const user = Number(fields[13]);
  const system = Number(fields[14]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) return undefined;
  return { userCpuUs: user * usPerTick, systemCpuUs: system * usPerTick };
}
