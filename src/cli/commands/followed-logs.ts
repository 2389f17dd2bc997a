/**
 * The logs `gpipe logs` merges, and which of them a poll of `-f` reads. Reading every log on
 * every poll stats each `stage.log` five times a second: half a core for a 100,000-item
 * fan-out. The run store says which logs may have grown since the last poll: those of the
 * stages running, and of those that started or ended since. The first and last reads take
 * every log.
 */
import type { LogMerge, MergedLog } from '../../logs/log-merge.ts';
import type { RunStageNames } from './run-logs.ts';

/**
 * Polls an ended stage's log is still read for: its end can be committed before the last
 * lines a log writer (the spawn helper, a worker) flushes are on disk.
 */
const lingerPolls = 5;

export class FollowedLogs {
  readonly #merge: LogMerge;
  /** Each stage's log in the merge, by stage name. */
  readonly #sources = new Map<string, number>();
  /** Logs of ended stages still read, with the polls left. */
  readonly #lingering = new Map<number, number>();
  /** Logs added since the last drain: a new item's log has not been read yet. */
  #added: number[] = [];

  constructor(merge: LogMerge) {
    this.#merge = merge;
  }

  add(stage: string, log: MergedLog): void {
    const index = this.#merge.add(log);
    this.#sources.set(stage, index);
    this.#added.push(index);
  }

  /** Prints what every log gained since the last read. */
  drainAll(print: (lines: string[]) => void): void {
    this.#added = [];
    this.#lingering.clear();
    this.#merge.drain(print);
  }

  /** Prints what the logs that may have grown gained since the last poll (see the top). */
  drainChanged(print: (lines: string[]) => void, names: RunStageNames): void {
    const only = this.#added;
    this.#added = [];
    for (const name of names.takeChanged()) {
      const index = this.#sources.get(name);
      if (index !== undefined && !names.running.has(name)) this.#lingering.set(index, lingerPolls);
    }
    for (const name of names.running) {
      const index = this.#sources.get(name);
      if (index !== undefined) only.push(index);
    }
    for (const [index, left] of this.#lingering) {
      only.push(index);
      if (left > 1) this.#lingering.set(index, left - 1);
      else this.#lingering.delete(index);
    }
    this.#merge.drain(print, only);
  }
}
