/**
 * The SQLite binding, by Node version. better-sqlite3 13 (Node-API, prebuilt for every common
 * platform, nothing to compile) needs Node 22; 12 is built at install for the Node that ran it.
 * 12 must not run on Node 24: its objects derive from node::ObjectWrap, whose destructor, as
 * compiled against Node 24.19's headers, aborts the process ("Assertion failed: (env) !=
 * nullptr") when the garbage collector runs it, which happens in any run that outlives a
 * statement. So 13 where it runs, and 12 on Node 20 alone.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);

/** The package the binding comes from on this Node (an npm alias of better-sqlite3 13 on 22+). */
export const sqlitePackage = nodeMajor >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';

/** better-sqlite3's Database class; both majors have the API this store uses. */
export const Database = require(sqlitePackage) as typeof BetterSqlite3;
