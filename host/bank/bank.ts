// The bank side of the procedure (docs/design.md, "The procedure it implements"): `Bank` is the one
// public class of `otp-token/bank`, a facade over the rooms in rooms/, one per part of the procedure
// and of the service (host/bank/README.md, "The rooms": issuing, activation, verification,
// lifecycle, keys, audit, transfer, settings). It builds each room from what that room needs and
// passes every call on; the rules live in the rooms.
//
// Every check that reads state and then writes it runs inside ONE store transaction
// (BankStore.transaction, host/bank/store.ts), which holds what it reads locked until it commits, so
// two processes cannot both pass a check on the same row. Counters that guard against guessing are
// committed before the refusal is thrown (a refused check returns its error out of the transaction,
// then it is thrown).
import { type BankConfig, type BankOptions, checkDefaultOtp, configOf, wasmCodeChecker } from "./config.js";
import { type MasterKey, pooledRandom } from "./crypto.js";
import { Activation, type ActivationAnswer } from "./rooms/activation.js";
import { type ArchiveResult, type AuditReport, AuditTrail, openAuditKeys } from "./rooms/audit.js";
import { type CustomerInfo, type CustomerInput, Customers, type LoginResult } from "./rooms/customers.js";
import { type IssueInput, type IssueResult, Issuing } from "./rooms/issuing.js";
import { type ApiKeyInfo, ApiKeys } from "./rooms/keys.js";
import { type BankOverview, type BankStatus, Lifecycle } from "./rooms/lifecycle.js";
import { Rekey, type RekeyReport } from "./rooms/rekey.js";
import { type CreatedTransaction, type TransactionRequest, Transactions, type VerifiedTransaction } from "./rooms/transactions.js";
import { type BankSettings, openSettings, Settings } from "./rooms/settings.js";
import { type AuditEvent, type BankContext, refuse } from "./rooms/shared.js";
import { BankError } from "./errors.js";
import { NOTICES } from "./notices.js";
import { type ImportedAs, type ImportedToken, type TokenSecret, Transfer } from "./rooms/transfer.js";
import { Verification, type VerifyResult } from "./rooms/verification.js";
import type { ApiScope, AuditHead, AuditKeys, BankStore } from "./store.js";

export { type BankConfig, type BankOptions, type CodeChecker, DEFAULT_CONFIG, DEFAULT_MAIL_DOMAIN, wasmCodeChecker } from "./config.js";
export type { ActivationAnswer } from "./rooms/activation.js";
export { type CustomerInfo, type CustomerInput, LOGIN_TICKET_SECONDS, type LoginResult, PASSWORD_KDF } from "./rooms/customers.js";
export { type IssueInput, type IssueResult, validateMail, validatePassword } from "./rooms/issuing.js";
export { API_KEY_PATTERN, API_SCOPES, type ApiGrant, type ApiKeyInfo, scopeGrants, scopeLabel } from "./rooms/keys.js";
export type { BankOverview, BankStatus, IssueStatus, TokenStatus } from "./rooms/lifecycle.js";
export type { CreatedTransaction, TransactionRequest, VerifiedTransaction } from "./rooms/transactions.js";
export { ARCHIVE_SETTLE_SECONDS, type ArchiveResult, type AuditHeadTargets, type AuditReport } from "./rooms/audit.js";
export { MAX_RETENTION_DAYS } from "./rooms/settings.js";
export type { AuditEvent } from "./rooms/shared.js";
export type { RekeyReport } from "./rooms/rekey.js";
export type { TokenSecret } from "./rooms/transfer.js";
export type { VerifyResult } from "./rooms/verification.js";

export class Bank {
  readonly config: Readonly<BankConfig>;
  readonly #settings: Settings;
  readonly #issuing: Issuing;
  readonly #activation: Activation;
  readonly #verification: Verification;
  readonly #lifecycle: Lifecycle;
  readonly #keys: ApiKeys;
  readonly #audit: AuditTrail;
  readonly #transfer: Transfer;
  readonly #rekey: Rekey;
  readonly #customers: Customers;
  readonly #transactions: Transactions;

  private constructor(
    readonly store: BankStore,
    masterKey: MasterKey,
    options: BankOptions,
    settings: BankSettings,
    auditKeys: AuditKeys,
  ) {
    const { now, random, codeChecker, actor, apiKeyCacheSeconds, auditHead, ...given } = options;
    this.config = configOf(given);
    const ctx: BankContext = {
      store,
      masterKey,
      config: this.config,
      now: () => Math.floor((now ?? (() => Date.now() / 1000))()),
      random: random ?? pooledRandom(),
      checkCode: codeChecker ?? wasmCodeChecker(),
      actor: actor ?? "in-process",
    };
    this.#audit = new AuditTrail(ctx, auditKeys, auditHead);
    this.#settings = new Settings(ctx, this.#audit, settings);
    this.#issuing = new Issuing(ctx, this.#audit, this.#settings);
    this.#activation = new Activation(ctx, this.#audit);
    this.#verification = new Verification(ctx, this.#audit);
    this.#lifecycle = new Lifecycle(ctx, this.#audit, this.#settings);
    this.#keys = new ApiKeys(ctx, this.#audit, apiKeyCacheSeconds ?? 0);
    this.#transfer = new Transfer(ctx, this.#audit, this.#settings);
    this.#rekey = new Rekey(ctx, this.#audit);
    this.#customers = new Customers(ctx, this.#audit);
    this.#transactions = new Transactions(ctx, this.#audit);
  }

  // ---- transactions (rooms/transactions.ts) ----

  /** A transfer for the customer to sign on the token: its id, the frame the page draws, its expiry. */
  createTransaction(request: TransactionRequest, by?: string): Promise<CreatedTransaction> {
    return this.#transactions.create(request, by);
  }

  /** The token's code for a transfer: accepted once, before its expiry; a wrong code counts toward the lock. */
  verifyTransaction(transactionId: string, code: string, by?: string): Promise<VerifiedTransaction> {
    return this.#transactions.verify(transactionId, code, by);
  }

  /**
   * Opens the bank over a store: checks the master key against the value sealed in the database at
   * its first use (a wrong key fails here, not at the first login), reads the bank's settings and
   * gives the store the audit trail's keys.
   */
  static async open(store: BankStore, masterKey: MasterKey, options: BankOptions = {}): Promise<Bank> {
    checkDefaultOtp(options.otp);
    const settings = await openSettings(store, masterKey);
    const keys = await openAuditKeys(store, masterKey);
    const bank = new Bank(store, masterKey, options, settings, keys);
    const audit = bank.#audit;
    await store.useAudit({
      keys,
      random: pooledRandom(),
      onSeal: (head, rows) => audit.sealed(head, rows),
      onAlarm: (alarm) => audit.alarm(alarm),
    });
    return bank;
  }

  // ---- settings (rooms/settings.ts) ----

  /** The bank's Service ID (8 digits, the same for every customer). */
  get serviceId(): string {
    return this.#settings.serviceId;
  }

  /** The domain set-up mails are sent from: customers let it through their mail filter. */
  get mailDomain(): string {
    return this.#settings.mailDomain;
  }

  /** Changes the bank's settings (each instance reads them at start-up). Issued User IDs keep working. */
  /** Days the audit trail stays in the database before `bank audit archive` moves it out (`bank settings --audit-retention-days`); null: not set. */
  get auditRetentionDays(): number | null {
    return this.#settings.auditRetentionDays;
  }

  updateSettings(changes: { serviceId?: string; mailDomain?: string; auditRetentionDays?: number }, by?: string): Promise<void> {
    return this.#settings.update(changes, by);
  }

  // ---- issuing (rooms/issuing.ts): トークン発行, procedure steps 2-3 ----

  /**
   * "Issue token": validates the screen, creates the issue and its User ID, mails the set-up
   * instructions. For a logged-in customer (`ticket`, from `login`) or one the bank's backend named
   * (`customerReference`): that customer's next issue, a re-set-up when it has had a token.
   */
  async issue(input: IssueInput & { ticket?: string; customerReference?: string }, by?: string): Promise<IssueResult> {
    const { ticket, customerReference, ...screen } = input;
    if ([ticket, customerReference, screen.userId, screen.customerNumber].filter((v) => v !== undefined).length > 1) {
      throw new BankError("unknown", "name the customer once: a login ticket, a customer reference or a User ID, not several");
    }
    if (ticket !== undefined) screen.customerNumber = this.#customers.customerOfTicket(ticket);
    else if (customerReference !== undefined) {
      const number = await this.#customers.customerNumberOfReference(customerReference);
      if (number === null)
        throw new BankError("unknown", "no customer has this reference: name the customer first (PUT /v1/customers/{reference})");
      screen.customerNumber = number;
    }
    return this.#issuing.issue(screen, by);
  }

  /** 戻る on the 認証確認 screen: the logged-in customer's pending issue at `userId` is void. */
  withdrawIssue(ticket: string, userId: string, by?: string): Promise<void> {
    return this.#issuing.withdraw(this.#customers.customerOfTicket(ticket), userId, by);
  }

  // ---- customers (rooms/customers.ts): the internet-banking login, steps ① and ⑧ ----

  /** A customer with a login (ログインID, ログインパスワード), or the customer a backend's reference names (made once). */
  createCustomer(input: CustomerInput, by?: string): Promise<CustomerInfo> {
    return this.#customers.create(input, by);
  }

  /**
   * Internet-banking login: ログインID and ログインパスワード, and the one-time password when the
   * customer has a token (a wrong password counted on the login, a wrong code on the token). Gives a
   * ticket that names the customer to `issue`.
   */
  async login(input: { loginId: string; password: string; code?: string }, by?: string): Promise<LoginResult> {
    const passed = await this.#customers.checkPassword(input.loginId, input.password, by);
    if (passed.tokenUserId !== null) {
      if (input.code === undefined || input.code === "") throw refuse("code-required", NOTICES.codeRequired());
      await this.#verification.verify(passed.tokenUserId, input.code, by);
    }
    return this.#customers.loggedIn(passed, by);
  }

  /** An administrator clears a login's lock (the help desk). */
  unlockLogin(loginId: string, by?: string): Promise<void> {
    return this.#customers.unlock(loginId, by);
  }

  // ---- activation (rooms/activation.ts): 送信 and 登録, docs/activation.md ----

  /** 送信: answers message 1 with message 2; the attempt stays counted until `register` takes it back. */
  activate(requestBytes: Uint8Array, by?: string): Promise<ActivationAnswer> {
    return this.#activation.activate(requestBytes, by);
  }

  /** 登録: the token's message 3; its run's seed becomes the issue's pending token. */
  register(confirmationBytes: Uint8Array, by?: string): Promise<{ serial: string }> {
    return this.#activation.register(confirmationBytes, by);
  }

  // ---- verification (rooms/verification.ts): 認証確認, logins, resync, throttle and lock ----

  /** 認証確認: the activated token's first code makes it the customer's token at this User ID. */
  confirm(userId: string, code: string, by?: string): Promise<VerifyResult> {
    return this.#verification.confirm(userId, code, by);
  }

  /** A login code: RFC 6238 within ±window steps around the recorded drift; each step accepted at most once. */
  verify(userId: string, code: string, by?: string): Promise<VerifyResult> {
    return this.#verification.verify(userId, code, by);
  }

  /** Two consecutive codes, both after the last accepted step, in the wider resync window. */
  resync(userId: string, code1: string, code2: string, by?: string): Promise<VerifyResult> {
    return this.#verification.resync(userId, code1, code2, by);
  }

  /** Seconds without checks after the k-th consecutive failure. */
  throttleDelay(failures: number): number {
    return this.#verification.throttleDelay(failures);
  }

  // ---- lifecycle (rooms/lifecycle.ts) ----

  /** An administrator clears the lock, the failure count and the throttling delay (audit-logged). */
  unlock(userId: string, by?: string): Promise<void> {
    return this.#lifecycle.unlock(userId, by);
  }

  /** The customer reports the token missing: no code is accepted until `resume`. */
  suspend(userId: string, by?: string): Promise<void> {
    return this.#lifecycle.suspend(userId, by);
  }

  /** The customer found the token: codes are accepted again. */
  resume(userId: string, by?: string): Promise<void> {
    return this.#lifecycle.resume(userId, by);
  }

  /** Lost or stolen: final. The customer needs a new token issue. */
  revoke(userId: string, by?: string): Promise<void> {
    return this.#lifecycle.revoke(userId, by);
  }

  /** What the bank knows about this User ID, without secrets. */
  status(userId: string): Promise<BankStatus> {
    return this.#lifecycle.status(userId);
  }

  /** Counts of tokens by state, and the tokens due for renewal (expiring within renewalNoticeSeconds). */
  overview(limit?: number): Promise<BankOverview> {
    return this.#lifecycle.overview(limit);
  }

  // ---- API keys (rooms/keys.ts) ----

  /** A new API key: the key is returned once; the store keeps its id, scope, name and the SHA-256 of its secret. */
  createApiKey(scope: ApiScope, name: string, by?: string): Promise<ApiKeyInfo & { key: string }> {
    return this.#keys.create(scope, name, by);
  }

  listApiKeys(): Promise<ApiKeyInfo[]> {
    return this.#keys.list();
  }

  /** Revokes a key at once (for every instance: each request looks its key up). */
  revokeApiKey(keyId: string, by?: string): Promise<void> {
    return this.#keys.revoke(keyId, by);
  }

  /** The key a bearer token names, if it is one of ours and not revoked (its secret compared in constant time; `digest`: SHA-256 of `key`, if known). */
  authenticate(key: string, digest?: Uint8Array): Promise<ApiKeyInfo | null> {
    return this.#keys.authenticate(key, digest);
  }

  // ---- the audit trail (rooms/audit.ts) ----

  /** Events after `afterId`, oldest first. */
  auditEvents(afterId?: number, limit?: number): Promise<AuditEvent[]> {
    return this.#audit.events(afterId, limit);
  }

  /**
   * Audit retention (rooms/audit.ts, `archive`): sealed events recorded before `before` (and more than
   * `settleSeconds` before the bank's clock, 300 by default; 0 when no instance is running) moved to
   * segment files in `dir`, the cut recorded, then pruned from the store.
   */
  archiveAudit(dir: string, before: number, settleSeconds?: number): Promise<ArchiveResult> {
    return this.#audit.archive(dir, before, settleSeconds);
  }

  /**
   * Walks the whole trail and reports the first row that breaks the chain or was not written by the
   * bank, and the store's alarms (host/bank/audit.ts); with `published`, a head recorded earlier, a
   * shorter or rewritten trail fails too.
   */
  verifyAudit(pageSize?: number, published?: AuditHead | AuditHead[], archiveDir?: string): Promise<AuditReport> {
    return this.#audit.verify(pageSize, published, archiveDir);
  }

  /** Publishes the chain's head now (the log line and the file of `auditHead`) and returns it. */
  publishAuditHead(): Promise<AuditHead | null> {
    return this.#audit.publishHead();
  }

  /** Appends one event (for actions outside the bank's own methods, such as a PSKC export by the CLI). */
  record(kind: string, userId: string | null, detail: string, by?: string): Promise<void> {
    return this.#audit.record(kind, userId, detail, by);
  }

  // ---- master-key rotation (rooms/rekey.ts) ----

  /**
   * Re-seals every secret (seeds, activation passwords, pending seeds, activation sessions, the audit
   * keys, the key check) under `newKey` in one transaction, recording a "rekey" event. This Bank keeps
   * the old key: close it and open the store again with the new one (so must every instance).
   */
  rekey(newKey: MasterKey, by?: string): Promise<RekeyReport> {
    return this.#rekey.rekey(newKey, by);
  }

  // ---- PSKC transfer (rooms/transfer.ts; the codec is host/bank/pskc.ts) ----

  /** Seeds of the tokens at `userIds` (every unrevoked token when omitted), in clear, for an encrypted PSKC export. */
  exportSecrets(userIds: string[] | undefined, by?: string): Promise<TokenSecret[]> {
    return this.#transfer.exportSecrets(userIds, by);
  }

  /** Stores imported tokens, all or none; nothing stored is replaced. */
  importSecrets(tokens: ImportedToken[], by?: string): Promise<ImportedAs[]> {
    return this.#transfer.importSecrets(tokens, by);
  }
}
