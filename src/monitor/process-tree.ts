/**
 * A small /proc reader: every process's parent, group, state, RSS and CPU ticks in one pass, and
 * the tree of one stage (its root, the root's descendants and the members of the root's
 * process group) with its summed RSS and CPU time, and the storage IO of its processes. The
 * resource monitor (resource-monitor.ts) reads it once per tick for every stage. About 4 ms per pass on a quiet machine (NOTES.md).
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
  /** CPU time of the children it has waited for (cutime + cstime), in clock ticks. */
  childCpuTicks?: number;
}

export interface ProcessTree {
  /** The live processes of the tree (zombies left out), the root first when it is alive. */
  pids: number[];
  /** Their RSS summed (pages shared between them count once per process, as `ps` shows). */
  rssBytes: number;
  /**
   * Every process of the tree, zombies included: a zombie still holds its CPU time and IO
   * until its parent reaps it (and then the parent holds them).
   */
  members: number[];
  /**
   * CPU time of the tree so far, in clock ticks: each member's own plus what its reaped
   * children used. It only misses descendants reaped by a process outside the tree.
   */
  cpuTicks: number;
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
    childCpuTicks: Number(fields[13]) + Number(fields[14]),
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
  const members: number[] = [];
  let rssBytes = 0;
  let cpuTicks = 0;
  for (const pid of inTree) {
    const info = byPid.get(pid)!;
    members.push(pid);
    cpuTicks += info.cpuTicks + (info.childCpuTicks ?? 0);
    if (info.state === 'Z' || info.state === 'X') continue;
    if (pid === rootPid) pids.unshift(pid);
    else pids.push(pid);
    rssBytes += info.rssBytes;
  }
  return { pids, rssBytes, members, cpuTicks };
}

/** One process's own figures: what a stage starting or ending in a reused worker is counted from. */
export interface ProcessUsage extends ProcessIo {
  /** Its CPU time and its reaped children's, in clock ticks (as a tree counts it). */
  cpuTicks: number;
  rssBytes: number;
}

/** `pid`'s usage now, from two small reads; undefined when it has gone (or there is no /proc). */
export function readProcessUsage(pid: number): ProcessUsage | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  pageSize ??= readPageSize();
  const info = parseStat(stat, pageSize);
  if (!info || info.state === 'Z' || info.state === 'X') return undefined;
  return {
    cpuTicks: info.cpuTicks + (info.childCpuTicks ?? 0),
    rssBytes: info.rssBytes,
    ...readTreeIo([pid]),
  };
}

/** The tree of `rootPid` now; empty where there is no /proc. */
export function sampleProcessTree(rootPid: number): ProcessTree {
  const table = readProcessTable();
  return table ? processTreeOf(table, rootPid) : emptyTree();
}

export function emptyTree(): ProcessTree {
  return { pids: [], rssBytes: 0, members: [], cpuTicks: 0 };
}

export interface ProcessIo {
  /** Bytes the process (and the children it reaped) made the kernel read from storage. */
  readBytes: number;
  /** Bytes it sent, or dirtied to be sent, to storage. */
  writeBytes: number;
}

/**
 * `/proc/<pid>/io` summed over `pids`: storage IO, not bytes through pipes or the page cache.
 * A process that has gone, or that we may not read, counts as nothing.
 */
export function readTreeIo(pids: readonly number[]): ProcessIo {
  const io: ProcessIo = { readBytes: 0, writeBytes: 0 };
  for (const pid of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/io`, 'latin1');
    } catch {
      continue;
    }
    io.readBytes += ioField(text, 'read_bytes: ');
    io.writeBytes += ioField(text, 'write_bytes: ');
  }
  return io;
}

function ioField(text: string, name: string): number {
  // 'write_bytes: ' also ends 'cancelled_write_bytes: ': a line start tells them apart.
  const at = text.indexOf(`\n${name}`);
  if (at < 0) return 0;
  const start = at + name.length + 1;
  const end = text.indexOf('\n', start);
  const value = Number(text.slice(start, end < 0 ? undefined : end));
  return Number.isFinite(value) ? value : 0;
}

/** Clock ticks per second of /proc's CPU times: USER_HZ, 100 on every Linux we run on. */
export const ticksPerSecond = 100;

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
