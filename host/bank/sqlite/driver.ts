// The part of better-sqlite3's API the SQLite store uses, declared here so that otp-token/bank's
// public declarations (SqliteStore's `engine`) name no type of @types/better-sqlite3: a program on
// PostgreSQL, or one that only opens a store, type-checks without it (issue 22). better-sqlite3's
// Database satisfies these structurally; test/package.test.ts type-checks otp-token/bank without it.

export interface SqliteRunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface SqliteStatement {
  /** Whether the statement returns rows. */
  readonly reader: boolean;
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** db.transaction(fn): fn run in a transaction, as deferred, immediate or exclusive. */
export interface SqliteTransaction<F extends (...args: never[]) => unknown> {
  (...args: Parameters<F>): ReturnType<F>;
  deferred(...args: Parameters<F>): ReturnType<F>;
  immediate(...args: Parameters<F>): ReturnType<F>;
  exclusive(...args: Parameters<F>): ReturnType<F>;
}

export interface SqliteDatabase {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(source: string): SqliteStatement;
  exec(source: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): SqliteTransaction<F>;
  /** SQLite's online backup API (`bank backup`): pages copied `progress()` at a time. */
  backup(
    destination: string,
    options?: { progress?: (info: { totalPages: number; remainingPages: number }) => number },
  ): Promise<{
    totalPages: number;
    remainingPages: number;
  }>;
  close(): unknown;
}

/** better-sqlite3's default export. */
export type SqliteDriver = new (path: string, options?: { fileMustExist?: boolean; readonly?: boolean }) => SqliteDatabase;
