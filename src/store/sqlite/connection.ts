/** Opening the store's SQLite file, with the failures a user can fix reported as such. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { InputError } from '../../errors.ts';

/** How long a connection waits for another one's write lock before giving up. */
export const busyTimeoutMs = 10_000;

/**
 * Opens (creating it and its folders when missing) the database in WAL mode, so that readers
 * never wait for the writer, nor another process's reader for ours.
 */
export function openConnection(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    mkdirSync(dirname(file), { recursive: true });
    db = new Database(file, { timeout: busyTimeoutMs });
    // The first statement to read the file: where a file that is not SQLite shows.
    db.pragma('journal_mode = WAL');
    return db;
  } catch (error) {
    db?.close();
    throw asInputError(file, error);
  }
}

/** A failure to open or read the file that the user has to fix, as an InputError naming it. */
export function asInputError(file: string, error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return error;
  const message = (error as Error).message;
  if (code === 'SQLITE_NOTADB') return new InputError(`${file}: not a SQLite database`);
  if (code.startsWith('SQLITE_CORRUPT'))
    return new InputError(`${file}: the database is corrupt (${message})`);
  if (code.startsWith('SQLITE_CANTOPEN') || ['EACCES', 'EEXIST', 'ENOTDIR'].includes(code))
    return new InputError(`${file}: cannot open the run store (${message})`);
  return error;
}
