/**
 * A small /proc reader: every process's parent, group, state, RSS and CPU ticks in one pass, and
 * the tree of one stage (its root, the root's descendants and the members of the root's
 * process group) with its summed RSS. Memory limits sample it today; the resource monitor
 * builds on it. About 4 ms per pass on a quiet machine (NOTES.md).
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** One letter, as /proc shows it: R, S, D, Z (zombie), … */
  state: string;
  /** Resident set size. */
  rssBytes: number;
  /** User plus system CPU time, in clock ticks. */
  cpuTicks: number;
}

export interface ProcessTree {
  /** The live processes of the tree (zombies left out), the root first when it is alive. */
  pids: number[];
  /** Their RSS summed (pages shared between them count once per process, as `ps` shows). */
  rssBytes: number;
}

let pageSize: number | undefined;

/** Every process /proc shows; undefined where there is no /proc (not Linux). */
export function readProcessTable(): ProcessInfo[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  pageSize ??= readPageSize();
  const table: ProcessInfo[] = [];
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue; // it has just gone
    }
    const info = parseStat(stat, pageSize);
    if (info) table.push(info);
  }
  return table;
}

/**
 * One line of `/proc/<pid>/stat`. The command name sits in parentheses and may hold spaces and
 * parentheses itself, so the fields are counted from its last ')'.
 */
export function parseStat(stat: string, bytesPerPage: number): ProcessInfo | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // Fields after the name, from 0: state, ppid, pgrp, …, utime 11, stime 12, …, rss 21.
  if (fields.length < 22) return undefined;
  return {
    pid: Number.parseInt(stat, 10),
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    state: fields[0]!,
    rssBytes: Number(fields[21]) * bytesPerPage,
    cpuTicks: Number(fields[11]) + Number(fields[12]),
  };
}

/**
 * The processes of `rootPid`'s tree in `table`: the root, its descendants by parent, and the
 * members of the process group it leads (so a child whose parent exited still counts). A
 * process that called setsid and whose parent exited is out of reach.
 */
export function processTreeOf(table: readonly ProcessInfo[], rootPid: number): ProcessTree {
  const children = new Map<number, number[]>();
  const byPid = new Map<number, ProcessInfo>();
  for (const info of table) {
    byPid.set(info.pid, info);
    const list = children.get(info.ppid);
    if (list) list.push(info.pid);
    else children.set(info.ppid, [info.pid]);
  }
  const inTree = new Set<number>();
  const queue: number[] = [];
  if (byPid.has(rootPid)) queue.push(rootPid);
  for (const info of table) if (info.pgid === rootPid && info.pid !== rootPid) queue.push(info.pid);
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (inTree.has(pid)) continue;
    inTree.add(pid);
    for (const child of children.get(pid) ?? []) queue.push(child);
  }
  const pids: number[] = [];
  let rssBytes = 0;
  for (const pid of inTree) {
    const info = byPid.get(pid)!;
    if (info.state === 'Z' || info.state === 'X') continue;
    if (pid === rootPid) pids.unshift(pid);
    else pids.push(pid);
    rssBytes += info.rssBytes;
  }
  return { pids, rssBytes };
}

/** The tree of `rootPid` now; empty where there is no /proc. */
export function sampleProcessTree(rootPid: number): ProcessTree {
  const table = readProcessTable();
  return table ? processTreeOf(table, rootPid) : { pids: [], rssBytes: 0 };
}

/** The kernel's page size, from the first mapping of /proc/self/smaps; 4096 if unreadable. */
function readPageSize(): number {
  let fd: number | undefined;
  try {
    fd = openSync('/proc/self/smaps', 'r');
    const buffer = Buffer.alloc(4096);
    const text = buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0));
    const kb = /KernelPageSize:\s+(\d+) kB/.exec(text)?.[1];
    return kb === undefined ? 4096 : Number(kb) * 1024;
  } catch {
    return 4096;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
