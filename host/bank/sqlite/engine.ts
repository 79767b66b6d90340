// The SQLite store's engine: every statement the bank runs, all synchronous, on one better-sqlite3
// connection (connection.ts: the file checks, modes, migrations and transactions). It runs on the
// caller's thread (the CLI) or inside a worker thread (`bank serve`: host/bank/sqlite/worker.ts),
// behind the asynchronous SqliteStore (store.ts).
import { randomBytes } from "node:crypto";
import { type SealedRow, sealedQueries, sealedRecord } from "../sealed-records.js";
import { chainMac, vouchLegacy, writerProblem } from "../audit.js";
import type {
  ActivationSessionRow,
  AuditAlarm,
  AuditHead,
  AuditKeys,
  ApiKeyRow,
  CustomerLoginRow,
  TransactionRow,
  CustomerRow,
  EventRow,
  IssueRow,
  NewCustomerLogin,
  NewEvent,
  NewIssue,
  NewToken,
  SealedRecord,
  SettingName,
  TokenRow,
  VerifiableToken,
  TokenState,
} from "../store.js";
import { VERIFIABLE_TOKEN_COLUMNS } from "../store.js";
import { type Database, type EngineOpenOptions, openDatabase, SqliteConnection, versionAtOpen } from "./connection.js";

export { BUSY_TIMEOUT_MS, type EngineOpenOptions, translateError } from "./connection.js";

const ROW_COLUMNS_TOKEN =
  "user_id, customer_id, issue_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, consecutive_failures, locked, next_check_at, state, activated_at, expires_at, last_success_at, issuer, manufacturer";

const VERIFIABLE_COLUMNS = VERIFIABLE_TOKEN_COLUMNS.join(", ");
const EVENT_COLUMNS = "at, kind, service_id, user_id, actor, detail, nonce, writer_mac";
const EVENT_VALUES = "@at, @kind, @service_id, @user_id, @actor, @detail, @nonce, @writer_mac";
const INSERT_EVENT = `INSERT INTO events (${EVENT_COLUMNS}) VALUES (${EVENT_VALUES}) RETURNING id`;
const INSERT_CHAINED_EVENT = `INSERT INTO events (id, ${EVENT_COLUMNS}, mac) VALUES (@id, ${EVENT_VALUES}, @mac)`;
const PREVIOUS_MAC = "SELECT mac FROM events WHERE id < ? ORDER BY id DESC LIMIT 1";

export class SqliteEngine extends SqliteConnection {
  private auditKeys: AuditKeys | null = null;

  private constructor(db: Database, location: string) {
    super(db, location);
  }

  /** Opens the database at `path` (":memory:" for a throw-away one) and brings its schema to SCHEMA_VERSION. */
  static open(path: string, options: EngineOpenOptions = {}): SqliteEngine {
    return new SqliteEngine(openDatabase(path, options), path);
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

  /** The columns a code check reads: fewer to copy across the worker boundary than the whole row. */
  verifiableToken(userId: string): VerifiableToken | undefined {
    return this.get<VerifiableToken>(`SELECT ${VERIFIABLE_COLUMNS} FROM tokens WHERE user_id = ?`, userId);
  }

  tokenOfCustomer(customerId: number): TokenRow | undefined {
    return this.get<TokenRow>(`SELECT ${ROW_COLUMNS_TOKEN} FROM tokens WHERE customer_id = ?`, customerId);
  }

  replaceToken(token: NewToken): void {
    this.run("DELETE FROM tokens WHERE customer_id = ?", token.customer_id);
    this.run(
      `INSERT INTO tokens (user_id, customer_id, issue_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, activated_at, expires_at, issuer, manufacturer)
       VALUES (@user_id, @customer_id, @issue_id, @service_id, @serial, @seed, @algorithm, @digits, @period, @label, @drift_steps, @last_step, @activated_at, @expires_at, @issuer, @manufacturer)`,
      { ...token, issuer: token.issuer ?? null, manufacturer: token.manufacturer ?? null },
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

  /**
   * The trail's keys. Once after migration 4, rows written before writer MACs get theirs as far as the
   * chain vouches for them (audit_legacy_upto); rows of a schema-1 database this process migrated were
   * never chained and are chained first. Nothing else is chained here: a row without a chain MAC is an
   * alarm (`bank audit verify`), never sealed into the history at open.
   */
  setAuditKeys(keys: AuditKeys): void {
    this.auditKeys = keys;
    this.immediate(() => {
      const marker = this.get<{ value: Uint8Array }>("SELECT value FROM meta WHERE name = 'audit_legacy_upto'");
      if (!marker) return;
      const upto = Number(Buffer.from(marker.value).toString("utf8"));
      const chainUnsealed = versionAtOpen(this.db) < 2;
      let previous: Uint8Array | null = null;
      for (let after = 0; ; ) {
        const page = this.all<EventRow>("SELECT * FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT 1000", after, upto);
        if (page.length === 0) break;
        const vouched = vouchLegacy(keys, previous, page, (n) => new Uint8Array(randomBytes(n)), chainUnsealed);
        for (const u of vouched.updates)
          this.run("UPDATE events SET mac = ?, nonce = ?, writer_mac = ? WHERE id = ?", u.mac, u.nonce, u.writer_mac, u.id);
        if (vouched.stopped) break;
        previous = vouched.previous;
        after = page[page.length - 1].id;
      }
      this.run("DELETE FROM meta WHERE name = 'audit_legacy_upto'");
    });
  }

  appendEvent(event: NewEvent): void {
    if (this.auditKeys === null) throw new Error("the audit keys are not set: open the bank with Bank.open");
    const problem = writerProblem(this.auditKeys.writer, event);
    if (problem) throw new Error(`refusing to chain an audit event: ${problem}`);
    // After an append of this transaction (no other writer since: the write lock) the next id is that
    // row's id + 1, AUTOINCREMENT's own choice: one INSERT with the MAC, not a read, an INSERT and an UPDATE.
    const last = this.appended;
    const id = last ? last.id + 1 : this.get<{ id: number }>(INSERT_EVENT, event)!.id;
    const previous = last ? last.mac : (this.get<{ mac: Uint8Array | null }>(PREVIOUS_MAC, id)?.mac ?? null);
    const mac = chainMac(this.auditKeys.chain, previous, { ...event, id });
    if (last) this.run(INSERT_CHAINED_EVENT, { ...event, id, mac });
    else this.run("UPDATE events SET mac = ? WHERE id = ?", mac, id);
    if (this.inTransaction) this.appended = { id, mac };
  }

  /** Sealed events up to `throughId`, never the newest sealed one (appendEvent chains to it). */
  pruneEvents(throughId: number): number {
    return this.run(
      "DELETE FROM events WHERE id <= ? AND id < (SELECT max(id) FROM events WHERE mac IS NOT NULL) AND mac IS NOT NULL",
      throughId,
    );
  }

  /** The oldest `at` after `afterId` (SQLite has no queue). */
  auditOldest(afterId: number): number | null {
    return this.get<{ at: number | null }>("SELECT min(at) AS at FROM events WHERE id > ?", afterId)?.at ?? null;
  }

  auditHead(): AuditHead | null {
    const row = this.get<{ id: number; mac: Uint8Array }>("SELECT id, mac FROM events WHERE mac IS NOT NULL ORDER BY id DESC LIMIT 1");
    return row ? { id: row.id, mac: Buffer.from(row.mac).toString("hex") } : null;
  }

  /** Events that repeat an earlier event's nonce (a copy of a row; the unique index was dropped to make it). */
  auditAlarms(): AuditAlarm[] {
    return this.all<{ id: number }>(
      "SELECT e.id FROM events e WHERE e.nonce IS NOT NULL AND EXISTS (SELECT 1 FROM events f WHERE f.nonce = e.nonce AND f.id < e.id) ORDER BY e.id LIMIT 100",
    ).map(({ id }) => ({ table: "events" as const, id, reason: "it repeats an earlier event's nonce: a copy of that event" }));
  }

  events(afterId: number, limit: number): EventRow[] {
    return this.all<EventRow>("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", afterId, limit);
  }

  eventsOf(userId: string, limit: number): EventRow[] {
    return this.all<EventRow>("SELECT * FROM events WHERE user_id = ? ORDER BY id DESC LIMIT ?", userId, limit);
  }

  // ---- customers' logins ----

  insertLogin(login: NewCustomerLogin): boolean {
    return (
      this.run(
        `INSERT INTO customer_logins (customer_id, login_id, password_hash, external_ref, created_at)
         VALUES (@customer_id, @login_id, @password_hash, @external_ref, @created_at) ON CONFLICT DO NOTHING`,
        login,
      ) === 1
    );
  }

  private loginWhere(where: string, value: string | number): CustomerLoginRow | undefined {
    return this.get<CustomerLoginRow>(
      `SELECT l.*, c.customer_number FROM customer_logins l JOIN customers c ON c.customer_id = l.customer_id WHERE ${where}`,
      value,
    );
  }

  loginByLoginId(loginId: string): CustomerLoginRow | undefined {
    return this.loginWhere("l.login_id = ?", loginId);
  }

  loginByReference(reference: string): CustomerLoginRow | undefined {
    return this.loginWhere("l.external_ref = ?", reference);
  }

  loginOfCustomer(customerId: number): CustomerLoginRow | undefined {
    return this.loginWhere("l.customer_id = ?", customerId);
  }

  recordLoginFailure(customerId: number, threshold: number, nextCheckAt: number): { failures: number; locked: boolean } {
    const row = this.get<{ consecutive_failures: number; locked: number }>(
      `UPDATE customer_logins SET consecutive_failures = consecutive_failures + 1,
         locked = CASE WHEN consecutive_failures + 1 >= @threshold THEN 1 ELSE locked END, next_check_at = @next
       WHERE customer_id = @id RETURNING consecutive_failures, locked`,
      { id: customerId, threshold, next: nextCheckAt },
    )!;
    return { failures: row.consecutive_failures, locked: row.locked === 1 };
  }

  recordLoginSuccess(customerId: number, at: number): void {
    this.run(
      "UPDATE customer_logins SET consecutive_failures = 0, next_check_at = 0, last_login_at = ? WHERE customer_id = ?",
      at,
      customerId,
    );
  }

  unlockLogin(customerId: number): void {
    this.run("UPDATE customer_logins SET consecutive_failures = 0, locked = 0, next_check_at = 0 WHERE customer_id = ?", customerId);
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
  insertTransaction(row: TransactionRow): void {
    this.run(
      "INSERT INTO transactions (transaction_id, user_id, payload, digest, reference, created_at, expires_at, state, settled_at) VALUES (@transaction_id, @user_id, @payload, @digest, @reference, @created_at, @expires_at, @state, @settled_at)",
      row,
    );
  }

  getTransaction(transactionId: string): TransactionRow | undefined {
    return this.get<TransactionRow>("SELECT * FROM transactions WHERE transaction_id = ?", transactionId);
  }

  settleTransaction(transactionId: string, state: "accepted" | "refused", at: number): boolean {
    return (
      this.run(
        "UPDATE transactions SET state = ?, settled_at = ? WHERE transaction_id = ? AND state = 'pending'",
        state,
        at,
        transactionId,
      ) === 1
    );
  }

  sealedRecords(): SealedRecord[] {
    return sealedQueries(false)
      .flatMap((sql) => this.all<SealedRow>(sql))
      .map(sealedRecord);
  }

  replaceSealed(record: SealedRecord, value: Uint8Array): void {
    const changed = (() => {
      switch (record.kind) {
        case "seed":
          return this.run("UPDATE tokens SET seed = ? WHERE user_id = ? AND serial = ?", value, record.userId, record.serial);
        case "activation-password":
          return this.run("UPDATE issues SET activation_key = ? WHERE issue_id = ?", value, record.issueId);
        case "pending-seed":
          return this.run("UPDATE issues SET pending_seed = ? WHERE issue_id = ?", value, record.issueId);
        case "activation-session":
          return this.run("UPDATE activation_sessions SET secrets = ? WHERE issue_id = ? AND sid = ?", value, record.issueId, record.sid);
        case "meta":
          return this.run("UPDATE meta SET value = ? WHERE name = ?", value, record.name);
      }
    })();
    if (changed !== 1) throw new Error(`re-sealing ${record.kind} changed ${changed} rows`);
  }

  getApiKey(keyId: string): ApiKeyRow | undefined {
    return this.get<ApiKeyRow>("SELECT * FROM api_keys WHERE key_id = ?", keyId);
  }

  listApiKeys(): ApiKeyRow[] {
    return this.all<ApiKeyRow>("SELECT * FROM api_keys ORDER BY created_at, key_id");
  }
}
