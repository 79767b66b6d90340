// Operations on a bank database as a whole (issue 19, item 6; host/bank/README.md, "Operations"):
// `bank backup` (SQLite's online backup API, a consistent copy while the service writes), `bank
// restore` (checked before it is put in place), `bank check` (the store's integrity check). The audit
// chain's part of restore and check is the Bank's (`verifyAudit`); these are the store's parts.
import { chmodSync, closeSync, constants, existsSync, openSync, renameSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isPostgresUrl } from "./open-store.js";
import { StoreOpenError } from "./store.js";
import { loadBetterSqlite3 } from "./sqlite/connection.js";
import { SCHEMA_VERSION } from "./sqlite/schema.js";

/**
 * Pages per backup step after the first: all of them. One step reads the source in one read
 * transaction (WAL: a snapshot, writers go on); a commit by another connection between steps would
 * restart a backup of many small steps, which a busy service could starve.
 */
const ALL_PAGES = 0x7fffffff;

/**
 * An online backup of the SQLite database at `source` into `target`, a new file (never overwritten)
 * created 0600. SQLite's backup API copies the pages in one step, one read transaction: one
 * committed state, WAL included (unlike `cp` of the main file), while writers go on committing
 * (WAL). Returns the pages copied.
 */
export async function backupSqlite(source: string, target: string): Promise<number> {
  if (isPostgresUrl(source))
    throw new StoreOpenError("'bank backup' is for an SQLite database: back PostgreSQL up with pg_dump or pg_basebackup (README)");
  if (!existsSync(source)) throw new StoreOpenError(`${source} does not exist`);
  // O_EXCL: an existing file (or one made in between) is refused, never overwritten; 0600 from the start.
  let fd: number;
  try {
    fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StoreOpenError(
      code === "EEXIST" ? `${target} already exists: a backup never overwrites a file` : `cannot create ${target}: ${code}`,
    );
  }
  closeSync(fd);
  const Sqlite = loadBetterSqlite3();
  const db = new Sqlite(source, { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    const result = await db.backup(target, { progress: () => ALL_PAGES });
    chmodSync(target, 0o600);
    // The copy is a rollback-journal file of its own (no -wal to carry along).
    const copy = new Sqlite(target, { fileMustExist: true });
    try {
      copy.pragma("journal_mode = DELETE");
    } finally {
      copy.close();
    }
    return result.totalPages;
  } catch (error) {
    rmSync(target, { force: true });
    throw new StoreOpenError(`the backup of ${source} failed: ${(error as Error).message}`);
  } finally {
    db.close();
  }
}

/** The problems `PRAGMA integrity_check` finds in an SQLite file (empty: none), read only. */
export function sqliteIntegrity(path: string): string[] {
  const Sqlite = loadBetterSqlite3();
  let db: InstanceType<typeof Sqlite>;
  try {
    db = new Sqlite(path, { fileMustExist: true, readonly: true });
  } catch (error) {
    return [`cannot open ${path}: ${(error as Error).message}`];
  }
  try {
    db.pragma("busy_timeout = 5000");
    const rows = db.pragma("integrity_check") as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((line) => line !== "ok");
    if (problems.length === 0) {
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version === 0 || version > SCHEMA_VERSION) problems.push(`schema version ${version}: not a bank database this program reads`);
    }
    return problems;
  } catch (error) {
    return [`${(error as Error).message}`];
  } finally {
    db.close();
  }
}

/**
 * PostgreSQL's integrity check: amcheck's bt_index_check on every B-tree index of the bank's schema
 * when the extension is installed in the database (CREATE EXTENSION amcheck, by its owner), and in
 * any case a full read of every table (a damaged heap page fails the read). Returns what was checked
 * and the problems found.
 */
export async function postgresIntegrity(url: string): Promise<{ checked: string; problems: string[] }> {
  const { loadPg } = await import("./postgres/connection.js");
  const pg = loadPg();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const problems: string[] = [];
  try {
    const tables = (
      await client.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
    ).rows.map((r) => r.name);
    for (const table of tables) {
      try {
        await client.query(`SELECT count(*) FROM (SELECT * FROM ${client.escapeIdentifier(table)}) AS every_row`);
      } catch (error) {
        problems.push(`table ${table}: ${(error as Error).message}`);
      }
    }
    const amcheck = (await client.query("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'")).rowCount === 1;
    let indexes = 0;
    if (amcheck) {
      const { rows } = await client.query<{ name: string; oid: number }>(
        `SELECT c.relname AS name, c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
           WHERE a.amname = 'btree' AND c.relnamespace = current_schema()::regnamespace ORDER BY c.relname`,
      );
      for (const index of rows) {
        try {
          await client.query("SELECT bt_index_check($1::regclass, true)", [index.oid]);
          indexes++;
        } catch (error) {
          problems.push(`index ${index.name}: ${(error as Error).message}`);
        }
      }
    }
    return {
      checked: `${tables.length} tables read in full; ${amcheck ? `${indexes} B-tree indexes checked by amcheck` : "indexes not checked (amcheck is not installed in this database: CREATE EXTENSION amcheck)"}`,
      problems,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Puts the checked copy of a backup in place at `target`: the backup is copied next to it (0600),
 * `prepare` runs on the copy (opens it, verifies the audit chain; throws to refuse), and only then is
 * it renamed to `target`. An existing `target` is refused; nothing is left behind on refusal.
 */
export async function restoreSqlite(backup: string, target: string, prepare: (copy: string) => Promise<void>): Promise<void> {
  for (const path of [target, `${target}-wal`, `${target}-shm`]) {
    if (existsSync(path)) throw new StoreOpenError(`${path} already exists: 'bank restore' writes a new database only (give a new --db)`);
  }
  if (!existsSync(dirname(resolve(target)))) throw new StoreOpenError(`the folder of ${target} does not exist`);
  const copy = `${target}.restoring`;
  rmSync(copy, { force: true });
  try {
    await backupSqlite(backup, copy);
    await prepare(copy);
    renameSync(copy, target);
  } finally {
    for (const path of [copy, `${copy}-wal`, `${copy}-shm`]) rmSync(path, { force: true });
  }
}
