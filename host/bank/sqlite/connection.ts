// The SQLite store's connection, under its statements (engine.ts): better-sqlite3 loaded lazily, the
// file checked before SQLite sees it (one line a person can act on for each way it can be wrong), the
// migrations, the prepared-statement cache and the transactions. WAL journal so readers never block
// the writer; busy_timeout so a second process waits for the write lock instead of failing;
// synchronous=FULL so a counted failure survives a power cut; every transaction is BEGIN IMMEDIATE,
// so the write lock is taken before the first read of a read-check-write.
import { closeSync, constants, existsSync, openSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { StoreBusyError, StoreOpenError } from "../store.js";
import type { SqliteDatabase, SqliteDriver, SqliteStatement, SqliteTransaction } from "./driver.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.js";

/** Milliseconds a connection waits for another's write lock before giving up (the service then answers 503). */
export const BUSY_TIMEOUT_MS = 5000;

export type Database = SqliteDatabase;
export type Statement = SqliteStatement;

/**
 * better-sqlite3 is loaded only when a SQLite store is opened: a bank on PostgreSQL, or a program that
 * uses only the OTP API, does not need the native module installed.
 */
export function loadBetterSqlite3(): SqliteDriver {
  try {
    return createRequire(import.meta.url)("better-sqlite3") as SqliteDriver;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") {
      throw new StoreOpenError("the bank's SQLite store needs better-sqlite3: npm i better-sqlite3");
    }
    throw error;
  }
}

const sqliteCode = (error: unknown): string => String((error as { code?: unknown }).code ?? "");

/** SQLITE_BUSY (and its extended codes) as the store's "try again" error; anything else unchanged. */
export function translateError(error: unknown): unknown {
  if (sqliteCode(error).startsWith("SQLITE_BUSY")) {
    return new StoreBusyError("the bank's database is locked by another process for longer than the wait allows: try again", 1);
  }
  return error;
}

/** Checks `path` before SQLite sees it, so each way it can be wrong gets one line a person can act on. */
function checkPath(path: string, create: boolean): void {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new StoreOpenError(`${path} is a directory, not a bank database: give --db the database file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof StoreOpenError) throw error;
    if ((error as NodeJS.ErrnoException).code !== "ENOENT")
      throw new StoreOpenError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    const folder = dirname(resolve(path));
    if (!existsSync(folder))
      throw new StoreOpenError(`the folder ${folder} does not exist: create it first, or give --db a path in an existing folder`);
    if (!create)
      throw new StoreOpenError(
        `there is no bank database at ${path}: create one with 'otp-token bank init --db ${path}' (or check the --db path)`,
      );
    // The file, and so the -wal and -shm files SQLite gives the same mode, readable by the owner only.
    try {
      closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
    } catch (error) {
      throw new StoreOpenError(`cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    return;
  }
  if (size === 0 && !create)
    throw new StoreOpenError(
      `${path} is an empty file (0 bytes), not a bank database: remove it and run 'otp-token bank init --db ${path}'`,
    );
}

/**
 * Puts the database in WAL mode (persistent in the file, so usually already set). Changing the
 * journal mode does not wait on the busy handler: when another process holds the database at that
 * moment SQLite answers SQLITE_BUSY at once, so retry for up to BUSY_TIMEOUT_MS.
 */
function useWal(db: Database): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      if (db.pragma("journal_mode", { simple: true }) !== "wal") db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      if (!sqliteCode(error).startsWith("SQLITE_BUSY") || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

export interface EngineOpenOptions {
  create?: boolean;
  busyTimeoutMs?: number;
}

/** Opens the database at `path` (":memory:" for a throw-away one) and brings its schema to SCHEMA_VERSION. */
export function openDatabase(path: string, options: EngineOpenOptions = {}): Database {
  const memory = path === ":memory:" || path === "";
  // The module first: without it, `bank init` must not leave an empty database file behind.
  const Sqlite = loadBetterSqlite3();
  if (!memory) checkPath(path, options.create === true);
  let db: Database;
  try {
    db = new Sqlite(path, { fileMustExist: !memory });
  } catch (error) {
    throw new StoreOpenError(`cannot open ${path}: ${(error as Error).message}`);
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? BUSY_TIMEOUT_MS}`);
    useWal(db);
    // FULL: a counted failure survives a power cut as well as a crash (WAL's NORMAL only survives a crash).
    db.pragma("synchronous = FULL");
    migrate(db, path, options.create === true || memory);
    db.pragma("foreign_keys = ON");
  } catch (error) {
    db.close();
    if (error instanceof StoreOpenError) throw error;
    const code = sqliteCode(error);
    if (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT")) {
      throw new StoreOpenError(`${path} is not a bank database (not an SQLite file, or damaged: ${(error as Error).message})`);
    }
    if (code.startsWith("SQLITE_BUSY")) throw new StoreOpenError(`${path} is locked by another process: try again`);
    if (code.startsWith("SQLITE_")) throw new StoreOpenError(`cannot open ${path}: ${(error as Error).message}`);
    throw error;
  }
  return db;
}

/** One open database: its transactions and its statements, each prepared once. */
export class SqliteConnection {
  readonly db: Database;
  readonly location: string;
  private readonly statements = new Map<string, Statement>();
  private readonly begin: Statement;
  private readonly commitStatement: Statement;
  private readonly rollbackStatement: Statement;
  private readonly savepointStatement: Statement;
  private readonly releaseStatement: Statement;
  private readonly rollbackToStatement: Statement;
  private readonly memberStatements: { savepoint: Statement; release: Statement; rollbackTo: Statement };
  /**
   * The audit row this transaction appended last (engine.ts, appendEvent: the next one chains to it
   * without reading it back); forgotten whenever a transaction or savepoint begins or ends otherwise
   * than by a savepoint's RELEASE, so it is only ever this transaction's newest row.
   */
  protected appended: { id: number; mac: Uint8Array } | null = null;
  /** One wrapper, built once: db.transaction(fn) per call cost 14 % of a verification. */
  private readonly immediateWrapper: SqliteTransaction<(fn: () => unknown) => unknown>;

  protected constructor(db: Database, location: string) {
    this.db = db;
    this.location = location;
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commitStatement = db.prepare("COMMIT");
    this.rollbackStatement = db.prepare("ROLLBACK");
    this.savepointStatement = db.prepare("SAVEPOINT grouped");
    this.releaseStatement = db.prepare("RELEASE grouped");
    this.rollbackToStatement = db.prepare("ROLLBACK TO grouped");
    this.memberStatements = {
      savepoint: db.prepare("SAVEPOINT member"),
      release: db.prepare("RELEASE member"),
      rollbackTo: db.prepare("ROLLBACK TO member"),
    };
    this.immediateWrapper = db.transaction((fn: () => unknown) => fn());
  }

  get schemaVersion(): number {
    return this.db.pragma("user_version", { simple: true }) as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- transactions ----

  /** Runs `fn` synchronously in one BEGIN IMMEDIATE transaction. */
  immediate<T>(fn: () => T): T {
    this.appended = null;
    try {
      return this.immediateWrapper.immediate(fn) as T;
    } finally {
      this.appended = null;
    }
  }

  beginTransaction(): void {
    this.appended = null;
    this.begin.run();
  }

  commit(): void {
    this.appended = null;
    this.commitStatement.run();
  }

  rollback(): void {
    this.appended = null;
    if (this.db.inTransaction) this.rollbackStatement.run();
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  // A logical transaction inside a group commit (batch.ts, GroupCommit): a savepoint in the open
  // BEGIN IMMEDIATE transaction, released (kept, not yet durable) or rolled back alone.

  savepoint(): void {
    this.savepointStatement.run();
  }

  release(): void {
    this.releaseStatement.run();
  }

  /** Undoes the savepoint's changes and ends it; the enclosing transaction stays open. */
  rollbackToSavepoint(): void {
    this.appended = null;
    this.rollbackToStatement.run();
    this.releaseStatement.run();
  }

  // One member of a grouped transaction (batch.ts, runMembers): a savepoint inside the logical
  // transaction's, so a member whose writes fail is undone alone.

  memberSavepoint(): void {
    this.memberStatements.savepoint.run();
  }

  releaseMember(): void {
    this.memberStatements.release.run();
  }

  rollbackToMember(): void {
    this.appended = null;
    this.memberStatements.rollbackTo.run();
    this.memberStatements.release.run();
  }

  protected statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  protected get<T>(sql: string, ...args: unknown[]): T | undefined {
    return this.statement(sql).get(...args) as T | undefined;
  }

  protected all<T>(sql: string, ...args: unknown[]): T[] {
    return this.statement(sql).all(...args) as T[];
  }

  protected run(sql: string, ...args: unknown[]): number {
    return this.statement(sql).run(...args).changes;
  }
}

/** The schema version each open database had before this process migrated it. */
const VERSION_AT_OPEN = new WeakMap<Database, number>();

/** The schema version `db` had when this process opened it (before migrating it). */
export function versionAtOpen(db: Database): number {
  return VERSION_AT_OPEN.get(db) ?? SCHEMA_VERSION;
}

function migrate(db: Database, path: string, mayCreate: boolean): void {
  const apply = db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    VERSION_AT_OPEN.set(db, version);
    if (version > MIGRATIONS.length) {
      throw new StoreOpenError(
        `the bank database ${path} has schema version ${version}, newer than this program's ${MIGRATIONS.length}: upgrade otp-token`,
      );
    }
    if (version === 0 && !mayCreate) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number };
      throw new StoreOpenError(
        tables.n > 0
          ? `${path} is an SQLite database but not a bank database`
          : `${path} is an empty database: run 'otp-token bank init --db ${path}'`,
      );
    }
    for (let next = version; next < MIGRATIONS.length; next++) db.exec(MIGRATIONS[next]);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
    // Foreign keys are off while tables are rebuilt (SQLite's documented recipe); check them before committing.
    const broken = db.pragma("foreign_key_check") as unknown[];
    if (broken.length > 0) throw new Error(`migration left ${broken.length} rows whose references do not resolve`);
  });
  // IMMEDIATE: two processes opening an old file at once do not both run the migrations.
  if ((db.pragma("user_version", { simple: true }) as number) !== SCHEMA_VERSION) apply.immediate();
}
