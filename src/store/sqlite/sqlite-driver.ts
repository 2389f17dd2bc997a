/**
 * The SQLite binding, by Node version. better-sqlite3 13 (Node-API, prebuilt for every common
 * platform, nothing to compile) needs Node 22; 12 is built at install for the Node that ran it.
 * 12 must not run on Node 24: its objects derive from node::ObjectWrap, whose destructor, as
 * compiled against Node 24.19's headers, aborts the process ("Assertion failed: (env) !=
 * nullptr") when the garbage collector runs it, which happens in any run that outlives a
 * statement. So 13 where it runs, and 12 on Node 20 alone. Both are optional dependencies:
 * npm installs 13 only where it runs, and a 12 that cannot be built fails no install on 22+.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { PipelineError } from '../../errors.ts';

const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);

/** The package the binding comes from on this Node (an npm alias of better-sqlite3 13 on 22+). */
export const sqlitePackage = nodeMajor >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';

let loaded: typeof BetterSqlite3 | undefined;

/** Opens a database with the binding of this Node (better-sqlite3's constructor arguments). */
export function openSqlite(
  ...args: ConstructorParameters<typeof BetterSqlite3>
): BetterSqlite3.Database {
  loaded ??= loadBinding();
  return new loaded(...args);
}

/** Loaded on first use: a missing binding is an error the CLI reports, not a failed import. */
function loadBinding(): typeof BetterSqlite3 {
  try {
    return require(sqlitePackage) as typeof BetterSqlite3;
  } catch (error) {
    const reason = String((error as Error).message).split('\n')[0];
    const fix =
      sqlitePackage === 'better-sqlite3'
        ? 'with this Node, run `npm rebuild better-sqlite3`, or `npm install` where it is missing (on Node 20 it is compiled: a C++ compiler and Python, or its prebuilt download)'
        : 'run `npm install` with this Node, which installs better-sqlite3 13 for Node 22 and later';
    throw new PipelineError(
      'STORE_BINDING',
      `the SQLite binding (${sqlitePackage}) cannot be loaded on Node ${process.version}: ${reason}; ${fix}`,
      { cause: error },
    );
  }
}
