// One PostgreSQL transaction's statements (StoreTx, host/bank/store.ts) on its connection, each a
// named (prepared once per connection) statement whose values travel as parameters, pipelined on the
// wire (node-postgres's pipeline mode, connection.ts) so that several ride one write. The transaction
// runner (transactions.ts) opens, commits and retries it.
import { randomBytes } from "node:crypto";
import type Pg from "pg";
import type { PoolClient } from "pg";
import type {
  ActivationSessionRow,
  ApiKeyRow,
  CustomerLoginRow,
  TransactionRow,
  CustomerRow,
  IssueRow,
  NewCustomerLogin,
  NewEvent,
  NewIssue,
  NewToken,
  SealedRecord,
  SettingName,
  StoreTx,
  TokenRow,
  TokenState,
  VerifiableToken,
} from "../store.js";
import { AUDIT_NONCE_BYTES } from "../audit.js";
import { CUSTOMER_NUMBER_LOCK } from "./schema.js";
import {
  APPEND_EVENT,
  INSERT_COMMIT_ID,
  mergeHeld,
  pipelined,
  RECORD_TOKEN_FAILURE,
  RECORD_TOKEN_SUCCESS,
  type Statement,
  settle,
  statementName,
  VERIFIABLE_TOKEN,
} from "./statements.js";
import { type SealedRow, sealedQueries, sealedRecord } from "../sealed-records.js";

export const CUSTOMER_OF = `SELECT c.* FROM customers c WHERE c.customer_id = coalesce(
  (SELECT customer_id FROM tokens WHERE user_id = $1),
  (SELECT customer_id FROM issues WHERE user_id = $1 ORDER BY issue_id DESC LIMIT 1),
  (SELECT customer_id FROM customers WHERE legacy_user_id = $1))`;

export { statementName };

export const LOGIN_SELECT = "SELECT l.*, c.customer_number FROM customer_logins l JOIN customers c ON c.customer_id = l.customer_id";

/**
 * One transaction's statements on its connection; rows read to be changed are locked until commit.
 * BEGIN goes with the first statement sent; writes whose answer nobody awaits are held and go with the
 * next statement, or with COMMIT, in the same write. No value is ever part of a statement's text.
 *
 * The commit id (transactions.ts): what, looked up afterwards, says whether the transaction committed.
 * A transaction that records an audit event already writes 16 random bytes of its own in it: the
 * event's nonce (host/bank/audit.ts), unique in the trail (the sealer refuses a repeated one), in the
 * queue until sealed and then in `events` (the same transaction moves it). That nonce is its commit
 * id: no other row is written (a verification's COMMIT carries one statement fewer, and nothing is
 * pruned later). A transaction that records no event inserts a random id into commit_ids (migration
 * 3) in COMMIT's write, as before.
 */
export class PgTx implements StoreTx {
  /** Random, this attempt's own: inserted into commit_ids in the write that commits, unless an event's nonce serves (made when first asked for). */
  #randomId: Uint8Array | null = null;
  /** The nonce of the first event this attempt appended (its commit id then). */
  #eventNonce: Uint8Array | null = null;
  /** The server process running the transaction (node-postgres keeps it from BackendKeyData). */
  readonly backendPid: number | null;
  /** BEGIN has been handed to the connection. */
  private begun = false;
  private held: Statement[] = [];

  constructor(
    private readonly client: PoolClient,
    private readonly onAppend: () => void,
  ) {
    this.backendPid = (client as unknown as { processID?: number | null }).processID ?? null;
  }

  /**
   * Hands BEGIN (the first time), the held writes, `statements` and then `last` (a statement without
   * values) to the connection, pipelined, in one socket write (corked); their answers, in order.
   */
  private pipeline(statements: Statement[], last?: string): Promise<Pg.QueryResult>[] {
    const answers = pipelined(this.client, !this.begun, [...mergeHeld(this.held), ...statements], last);
    this.begun = true;
    this.held = [];
    return answers;
  }

  /** Sends the held writes and the statement (opening the transaction first); the statement's result. */
  private async send(text: string, values: readonly unknown[]): Promise<Pg.QueryResult> {
    const answers = await settle(this.pipeline([[text, values]]));
    return answers[answers.length - 1];
  }

  private hold(text: string, values: unknown[]): Promise<void> {
    this.held.push([text, values]);
    return Promise.resolve();
  }

  /** This attempt's commit id: the nonce of its first audit event, else the random id COMMIT's write inserts into commit_ids. */
  get commitId(): Uint8Array {
    if (this.#eventNonce) return this.#eventNonce;
    this.#randomId ??= new Uint8Array(randomBytes(16));
    return this.#randomId;
  }

  /** Whether the commit id is an event's nonce (looked up in the audit queue and trail) or a commit_ids row. */
  get commitIdIsNonce(): boolean {
    return this.#eventNonce !== null;
  }

  /** False when there was nothing to commit (nothing was sent). */
  async commit(): Promise<boolean> {
    if (!this.begun && this.held.length === 0) return false;
    const answers = await settle(this.pipeline(this.#eventNonce ? [] : [[INSERT_COMMIT_ID, [this.commitId]]], "COMMIT"));
    // COMMIT of a transaction that failed answers ROLLBACK; the failure itself was thrown above.
    if (answers[answers.length - 1].command !== "COMMIT") throw new Error("the transaction was rolled back at COMMIT");
    return true;
  }

  async rollback(): Promise<void> {
    this.held = [];
    if (this.begun) await this.client.query("ROLLBACK");
  }

  private async rows<T>(text: string, values: unknown[]): Promise<T[]> {
    return (await this.send(text, values)).rows as T[];
  }

  private async first<T>(text: string, values: unknown[]): Promise<T | undefined> {
    return (await this.rows<T>(text, values))[0];
  }

  private async count(text: string, values: unknown[]): Promise<number> {
    return (await this.send(text, values)).rowCount ?? 0;
  }

  async initMeta(name: string, value: Uint8Array): Promise<Uint8Array> {
    await this.count("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [name, value]);
    return (await this.first<{ value: Uint8Array }>("SELECT value FROM meta WHERE name = $1", [name]))!.value;
  }

  async getSetting(name: SettingName): Promise<string | null> {
    return (await this.first<{ value: string }>("SELECT value FROM settings WHERE name = $1", [name]))?.value ?? null;
  }

  async setSetting(name: SettingName, value: string): Promise<void> {
    await this.hold("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value", [
      name,
      value,
    ]);
  }

  async forgetExpired(now: number): Promise<number> {
    await this.hold(
      `UPDATE activation_sessions SET secrets = NULL WHERE secrets IS NOT NULL
         AND issue_id IN (SELECT issue_id FROM issues WHERE state = 'pending' AND expires_at <= $1)`,
      [now],
    );
    return this.count(
      "UPDATE issues SET activation_key = NULL, pending_seed = NULL WHERE state = 'pending' AND expires_at <= $1 AND (activation_key IS NOT NULL OR pending_seed IS NOT NULL)",
      [now],
    );
  }

  /** max + 1 under the customer-number lock (held to commit): two instances never compute the same number. */
  private async nextCustomerNumber(): Promise<string | null> {
    await this.count("SELECT pg_advisory_xact_lock($1)", [CUSTOMER_NUMBER_LOCK.toString()]);
    const row = await this.first<{ n: string | null }>("SELECT max(customer_number) AS n FROM customers", []);
    const next = Number(row?.n ?? 0) + 1;
    return next > 9_999_999 ? null : String(next).padStart(7, "0");
  }

  async insertCustomer(at: number, customerNumber?: string): Promise<CustomerRow | null> {
    const number = customerNumber ?? (await this.nextCustomerNumber());
    if (number === null) return null;
    return (
      (await this.first<CustomerRow>(
        "INSERT INTO customers (customer_number, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING *",
        [number, at],
      )) ?? null
    );
  }

  customerOf(userId: string): Promise<CustomerRow | undefined> {
    return this.first(`${CUSTOMER_OF} FOR UPDATE OF c`, [userId]);
  }

  customerByNumber(customerNumber: string): Promise<CustomerRow | undefined> {
    return this.first("SELECT * FROM customers WHERE customer_number = $1 FOR UPDATE", [customerNumber]);
  }

  async assignCustomerNumber(customerId: number): Promise<string> {
    const number = await this.nextCustomerNumber();
    if (number === null) throw new Error("every 7-digit customer number is taken");
    await this.count("UPDATE customers SET customer_number = $1 WHERE customer_id = $2 AND customer_number IS NULL", [number, customerId]);
    return (await this.first<{ customer_number: string }>("SELECT customer_number FROM customers WHERE customer_id = $1", [customerId]))!
      .customer_number;
  }

  async nextIssueNumber(customerId: number): Promise<number> {
    return (await this.first<{ issues_made: number }>(
      "UPDATE customers SET issues_made = issues_made + 1 WHERE customer_id = $1 RETURNING issues_made",
      [customerId],
    ))!.issues_made;
  }

  async raiseIssueNumber(customerId: number, atLeast: number): Promise<void> {
    await this.hold("UPDATE customers SET issues_made = greatest(issues_made, $1) WHERE customer_id = $2", [atLeast, customerId]);
  }

  async userIdTaken(userId: string): Promise<boolean> {
    const row = await this.first(
      "SELECT 1 FROM issues WHERE user_id = $1 UNION ALL SELECT 1 FROM tokens WHERE user_id = $1 UNION ALL SELECT 1 FROM customers WHERE legacy_user_id = $1 LIMIT 1",
      [userId],
    );
    return row !== undefined;
  }

  async insertIssue(issue: NewIssue): Promise<number> {
    const row = await this.first<{ issue_id: number }>(
      `INSERT INTO issues (service_id, user_id, customer_id, issue_number, mail, created_at, expires_at, token_expires_at, activation_key, algorithm, digits, period, label)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING issue_id`,
      [
        issue.service_id,
        issue.user_id,
        issue.customer_id,
        issue.issue_number,
        issue.mail,
        issue.created_at,
        issue.expires_at,
        issue.token_expires_at,
        issue.activation_key,
        issue.algorithm,
        issue.digits,
        issue.period,
        issue.label,
      ],
    );
    return row!.issue_id;
  }

  issueFor(serviceId: string, userId: string): Promise<IssueRow | undefined> {
    return this.first("SELECT * FROM issues WHERE service_id = $1 AND user_id = $2 FOR UPDATE", [serviceId, userId]);
  }

  latestIssue(userId: string): Promise<IssueRow | undefined> {
    return this.first("SELECT * FROM issues WHERE user_id = $1 ORDER BY issue_id DESC LIMIT 1 FOR UPDATE", [userId]);
  }

  pendingIssuesOf(customerId: number): Promise<IssueRow[]> {
    return this.rows("SELECT * FROM issues WHERE customer_id = $1 AND state = 'pending' ORDER BY issue_id FOR UPDATE", [customerId]);
  }

  async countIssueFailure(issueId: number): Promise<number> {
    return (await this.first<{ failed_attempts: number }>(
      "UPDATE issues SET failed_attempts = failed_attempts + 1 WHERE issue_id = $1 RETURNING failed_attempts",
      [issueId],
    ))!.failed_attempts;
  }

  async uncountIssueFailure(issueId: number): Promise<void> {
    await this.hold("UPDATE issues SET failed_attempts = greatest(failed_attempts - 1, 0) WHERE issue_id = $1", [issueId]);
  }

  async voidIssue(issueId: number, reason: string): Promise<void> {
    await this.hold(
      "UPDATE issues SET state = 'void', void_reason = $1, activation_key = NULL, pending_seed = NULL WHERE issue_id = $2 AND state = 'pending'",
      [reason, issueId],
    );
    await this.hold("DELETE FROM activation_sessions WHERE issue_id = $1", [issueId]);
  }

  getActivationSession(issueId: number, sid: Uint8Array): Promise<ActivationSessionRow | undefined> {
    return this.first("SELECT * FROM activation_sessions WHERE issue_id = $1 AND sid = $2 FOR UPDATE", [issueId, sid]);
  }

  async insertActivationSession(session: Omit<ActivationSessionRow, "confirmed_at">): Promise<boolean> {
    const inserted = await this.count(
      `INSERT INTO activation_sessions (issue_id, sid, request_hash, serial, response, secrets, answered_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [session.issue_id, session.sid, session.request_hash, session.serial, session.response, session.secrets, session.answered_at],
    );
    return inserted === 1;
  }

  async confirmActivationSession(issueId: number, sid: Uint8Array, at: number): Promise<void> {
    await this.hold("UPDATE activation_sessions SET confirmed_at = $1 WHERE issue_id = $2 AND sid = $3", [at, issueId, sid]);
  }

  async setPendingToken(issueId: number, serial: string, sealedSeed: Uint8Array, at: number): Promise<void> {
    await this.hold("UPDATE issues SET pending_serial = $1, pending_seed = $2, pending_at = $3 WHERE issue_id = $4", [
      serial,
      sealedSeed,
      at,
      issueId,
    ]);
  }

  async completeIssue(issueId: number, at: number): Promise<void> {
    await this.hold(
      "UPDATE issues SET state = 'completed', completed_at = $1, activation_key = NULL, pending_seed = NULL WHERE issue_id = $2",
      [at, issueId],
    );
    await this.hold("DELETE FROM activation_sessions WHERE issue_id = $1", [issueId]);
  }

  getToken(userId: string): Promise<TokenRow | undefined> {
    return this.first("SELECT * FROM tokens WHERE user_id = $1 FOR UPDATE", [userId]);
  }

  verifiableToken(userId: string): Promise<VerifiableToken | undefined> {
    return this.first(VERIFIABLE_TOKEN, [userId]);
  }

  tokenOfCustomer(customerId: number): Promise<TokenRow | undefined> {
    return this.first("SELECT * FROM tokens WHERE customer_id = $1 FOR UPDATE", [customerId]);
  }

  async replaceToken(token: NewToken): Promise<void> {
    await this.hold("DELETE FROM tokens WHERE customer_id = $1", [token.customer_id]);
    await this.hold(
      `INSERT INTO tokens (user_id, customer_id, issue_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, activated_at, expires_at, issuer, manufacturer)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      [
        token.user_id,
        token.customer_id,
        token.issue_id,
        token.service_id,
        token.serial,
        token.seed,
        token.algorithm,
        token.digits,
        token.period,
        token.label,
        token.drift_steps,
        token.last_step,
        token.activated_at,
        token.expires_at,
        token.issuer ?? null,
        token.manufacturer ?? null,
      ],
    );
  }

  async recordTokenSuccess(userId: string, driftSteps: number, lastStep: number, at: number): Promise<void> {
    await this.hold(RECORD_TOKEN_SUCCESS, [driftSteps, lastStep, at, userId]);
  }

  async recordTokenFailure(userId: string, threshold: number, nextCheckAt: number): Promise<{ failures: number; locked: boolean }> {
    const row = await this.first<{ consecutive_failures: number; locked: number }>(RECORD_TOKEN_FAILURE, [threshold, nextCheckAt, userId]);
    return { failures: row!.consecutive_failures, locked: row!.locked === 1 };
  }

  async unlockToken(userId: string): Promise<void> {
    await this.hold("UPDATE tokens SET consecutive_failures = 0, locked = 0, next_check_at = 0 WHERE user_id = $1", [userId]);
  }

  async setTokenState(userId: string, state: TokenState): Promise<void> {
    await this.hold("UPDATE tokens SET state = $1 WHERE user_id = $2", [state, userId]);
  }

  async appendEvent(event: NewEvent): Promise<void> {
    await this.hold(APPEND_EVENT, [
      event.at,
      event.kind,
      event.service_id,
      event.user_id,
      event.actor,
      event.detail,
      event.nonce,
      event.writer_mac,
    ]);
    if (this.#eventNonce === null && event.nonce.length === AUDIT_NONCE_BYTES) this.#eventNonce = new Uint8Array(event.nonce);
    this.onAppend();
  }

  async insertLogin(login: NewCustomerLogin): Promise<boolean> {
    return (
      (await this.count(
        "INSERT INTO customer_logins (customer_id, login_id, password_hash, external_ref, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        [login.customer_id, login.login_id, login.password_hash, login.external_ref, login.created_at],
      )) === 1
    );
  }

  loginByLoginId(loginId: string): Promise<CustomerLoginRow | undefined> {
    return this.first(`${LOGIN_SELECT} WHERE l.login_id = $1 FOR UPDATE OF l`, [loginId]);
  }

  loginByReference(reference: string): Promise<CustomerLoginRow | undefined> {
    return this.first(`${LOGIN_SELECT} WHERE l.external_ref = $1 FOR UPDATE OF l`, [reference]);
  }

  loginOfCustomer(customerId: number): Promise<CustomerLoginRow | undefined> {
    return this.first(`${LOGIN_SELECT} WHERE l.customer_id = $1 FOR UPDATE OF l`, [customerId]);
  }

  async recordLoginFailure(customerId: number, threshold: number, nextCheckAt: number): Promise<{ failures: number; locked: boolean }> {
    const row = await this.first<{ consecutive_failures: number; locked: number }>(
      `UPDATE customer_logins SET consecutive_failures = consecutive_failures + 1,
         locked = CASE WHEN consecutive_failures + 1 >= $1 THEN 1 ELSE locked END,
         next_check_at = $2
       WHERE customer_id = $3 RETURNING consecutive_failures, locked`,
      [threshold, nextCheckAt, customerId],
    );
    return { failures: row!.consecutive_failures, locked: row!.locked === 1 };
  }

  async recordLoginSuccess(customerId: number, at: number): Promise<void> {
    await this.hold("UPDATE customer_logins SET consecutive_failures = 0, next_check_at = 0, last_login_at = $1 WHERE customer_id = $2", [
      at,
      customerId,
    ]);
  }

  async unlockLogin(customerId: number): Promise<void> {
    await this.hold("UPDATE customer_logins SET consecutive_failures = 0, locked = 0, next_check_at = 0 WHERE customer_id = $1", [
      customerId,
    ]);
  }

  async insertApiKey(key: ApiKeyRow): Promise<void> {
    await this.hold("INSERT INTO api_keys (key_id, name, scope, secret_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)", [
      key.key_id,
      key.name,
      key.scope,
      key.secret_hash,
      key.created_at,
      key.revoked_at,
    ]);
  }

  async revokeApiKey(keyId: string, at: number): Promise<boolean> {
    return (await this.count("UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL", [at, keyId])) === 1;
  }

  async insertTransaction(row: TransactionRow): Promise<void> {
    await this.hold(
      "INSERT INTO transactions (transaction_id, user_id, payload, digest, reference, created_at, expires_at, state, settled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      [row.transaction_id, row.user_id, row.payload, row.digest, row.reference, row.created_at, row.expires_at, row.state, row.settled_at],
    );
  }

  getTransaction(transactionId: string): Promise<TransactionRow | undefined> {
    return this.first("SELECT * FROM transactions WHERE transaction_id = $1 FOR UPDATE", [transactionId]);
  }

  async settleTransaction(transactionId: string, state: "accepted" | "refused", at: number): Promise<boolean> {
    return (
      (await this.count("UPDATE transactions SET state = $1, settled_at = $2 WHERE transaction_id = $3 AND state = 'pending'", [
        state,
        at,
        transactionId,
      ])) === 1
    );
  }

  async sealedRecords(): Promise<SealedRecord[]> {
    const records: SealedRecord[] = [];
    for (const sql of sealedQueries(true)) records.push(...(await this.rows<SealedRow>(sql, [])).map(sealedRecord));
    return records;
  }

  async replaceSealed(record: SealedRecord, value: Uint8Array): Promise<void> {
    const [sql, keys] = {
      seed: ["UPDATE tokens SET seed = $1 WHERE user_id = $2 AND serial = $3", [record.userId, record.serial]],
      "activation-password": ["UPDATE issues SET activation_key = $1 WHERE issue_id = $2", [record.issueId]],
      "pending-seed": ["UPDATE issues SET pending_seed = $1 WHERE issue_id = $2", [record.issueId]],
      "activation-session": ["UPDATE activation_sessions SET secrets = $1 WHERE issue_id = $2 AND sid = $3", [record.issueId, record.sid]],
      meta: ["UPDATE meta SET value = $1 WHERE name = $2", [record.name]],
    }[record.kind] as [string, unknown[]];
    const changed = await this.count(sql, [value, ...keys]);
    if (changed !== 1) throw new Error(`re-sealing ${record.kind} changed ${changed} rows`);
  }
}
