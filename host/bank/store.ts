// The bank's persistent state in SQLite (better-sqlite3): schema, migrations, and every statement the
// bank runs. WAL journal so readers never block the writer; busy_timeout so a second process waits for
// the write lock instead of failing; the read-check-write of a verification runs in one
// BEGIN IMMEDIATE transaction (Bank uses `immediate()`), which is what keeps two processes from both
// accepting one code. Secrets are stored only sealed (host/bank/crypto.ts); the event log holds none.
import Database from "better-sqlite3";
import type { Algorithm } from "../otp.js";

/** Milliseconds a connection waits for another's write lock before giving up with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Ordered migrations; PRAGMA user_version holds how many have run. Append only: a database written
 * by version N is brought to the newest by running migrations N+1.. in one transaction.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
  ) STRICT;

  -- One row per customer: the User ID stays with the customer across re-set-ups.
  CREATE TABLE users (
    user_id    TEXT PRIMARY KEY CHECK (length(user_id) = 16 AND user_id NOT GLOB '*[^0-9A-Z]*'),
    created_at INTEGER NOT NULL
  ) STRICT;

  -- One row per press of "issue token": a fresh Service ID each time.
  CREATE TABLE issues (
    service_id        TEXT PRIMARY KEY CHECK (length(service_id) = 8 AND service_id NOT GLOB '*[^0-9]*'),
    user_id           TEXT NOT NULL REFERENCES users(user_id),
    mail              TEXT NOT NULL,
    created_at        INTEGER NOT NULL,              -- unix seconds
    expires_at        INTEGER NOT NULL,              -- unix seconds; activation refused from then on
    failed_attempts   INTEGER NOT NULL DEFAULT 0,    -- counted before the tag check (docs/activation.md rule 3)
    state             TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'void', 'completed')),
    void_reason       TEXT,                          -- 'failures' | 'superseded' | 'replaced'
    activation_key    BLOB,                          -- K_AC sealed; NULL once the issue is completed or void
    algorithm         TEXT NOT NULL,                 -- OTP parameters the token will be given
    digits            INTEGER NOT NULL,
    period            INTEGER NOT NULL,
    label             TEXT NOT NULL,
    pending_serial    TEXT,                          -- the activated, not yet confirmed token: 16 hex digits
    pending_seed      BLOB,                          -- its seed, sealed
    pending_at        INTEGER,
    completed_at      INTEGER,
    UNIQUE (service_id, user_id)
  ) STRICT;
  CREATE INDEX issues_by_user ON issues(user_id, state);

  -- Token nonces of requests that passed the tag check, per issue (rule 4: never accepted twice).
  CREATE TABLE issue_nonces (
    service_id TEXT NOT NULL REFERENCES issues(service_id) ON DELETE CASCADE,
    nonce      BLOB NOT NULL,
    seen_at    INTEGER NOT NULL,
    PRIMARY KEY (service_id, nonce)
  ) STRICT, WITHOUT ROWID;

  -- The active token of each user: at most one; a confirmed re-set-up replaces the row.
  CREATE TABLE tokens (
    user_id              TEXT PRIMARY KEY REFERENCES users(user_id),
    service_id           TEXT NOT NULL UNIQUE REFERENCES issues(service_id),
    serial               TEXT NOT NULL,             -- 16 hex digits (u64)
    seed                 BLOB NOT NULL,             -- sealed
    algorithm            TEXT NOT NULL,
    digits               INTEGER NOT NULL,
    period               INTEGER NOT NULL,
    label                TEXT NOT NULL,
    drift_steps          INTEGER NOT NULL DEFAULT 0, -- token step minus bank step at the last success
    last_step            INTEGER NOT NULL,          -- highest step ever accepted; nothing at or below it again
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    locked               INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    activated_at         INTEGER NOT NULL,
    last_success_at      INTEGER
  ) STRICT;

  -- What happened, for audit: never a password, key, seed or code.
  CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    service_id TEXT,
    user_id    TEXT,
    detail     TEXT
  ) STRICT;
  CREATE INDEX events_by_user ON events(user_id, id);
  `,
  // 2: activation protocol v2, CPace (docs/activation.md). issues.activation_key now holds the sealed
  // activation password (CPace's PRS). Each answered request keeps its response, answered again when the
  // same request comes back, and, sealed, the token's expected confirmation and the seed until the token
  // confirms. Issues still pending from v1 cannot be activated by a v2 token: they are void. The v1
  // nonce table goes (a session id answers for it).
  `
  CREATE TABLE activation_sessions (
    service_id   TEXT NOT NULL REFERENCES issues(service_id),
    sid          BLOB NOT NULL,                  -- CPace session id chosen by the token (message 1)
    request_hash BLOB NOT NULL,                  -- SHA-256 of message 1
    serial       TEXT NOT NULL,                  -- the token's, 16 hex digits
    response     BLOB NOT NULL,                  -- message 2 as sent (public)
    secrets      BLOB,                           -- sealed: expected Ta || seed; NULL once the issue expired
    answered_at  INTEGER NOT NULL,
    confirmed_at INTEGER,                        -- when the token's confirmation (message 3) matched
    PRIMARY KEY (service_id, sid)
  ) STRICT, WITHOUT ROWID;
  UPDATE issues SET state = 'void', void_reason = 'protocol-v1', activation_key = NULL, pending_seed = NULL WHERE state = 'pending';
  DROP TABLE issue_nonces;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export type IssueState = "pending" | "void" | "completed";

export interface IssueRow {
  service_id: string;
  user_id: string;
  mail: string;
  created_at: number;
  expires_at: number;
  failed_attempts: number;
  state: IssueState;
  void_reason: string | null;
  activation_key: Uint8Array | null;
  algorithm: Algorithm;
  digits: number;
  period: number;
  label: string;
  pending_serial: string | null;
  pending_seed: Uint8Array | null;
  pending_at: number | null;
  completed_at: number | null;
}

export interface TokenRow {
  user_id: string;
  service_id: string;
  serial: string;
  seed: Uint8Array;
  algorithm: Algorithm;
  digits: number;
  period: number;
  label: string;
  drift_steps: number;
  last_step: number;
  consecutive_failures: number;
  locked: number;
  activated_at: number;
  last_success_at: number | null;
}

export interface EventRow {
  id: number;
  at: number;
  kind: string;
  service_id: string | null;
  user_id: string | null;
  detail: string | null;
}

/** One answered activation request (message 1) of an issue. */
export interface ActivationSessionRow {
  service_id: string;
  sid: Uint8Array;
  request_hash: Uint8Array;
  serial: string;
  response: Uint8Array;
  secrets: Uint8Array | null;
  answered_at: number;
  confirmed_at: number | null;
}

export type NewIssue = Pick<IssueRow, "service_id" | "user_id" | "mail" | "created_at" | "expires_at" | "activation_key" | "algorithm" | "digits" | "period" | "label">;

/**
 * Puts the database in WAL mode (persistent in the file, so usually already set). Changing the
 * journal mode does not wait on the busy handler: when another process holds the database at that
 * moment SQLite answers SQLITE_BUSY at once, so retry for up to BUSY_TIMEOUT_MS.
 */
function useWal(db: Database.Database): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      if (db.pragma("journal_mode", { simple: true }) !== "wal") db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

export class BankStore {
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** Opens (creating if needed) the database at `path` and brings its schema to SCHEMA_VERSION. */
  static open(path: string): BankStore {
    const db = new Database(path);
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      useWal(db);
      // FULL: a counted failure survives a power cut as well as a crash (WAL's NORMAL only survives a crash).
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new BankStore(db);
  }

  get schemaVersion(): number {
    return this.db.pragma("user_version", { simple: true }) as number;
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one BEGIN IMMEDIATE transaction: the write lock is taken before the first read. */
  immediate<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  // meta

  getMeta(name: string): Uint8Array | undefined {
    const row = this.statement("SELECT value FROM meta WHERE name = ?").get(name) as { value: Uint8Array } | undefined;
    return row?.value;
  }

  /** Sets `name` unless it is already set; returns the value now stored. */
  initMeta(name: string, value: Uint8Array): Uint8Array {
    this.statement("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").run(name, value);
    return this.getMeta(name)!;
  }

  // users and identities

  userExists(userId: string): boolean {
    return this.statement("SELECT 1 FROM users WHERE user_id = ?").get(userId) !== undefined;
  }

  /** Inserts a new user; false when the User ID is taken. */
  insertUser(userId: string, at: number): boolean {
    return this.statement("INSERT INTO users (user_id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING").run(userId, at).changes === 1;
  }

  serviceIdTaken(serviceId: string): boolean {
    return this.statement("SELECT 1 FROM issues WHERE service_id = ?").get(serviceId) !== undefined;
  }

  // issues

  insertIssue(issue: NewIssue): void {
    this.statement(
      `INSERT INTO issues (service_id, user_id, mail, created_at, expires_at, activation_key, algorithm, digits, period, label)
       VALUES (@service_id, @user_id, @mail, @created_at, @expires_at, @activation_key, @algorithm, @digits, @period, @label)`,
    ).run(issue);
  }

  getIssue(serviceId: string, userId: string): IssueRow | undefined {
    return this.statement("SELECT * FROM issues WHERE service_id = ? AND user_id = ?").get(serviceId, userId) as IssueRow | undefined;
  }

  pendingIssuesOf(userId: string): IssueRow[] {
    return this.statement("SELECT * FROM issues WHERE user_id = ? AND state = 'pending' ORDER BY created_at").all(userId) as IssueRow[];
  }

  /** failed_attempts + 1; returns the new count. */
  countIssueFailure(serviceId: string): number {
    const row = this.statement("UPDATE issues SET failed_attempts = failed_attempts + 1 WHERE service_id = ? RETURNING failed_attempts").get(serviceId) as {
      failed_attempts: number;
    };
    return row.failed_attempts;
  }

  /** Takes back one counted attempt (a request whose tag verified). */
  uncountIssueFailure(serviceId: string): void {
    this.statement("UPDATE issues SET failed_attempts = max(failed_attempts - 1, 0) WHERE service_id = ?").run(serviceId);
  }

  /** Voids a pending issue and forgets its secrets. */
  voidIssue(serviceId: string, reason: string): void {
    this.statement(
      "UPDATE issues SET state = 'void', void_reason = ?, activation_key = NULL, pending_seed = NULL WHERE service_id = ? AND state = 'pending'",
    ).run(reason, serviceId);
    this.statement("DELETE FROM activation_sessions WHERE service_id = ?").run(serviceId);
  }

  /**
   * Forgets the secrets of every pending issue that has expired by `now` (its sealed activation
   * password, its runs' sealed secrets and its pending seed), keeping the rows so a late request is
   * still told "expired". Returns how many issues.
   */
  forgetExpired(now: number): number {
    this.statement(
      `UPDATE activation_sessions SET secrets = NULL WHERE secrets IS NOT NULL
         AND service_id IN (SELECT service_id FROM issues WHERE state = 'pending' AND expires_at <= ?)`,
    ).run(now);
    return this.statement(
      "UPDATE issues SET activation_key = NULL, pending_seed = NULL WHERE state = 'pending' AND expires_at <= ? AND (activation_key IS NOT NULL OR pending_seed IS NOT NULL)",
    ).run(now).changes;
  }

  getActivationSession(serviceId: string, sid: Uint8Array): ActivationSessionRow | undefined {
    return this.statement("SELECT * FROM activation_sessions WHERE service_id = ? AND sid = ?").get(serviceId, sid) as ActivationSessionRow | undefined;
  }

  /** Records an answered request; false when its session id was already there (a racing copy). */
  insertActivationSession(session: Omit<ActivationSessionRow, "confirmed_at">): boolean {
    return this.statement(
      `INSERT INTO activation_sessions (service_id, sid, request_hash, serial, response, secrets, answered_at)
       VALUES (@service_id, @sid, @request_hash, @serial, @response, @secrets, @answered_at) ON CONFLICT DO NOTHING`,
    ).run(session).changes === 1;
  }

  confirmActivationSession(serviceId: string, sid: Uint8Array, at: number): void {
    this.statement("UPDATE activation_sessions SET confirmed_at = ? WHERE service_id = ? AND sid = ?").run(at, serviceId, sid);
  }

  setPendingToken(serviceId: string, serial: string, sealedSeed: Uint8Array, at: number): void {
    this.statement("UPDATE issues SET pending_serial = ?, pending_seed = ?, pending_at = ? WHERE service_id = ?").run(serial, sealedSeed, at, serviceId);
  }

  completeIssue(serviceId: string, at: number): void {
    this.statement(
      "UPDATE issues SET state = 'completed', completed_at = ?, activation_key = NULL, pending_seed = NULL WHERE service_id = ?",
    ).run(at, serviceId);
    this.statement("DELETE FROM activation_sessions WHERE service_id = ?").run(serviceId);
  }

  // active tokens

  getToken(userId: string): TokenRow | undefined {
    return this.statement("SELECT * FROM tokens WHERE user_id = ?").get(userId) as TokenRow | undefined;
  }

  /** Makes `token` the user's active token, replacing any previous one. */
  replaceToken(token: Omit<TokenRow, "consecutive_failures" | "locked" | "last_success_at">): void {
    this.statement("DELETE FROM tokens WHERE user_id = ?").run(token.user_id);
    this.statement(
      `INSERT INTO tokens (user_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, activated_at)
       VALUES (@user_id, @service_id, @serial, @seed, @algorithm, @digits, @period, @label, @drift_steps, @last_step, @activated_at)`,
    ).run(token);
  }

  recordTokenSuccess(userId: string, driftSteps: number, lastStep: number, at: number): void {
    this.statement(
      "UPDATE tokens SET drift_steps = ?, last_step = ?, consecutive_failures = 0, last_success_at = ? WHERE user_id = ?",
    ).run(driftSteps, lastStep, at, userId);
  }

  /** consecutive_failures + 1, locking at `threshold`; returns the new count and whether the token is now locked. */
  recordTokenFailure(userId: string, threshold: number): { failures: number; locked: boolean } {
    const row = this.statement(
      `UPDATE tokens SET consecutive_failures = consecutive_failures + 1,
         locked = CASE WHEN consecutive_failures + 1 >= ? THEN 1 ELSE locked END
       WHERE user_id = ? RETURNING consecutive_failures, locked`,
    ).get(threshold, userId) as { consecutive_failures: number; locked: number };
    return { failures: row.consecutive_failures, locked: row.locked === 1 };
  }

  unlockToken(userId: string): void {
    this.statement("UPDATE tokens SET consecutive_failures = 0, locked = 0 WHERE user_id = ?").run(userId);
  }

  // audit log

  addEvent(at: number, kind: string, serviceId: string | null, userId: string | null, detail?: string): void {
    this.statement("INSERT INTO events (at, kind, service_id, user_id, detail) VALUES (?, ?, ?, ?, ?)").run(at, kind, serviceId, userId, detail ?? null);
  }

  eventsOf(userId: string, limit = 20): EventRow[] {
    return this.statement("SELECT * FROM events WHERE user_id = ? ORDER BY id DESC LIMIT ?").all(userId, limit) as EventRow[];
  }
}

function migrate(db: Database.Database): void {
  const apply = db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`the bank database has schema version ${version}, newer than this program's ${MIGRATIONS.length}: upgrade otp-token`);
    }
    for (let next = version; next < MIGRATIONS.length; next++) db.exec(MIGRATIONS[next]);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  });
  // IMMEDIATE: two processes opening a new file at once do not both run the migrations.
  apply.immediate();
}
