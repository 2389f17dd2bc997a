/** Opening the store's SQLite file, with the failures a user can fix reported as such. */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { InputError, PipelineError } from '../../errors.ts';
import { openSqlite } from './sqlite-driver.ts';

/** How long a connection waits for another one's write lock before giving up. */
export const busyTimeoutMs = 10_000;

/**
 * Opens (creating it and its folders when missing) the database in WAL mode, so that readers
 * never wait for the writer, nor another process's reader for ours.
 */
export function openConnection(file: string): BetterSqlite3.Database {
  // SQLite opens a file it may not write read-only, silently, and such a connection leaves a
  // -wal and -shm behind, owned by this user: refuse first, naming what is not writable.
  const refused = existsSync(file) ? refusedPath(file, 'write') : undefined;
  if (refused !== undefined) throw new PipelineError(storeRefused, refused);
  return connect(file);
}

function connect(file: string): BetterSqlite3.Database {
  let db: BetterSqlite3.Database | undefined;
  try {
    mkdirSync(dirname(file), { recursive: true });
    db = openSqlite(file, { timeout: busyTimeoutMs });
    // The first statement to read the file: where a file that is not SQLite shows.
    db.pragma('journal_mode = WAL');
    return db;
  } catch (error) {
    db?.close();
    throw asUserError(file, error);
  }
}

/**
 * Opens the database to read it (the main thread's connection). Where this user may write
 * the file, its -wal and -shm and their folder, as openConnection does: the last connection
 * to close removes the -wal and -shm, leaving the folder as it was. Elsewhere (an archived or
 * shared `.gpipe/`, a read-only mount) nothing is written: see openReadOnly.
 */
export function openReadConnection(file: string): BetterSqlite3.Database {
  if (!existsSync(file) || refusedPath(file, 'write') === undefined) return connect(file);
  try {
    return openReadOnly(file);
  } catch (error) {
    throw asUserError(file, error, 'read');
  }
}

/**
 * A read-only connection needs the -shm (SQLite keeps the WAL index there) and the -wal: it
 * creates them when missing, which fails where the folder is read-only, and cannot remove
 * them, which would leave files owned by this user in someone else's folder. With no -shm
 * no connection is open (each would have made one) and, with nothing in the -wal either, the
 * file holds every commit: a copy of it in memory is read instead (the whole file, read at
 * once). A session's -shm, live or left by a crash, is read in place.
 */
function openReadOnly(file: string): BetterSqlite3.Database {
  const walBytes = sizeOf(`${file}-wal`);
  if (existsSync(`${file}-shm`) || walBytes > 0) {
    const db = openSqlite(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
    try {
      db.pragma('schema_version'); // the first read: where a missing -shm or a bad file shows
      return db;
    } catch (error) {
      db.close();
      if (walBytes > 0 && isRefusal(error)) throw walOnlyWritersRead(file, error as Error);
      if (walBytes > 0 || !isRefusal(error)) throw error;
    }
  }
  const image = readFileSync(file);
  // Bytes 18 and 19 say WAL mode (2): the copy has no -wal, so it reads as a rollback one (1).
  if (image.length >= 20 && image[18] === 2 && image[19] === 2) image.fill(1, 18, 20);
  return openSqlite(image, { timeout: busyTimeoutMs });
}

/** Commits still in the -wal, and no -shm this user may create: reading truly cannot work. */
function walOnlyWritersRead(file: string, error: Error): PipelineError {
  const name = basename(file);
  return new PipelineError(
    storeRefused,
    `cannot read the run store: ${file}-wal holds commits, and reading them needs a ${name}-shm that only a user who may write ${dirname(file)} can create (${error.message}); run any gpipe command there as such a user, or copy the folder somewhere writable`,
  );
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * The code of an error naming what the machine refused the store (the file, its -wal or -shm,
 * or their folder): an environment error (`ENV_…`), exit code 5.
 */
export const storeRefused = 'ENV_STORE_REFUSED';

/** Codes of the machine refusing SQLite or Node a file: permissions, a read-only disk. */
const refusalCode = /^(SQLITE_(READONLY|CANTOPEN|PERM)|EACCES$|EPERM$|EROFS$)/;

export function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && refusalCode.test(code);
}

/**
 * What this user may not `need` (read, or read and write) of what the store needs, as `path:
 * why`: the database, its -wal or -shm, or the folder SQLite creates those in. SQLite itself
 * says "attempt to write a readonly database" whichever it was.
 */
export function refusedPath(file: string, need: 'read' | 'write'): string | undefined {
  const mode = need === 'write' ? constants.R_OK | constants.W_OK : constants.R_OK;
  const folder = dirname(file);
  const folderError = accessError(folder, constants.X_OK);
  if (folderError) return `${folder}: ${folderError}`;
  let missing = false;
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (!existsSync(path)) missing = true;
    else {
      const error = accessError(path, mode);
      if (error) return `${path}: ${error}`;
    }
  }
  const createError = missing && need === 'write' && accessError(folder, constants.W_OK);
  if (!createError) return undefined;
  const name = basename(file);
  return `${folder}: ${createError}, and SQLite must create ${name}-wal and ${name}-shm there`;
}

function accessError(path: string, mode: number): string | undefined {
  try {
    accessSync(path, mode);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return 'read-only file system';
    return code === 'EACCES' || code === 'EPERM' ? 'permission denied' : undefined;
  }
}

/**
 * The machine's refusal to let the store in `file` be `need`ed, as an error naming the path at
 * fault, with SQLite's (or Node's) own words; undefined when `code` is no refusal, or nothing
 * is found at fault.
 */
export function refusalOf(
  file: string,
  code: string,
  message: string,
  need: 'read' | 'write' = 'write',
): PipelineError | undefined {
  if (!refusalCode.test(code)) return undefined;
  const refused = refusedPath(file, need);
  if (refused === undefined) return undefined;
  // Node's own words name the path again; SQLite's do not.
  const words = code.startsWith('SQLITE_') ? ` (${message})` : '';
  const text =
    need === 'read'
      ? `cannot read the run store: ${refused}${words}; run gpipe as a user who may read it`
      : `${refused}${words}`;
  return new PipelineError(storeRefused, text);
}

/**
 * A failure to open or read the file that the user has to fix: an InputError naming it when
 * the file is at fault, an environment error (exit code 5) naming what the machine refused
 * when this user may not `need` the file, its -wal, -shm or folder. Anything else is returned
 * as it is.
 */
export function asUserError(
  file: string,
  error: unknown,
  need: 'read' | 'write' = 'write',
): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || error instanceof PipelineError) return error;
  const message = (error as Error).message;
  if (code === 'SQLITE_NOTADB') return new InputError(`${file}: not a SQLite database`);
  if (code.startsWith('SQLITE_CORRUPT'))
    return new InputError(`${file}: the database is corrupt (${message})`);
  const refusal = refusalOf(file, code, message, need);
  if (refusal) return refusal;
  // Node's errors name their path (mkdir of a folder this user may not create, say).
  if (['EACCES', 'EPERM', 'EROFS'].includes(code))
    return new PipelineError(storeRefused, `${file}: cannot open the run store (${message})`);
  if (code.startsWith('SQLITE_CANTOPEN') || ['EEXIST', 'ENOTDIR'].includes(code))
    return new InputError(`${file}: cannot open the run store (${message})`);
  return error;
}
