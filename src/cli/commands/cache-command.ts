import { InputError } from '../../errors.ts';
import type { CliIo } from '../cli-io.ts';
import { withWorkspaceStore } from '../workspace-store.ts';
import { workspaceOf } from './run-command.ts';

/** `gpipe cache clear [--pipeline NAME]`: forget cached outputs (run directories stay). */
export async function cacheClearCommand(
  options: { pipeline?: string; workspace?: string },
  io: CliIo,
): Promise<number> {
  const removed = await withWorkspaceStore(workspaceOf(options, io), (store) =>
    store.cacheClear(options.pipeline),
  );
  io.stdout.write(`removed ${entries(removed)}\n`);
  return 0;
}

/** `gpipe cache gc --keep-days N`: forget cached outputs not used in the last N days. */
export async function cacheGcCommand(
  options: { keepDays: string; workspace?: string },
  io: CliIo,
): Promise<number> {
  // Decimal only: Number('') is 0 (an unset variable would empty the cache), Number('0x1E') 30.
  const days = /^\s*\d+(\.\d+)?\s*$/.test(options.keepDays) ? Number(options.keepDays) : Number.NaN;
  if (!Number.isFinite(days)) {
    throw new InputError(
      `--keep-days '${options.keepDays}': must be a number of days ≥ 0, such as 7 or 0.5`,
    );
  }
  const before = Date.now() - days * 86_400_000;
  const removed = await withWorkspaceStore(workspaceOf(options, io), (store) =>
    store.cacheGc(before),
  );
  io.stdout.write(
    `removed ${entries(removed)} not used in ${days} ${days === 1 ? 'day' : 'days'}\n`,
  );
  return 0;
}

function entries(count: number): string {
  return `${count} cache ${count === 1 ? 'entry' : 'entries'}`;
}
