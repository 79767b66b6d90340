// The SQLite store's engine: one better-sqlite3 connection and every statement the bank runs, all
// synchronous. It runs on the caller's thread (the CLI) or inside a worker thread (`bank serve`:
// host/bank/sqlite/worker.ts), behind the asynchronous SqliteStore (store.ts). WAL journal so readers
// never block the writer; busy_timeout so a second process waits for the write lock instead of
// failing; synchronous=FULL so a counted failure survives a power cut; every transaction is
// BEGIN IMMEDIATE, so the write lock is taken before the first read of a read-check-write.
import { closeSync, constants, existsSync, openSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { chainMac } from "../audit.js";
import type {
  ActivationSessionRow,
  ApiKeyRow,
  CustomerRow,
  EventRow,
  IssueRow,
  NewEvent,
  NewIssue,
  NewToken,
  SettingName,
  TokenRow,
  TokenState,
} from "../store.js";
import { StoreBusyError, StoreOpenError } from "../store.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.js";

/** Milliseconds a connection waits for another's write lock before giving up (the service then answers 503). */
export const BUSY_TIMEOUT_MS = 5000;

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

/**
 * better-sqlite3 is loaded only when a SQLite store is opened: a bank on PostgreSQL, or a program that
 * uses only the OTP API, does not need the native module installed.
 */
function loadBetterSqlite3(): typeof BetterSqlite3 {
  try {
    return createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
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

const ROW_COLUMNS_TOKEN =
  "user_id, customer_id, issue_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, consecutive_failures, locked, next_check_at, state, activated_at, expires_at, last_success_at";

export interface EngineOpenOptions {
  create?: boolean;
  busyTimeoutMs?: number;
}

export class SqliteEngine {
  readonly db: Database;
  readonly location: string;
  private readonly statements = new Map<string, Statement>();
  private readonly begin: Statement;
  private readonly commitStatement: Statement;
  private readonly rollbackStatement: Statement;
  /** One wrapper, built once: db.transaction(fn) per call cost 14 % of a verification. */
  private readonly immediateWrapper: BetterSqlite3.Transaction<(fn: () => unknown) => unknown>;
  private auditKey: Uint8Array | null = null;

  private constructor(db: Database, location: string) {
    this.db = db;
    this.location = location;
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commitStatement = db.prepare("COMMIT");
    this.rollbackStatement = db.prepare("ROLLBACK");
    this.immediateWrapper = db.transaction((fn: () => unknown) => fn());
  }

  /** Opens the database at `path` (":memory:" for a throw-away one) and brings its schema to SCHEMA_VERSION. */
  static open(path: string, options: EngineOpenOptions = {}): SqliteEngine {
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
    return new SqliteEngine(db, path);
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
    return this.immediateWrapper.immediate(fn) as T;
  }

  beginTransaction(): void {
    this.begin.run();
  }

  commit(): void {
    this.commitStatement.run();
  }

  rollback(): void {
    if (this.db.inTransaction) this.rollbackStatement.run();
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private get<T>(sql: string, ...args: unknown[]): T | undefined {
    return this.statement(sql).get(...args) as T | undefined;
  }

  private all<T>(sql: string, ...args: unknown[]): T[] {
    return this.statement(sql).all(...args) as T[];
  }

  private run(sql: string, ...args: unknown[]): number {
    return this.statement(sql).run(...args).changes;
  }

  // ---- settings ----

  getSetting(name: SettingName): string | null {
    return this.get<{ value: string }>("SELECT value FROM settings WHERE name = ?", name)?.value ?? null;
  }

  setSetting(name: SettingName, value: string): void {
    this.run("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, value);
  }

  /** The meta table (schema 1): the master-key check value. */
  initMeta(name: string, value: Uint8Array): Uint8Array {
    this.run("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", name, value);
    return this.get<{ value: Uint8Array }>("SELECT value FROM meta WHERE name = ?", name)!.value;
  }

  // ---- customers and identities ----

  forgetExpired(now: number): number {
    this.run(
      `UPDATE activation_sessions SET secrets = NULL WHERE secrets IS NOT NULL
         AND issue_id IN (SELECT issue_id FROM issues WHERE state = 'pending' AND expires_at <= ?)`,
      now,
    );
    return this.run(
      "UPDATE issues SET activation_key = NULL, pending_seed = NULL WHERE state = 'pending' AND expires_at <= ? AND (activation_key IS NOT NULL OR pending_seed IS NOT NULL)",
      now,
    );
  }

  private nextCustomerNumber(): string | null {
    // Zero-padded to 7 digits, so the text order is the number order (and the UNIQUE index answers max()).
    const row = this.get<{ n: string | null }>("SELECT max(customer_number) AS n FROM customers");
    const next = Number(row?.n ?? 0) + 1;
    return next > 9_999_999 ? null : String(next).padStart(7, "0");
  }

  insertCustomer(at: number, customerNumber?: string): CustomerRow | null {
    const number = customerNumber ?? this.nextCustomerNumber();
    if (number === null) return null;
    return (
      this.get<CustomerRow>(
        "INSERT INTO customers (customer_number, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING *",
        number,
        at,
      ) ?? null
    );
  }

  customerOf(userId: string): CustomerRow | undefined {
    return this.get<CustomerRow>(
      `SELECT c.* FROM customers c WHERE c.customer_id = coalesce(
         (SELECT customer_id FROM tokens WHERE user_id = @id),
         (SELECT customer_id FROM issues WHERE user_id = @id ORDER BY issue_id DESC LIMIT 1),
         (SELECT customer_id FROM customers WHERE legacy_user_id = @id))`,
      { id: userId },
    );
  }

  customerByNumber(customerNumber: string): CustomerRow | undefined {
    return this.get<CustomerRow>("SELECT * FROM customers WHERE customer_number = ?", customerNumber);
  }

  assignCustomerNumber(customerId: number): string {
    const number = this.nextCustomerNumber();
    if (number === null) throw new Error("every 7-digit customer number is taken");
    this.run("UPDATE customers SET customer_number = ? WHERE customer_id = ? AND customer_number IS NULL", number, customerId);
    return this.get<{ customer_number: string }>("SELECT customer_number FROM customers WHERE customer_id = ?", customerId)!
      .customer_number;
  }

  nextIssueNumber(customerId: number): number {
    return this.get<{ issues_made: number }>(
      "UPDATE customers SET issues_made = issues_made + 1 WHERE customer_id = ? RETURNING issues_made",
      customerId,
    )!.issues_made;
  }

  raiseIssueNumber(customerId: number, atLeast: number): void {
    this.run("UPDATE customers SET issues_made = max(issues_made, ?) WHERE customer_id = ?", atLeast, customerId);
  }

  userIdTaken(userId: string): boolean {
    return (
      this.get(
        "SELECT 1 FROM issues WHERE user_id = @id UNION ALL SELECT 1 FROM tokens WHERE user_id = @id UNION ALL SELECT 1 FROM customers WHERE legacy_user_id = @id LIMIT 1",
        { id: userId },
      ) !== undefined
    );
  }

  // ---- issues ----

  insertIssue(issue: NewIssue): number {
    return this.get<{ issue_id: number }>(
      `INSERT INTO issues (service_id, user_id, customer_id, issue_number, mail, created_at, expires_at, token_expires_at, activation_key, algorithm, digits, period, label)
       VALUES (@service_id, @user_id, @customer_id, @issue_number, @mail, @created_at, @expires_at, @token_expires_at, @activation_key, @algorithm, @digits, @period, @label)
       RETURNING issue_id`,
      issue,
    )!.issue_id;
  }

  issueFor(serviceId: string, userId: string): IssueRow | undefined {
    return this.get<IssueRow>("SELECT * FROM issues WHERE service_id = ? AND user_id = ?", serviceId, userId);
  }

  latestIssue(userId: string): IssueRow | undefined {
    return this.get<IssueRow>("SELECT * FROM issues WHERE user_id = ? ORDER BY issue_id DESC LIMIT 1", userId);
  }

  pendingIssuesOf(customerId: number): IssueRow[] {
    return this.all<IssueRow>("SELECT * FROM issues WHERE customer_id = ? AND state = 'pending' ORDER BY issue_id", customerId);
  }

  countIssueFailure(issueId: number): number {
    return this.get<{ failed_attempts: number }>(
      "UPDATE issues SET failed_attempts = failed_attempts + 1 WHERE issue_id = ? RETURNING failed_attempts",
      issueId,
    )!.failed_attempts;
  }

  uncountIssueFailure(issueId: number): void {
    this.run("UPDATE issues SET failed_attempts = max(failed_attempts - 1, 0) WHERE issue_id = ?", issueId);
  }

  voidIssue(issueId: number, reason: string): void {
    this.run(
      "UPDATE issues SET state = 'void', void_reason = ?, activation_key = NULL, pending_seed = NULL WHERE issue_id = ? AND state = 'pending'",
      reason,
      issueId,
    );
    this.run("DELETE FROM activation_sessions WHERE issue_id = ?", issueId);
  }

  getActivationSession(issueId: number, sid: Uint8Array): ActivationSessionRow | undefined {
    return this.get<ActivationSessionRow>("SELECT * FROM activation_sessions WHERE issue_id = ? AND sid = ?", issueId, sid);
  }

  insertActivationSession(session: Omit<ActivationSessionRow, "confirmed_at">): boolean {
    return (
      this.run(
        `INSERT INTO activation_sessions (issue_id, sid, request_hash, serial, response, secrets, answered_at)
       VALUES (@issue_id, @sid, @request_hash, @serial, @response, @secrets, @answered_at) ON CONFLICT DO NOTHING`,
        session,
      ) === 1
    );
  }

  confirmActivationSession(issueId: number, sid: Uint8Array, at: number): void {
    this.run("UPDATE activation_sessions SET confirmed_at = ? WHERE issue_id = ? AND sid = ?", at, issueId, sid);
  }

  setPendingToken(issueId: number, serial: string, sealedSeed: Uint8Array, at: number): void {
    this.run("UPDATE issues SET pending_serial = ?, pending_seed = ?, pending_at = ? WHERE issue_id = ?", serial, sealedSeed, at, issueId);
  }

  completeIssue(issueId: number, at: number): void {
    this.run(
      "UPDATE issues SET state = 'completed', completed_at = ?, activation_key = NULL, pending_seed = NULL WHERE issue_id = ?",
      at,
      issueId,
    );
    this.run("DELETE FROM activation_sessions WHERE issue_id = ?", issueId);
  }

  // ---- tokens ----

  getToken(userId: string): TokenRow | undefined {
    return this.get<TokenRow>(`SELECT ${ROW_COLUMNS_TOKEN} FROM tokens WHERE user_id = ?`, userId);
  }

  tokenOfCustomer(customerId: number): TokenRow | undefined {
    return this.get<TokenRow>(`SELECT ${ROW_COLUMNS_TOKEN} FROM tokens WHERE customer_id = ?`, customerId);
  }

  replaceToken(token: NewToken): void {
    this.run("DELETE FROM tokens WHERE customer_id = ?", token.customer_id);
    this.run(
      `INSERT INTO tokens (user_id, customer_id, issue_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, activated_at, expires_at)
       VALUES (@user_id, @customer_id, @issue_id, @service_id, @serial, @seed, @algorithm, @digits, @period, @label, @drift_steps, @last_step, @activated_at, @expires_at)`,
      token,
    );
  }

  recordTokenSuccess(userId: string, driftSteps: number, lastStep: number, at: number): void {
    this.run(
      "UPDATE tokens SET drift_steps = ?, last_step = ?, consecutive_failures = 0, next_check_at = 0, last_success_at = ? WHERE user_id = ?",
      driftSteps,
      lastStep,
      at,
      userId,
    );
  }

  recordTokenFailure(userId: string, threshold: number, nextCheckAt: number): { failures: number; locked: boolean } {
    const row = this.get<{ consecutive_failures: number; locked: number }>(
      `UPDATE tokens SET consecutive_failures = consecutive_failures + 1,
         locked = CASE WHEN consecutive_failures + 1 >= ? THEN 1 ELSE locked END,
         next_check_at = ?
       WHERE user_id = ? RETURNING consecutive_failures, locked`,
      threshold,
      nextCheckAt,
      userId,
    )!;
    return { failures: row.consecutive_failures, locked: row.locked === 1 };
  }

  unlockToken(userId: string): void {
    this.run("UPDATE tokens SET consecutive_failures = 0, locked = 0, next_check_at = 0 WHERE user_id = ?", userId);
  }

  setTokenState(userId: string, state: TokenState): void {
    this.run("UPDATE tokens SET state = ? WHERE user_id = ?", state, userId);
  }

  listTokens(options: { afterUserId?: string; limit: number; expiringBefore?: number }): TokenRow[] {
    if (options.expiringBefore !== undefined) {
      return this.all<TokenRow>(
        `SELECT ${ROW_COLUMNS_TOKEN} FROM tokens WHERE state <> 'revoked' AND expires_at < ? AND user_id > ? ORDER BY user_id LIMIT ?`,
        options.expiringBefore,
        options.afterUserId ?? "",
        options.limit,
      );
    }
    return this.all<TokenRow>(
      `SELECT ${ROW_COLUMNS_TOKEN} FROM tokens WHERE user_id > ? ORDER BY user_id LIMIT ?`,
      options.afterUserId ?? "",
      options.limit,
    );
  }

  countTokens(): Record<TokenState | "locked", number> {
    const counts = { active: 0, suspended: 0, revoked: 0, locked: 0 };
    for (const row of this.all<{ state: TokenState; n: number; locked: number }>(
      "SELECT state, count(*) AS n, sum(locked) AS locked FROM tokens GROUP BY state",
    )) {
      counts[row.state] = row.n;
      if (row.state !== "revoked") counts.locked += row.locked;
    }
    return counts;
  }

  // ---- the audit trail ----

  setAuditKey(key: Uint8Array): void {
    this.auditKey = key;
    // Rows from before the trail was chained (schema 1) are chained now, in id order, once.
    this.immediate(() => {
      const unchained = this.all<EventRow>("SELECT * FROM events WHERE mac IS NULL ORDER BY id");
      for (const row of unchained) {
        const previous = this.get<{ mac: Uint8Array | null }>("SELECT mac FROM events WHERE id < ? ORDER BY id DESC LIMIT 1", row.id);
        this.run("UPDATE events SET mac = ? WHERE id = ?", chainMac(key, previous?.mac ?? null, row), row.id);
      }
    });
  }

  appendEvent(event: NewEvent): void {
    if (this.auditKey === null) throw new Error("the audit key is not set: open the bank with Bank.open");
    const previous = this.get<{ mac: Uint8Array | null }>("SELECT mac FROM events ORDER BY id DESC LIMIT 1");
    const { id } = this.get<{ id: number }>(
      "INSERT INTO events (at, kind, service_id, user_id, actor, detail) VALUES (@at, @kind, @service_id, @user_id, @actor, @detail) RETURNING id",
      event,
    )!;
    this.run("UPDATE events SET mac = ? WHERE id = ?", chainMac(this.auditKey, previous?.mac ?? null, { ...event, id }), id);
  }

  events(afterId: number, limit: number): EventRow[] {
    return this.all<EventRow>("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", afterId, limit);
  }

  eventsOf(userId: string, limit: number): EventRow[] {
    return this.all<EventRow>("SELECT * FROM events WHERE user_id = ? ORDER BY id DESC LIMIT ?", userId, limit);
  }

  // ---- API keys ----

  insertApiKey(key: ApiKeyRow): void {
    this.run(
      "INSERT INTO api_keys (key_id, name, scope, secret_hash, created_at, revoked_at) VALUES (@key_id, @name, @scope, @secret_hash, @created_at, @revoked_at)",
      key,
    );
  }

  revokeApiKey(keyId: string, at: number): boolean {
    return this.run("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", at, keyId) === 1;
  }

  getApiKey(keyId: string): ApiKeyRow | undefined {
    return this.get<ApiKeyRow>("SELECT * FROM api_keys WHERE key_id = ?", keyId);
  }

  listApiKeys(): ApiKeyRow[] {
    return this.all<ApiKeyRow>("SELECT * FROM api_keys ORDER BY created_at, key_id");
  }
}

/** The engine's operations a store may call by name (the worker protocol carries these names). */
export const ENGINE_OPERATIONS = [
  "getSetting",
  "setSetting",
  "initMeta",
  "forgetExpired",
  "insertCustomer",
  "customerOf",
  "customerByNumber",
  "assignCustomerNumber",
  "nextIssueNumber",
  "raiseIssueNumber",
  "userIdTaken",
  "insertIssue",
  "issueFor",
  "latestIssue",
  "pendingIssuesOf",
  "countIssueFailure",
  "uncountIssueFailure",
  "voidIssue",
  "getActivationSession",
  "insertActivationSession",
  "confirmActivationSession",
  "setPendingToken",
  "completeIssue",
  "getToken",
  "tokenOfCustomer",
  "replaceToken",
  "recordTokenSuccess",
  "recordTokenFailure",
  "unlockToken",
  "setTokenState",
  "listTokens",
  "countTokens",
  "appendEvent",
  "events",
  "eventsOf",
  "insertApiKey",
  "revokeApiKey",
  "getApiKey",
  "listApiKeys",
  "setAuditKey",
] as const;
export type EngineOperation = (typeof ENGINE_OPERATIONS)[number];

/** Operations whose result nobody waits for inside a transaction: sent with the next message (fewer round trips to the worker). */
export const DEFERRABLE_OPERATIONS: ReadonlySet<string> = new Set<EngineOperation>([
  "setSetting",
  "raiseIssueNumber",
  "uncountIssueFailure",
  "voidIssue",
  "confirmActivationSession",
  "setPendingToken",
  "completeIssue",
  "replaceToken",
  "recordTokenSuccess",
  "unlockToken",
  "setTokenState",
  "appendEvent",
  "insertApiKey",
]);

/** Runs one named operation. */
export function runOperation(engine: SqliteEngine, name: string, args: unknown[]): unknown {
  if (!(ENGINE_OPERATIONS as readonly string[]).includes(name)) throw new Error(`unknown store operation ${name}`);
  return (engine[name as EngineOperation] as (...a: unknown[]) => unknown)(...args);
}

function migrate(db: Database, path: string, mayCreate: boolean): void {
  const apply = db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
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
