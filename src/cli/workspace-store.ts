import { statSync } from 'node:fs';
import { stateLayout } from '../durable/layout.ts';
import { InputError } from '../errors.ts';
import type { RunStore } from '../store/run-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';

/**
 * Runs `use` with the workspace's run store, read by the inspection commands: a workspace
 * where nothing has run yet is an input error, and asking creates nothing. A store this user
 * may not write (an archived or shared `.gpipe/`, a read-only mount) is read all the same.
 */
export async function withWorkspaceStore<T>(
  workspaceRoot: string,
  use: (store: RunStore) => Promise<T>,
): Promise<T> {
  const { dbFile } = stateLayout(workspaceRoot);
  if (!isThere(dbFile)) {
    throw new InputError(
      `no runs in this workspace yet (${workspaceRoot}): start one with gpipe run`,
    );
  }
  const store = await openSqliteStore(dbFile);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/**
 * Whether the file is there, or may be: a folder this user may not search is no proof of an
 * empty workspace, and opening the store then says what was refused.
 */
function isThere(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

/** A table of left-aligned columns, two spaces apart; the last column is not padded. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = header.map((title, c) =>
    Math.max(title.length, ...rows.map((row) => (row[c] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
