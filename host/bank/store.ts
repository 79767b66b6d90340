// The bank's persistent state behind one asynchronous interface, so that the embedded SQLite store
// (host/bank/sqlite/) and a PostgreSQL store for several instances (issue 11) are interchangeable.
//
// The rule every implementation keeps: each check that reads state and then writes it (the
// check-and-update of a code, the failure counters, the lockout, the throttling state, the issue's
// attempt count) runs inside ONE `transaction()` that holds the rows it reads locked until it commits
// (SQLite: BEGIN IMMEDIATE, the whole file; PostgreSQL: SELECT ... FOR UPDATE on the rows, or one
// conditional UPDATE ... RETURNING). Two processes can then never both pass a check on the same row.
// Secrets arrive here already sealed (host/bank/crypto.ts); the audit trail holds none.
import type { Algorithm } from "../otp.js";

export type IssueState = "pending" | "void" | "completed";
export type TokenState = "active" | "suspended" | "revoked";
/**
 * An API key's scope (host/bank/README.md, "Promises"): "verify" checks codes (confirm, verify,
 * resync), "enroll" issues and relays activation (issues, activations, registrations), "admin" the
 * administration routes only. "login", the scope of keys made before scopes were split, is both
 * verify and enroll.
 */
export type ApiScope = "verify" | "enroll" | "admin" | "login";

export interface CustomerRow {
  customer_id: number;
  /** 7 digits; null for a customer migrated from schema 1 who has not been issued a token since. */
  customer_number: string | null;
  /** The 16-character random User ID a schema-1 database gave this customer, if any. */
  legacy_user_id: string | null;
  /** The last issue number given (the User ID's last 3 digits). */
  issues_made: number;
  created_at: number;
}

/**
 * A customer's internet-banking login (ログインID and ログインパスワード) or the bank backend's own
 * reference for the customer, or both; with its throttling state, as a token's.
 */
export interface CustomerLoginRow {
  customer_id: number;
  /** The customer's 7-digit number (from customers). */
  customer_number: string | null;
  /** Null for a customer the bank's backend names by its reference (it logs its customers in itself). */
  login_id: string | null;
  /** "scrypt$<log2 N>$<r>$<p>$<salt base64>$<key base64>"; null with login_id. */
  password_hash: string | null;
  /** The bank backend's own reference for this customer: one customer per reference. */
  external_ref: string | null;
  consecutive_failures: number;
  locked: number;
  /** Unix seconds before which no password is checked (throttling after failures). */
  next_check_at: number;
  created_at: number;
  last_login_at: number | null;
}

export type NewCustomerLogin = Pick<CustomerLoginRow, "customer_id" | "login_id" | "password_hash" | "external_ref" | "created_at">;

export interface IssueRow {
  issue_id: number;
  service_id: string;
  user_id: string;
  customer_id: number;
  /** 1-999; null for an issue made by schema 1. */
  issue_number: number | null;
  mail: string;
  created_at: number;
  expires_at: number;
  /** Unix seconds the token made from this issue stops being accepted. */
  token_expires_at: number;
  failed_attempts: number;
  state: IssueState;
  void_reason: string | null;
  /** The activation password (CPace's PRS), sealed; null once the issue is completed, void or expired. */
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

/** One answered activation request (message 1) of an issue: a CPace run (docs/activation.md). */
export interface ActivationSessionRow {
  issue_id: number;
  /** The session id the token chose (message 1). */
  sid: Uint8Array;
  /** SHA-256 of message 1: the same request again is answered again, other bytes under its sid are refused. */
  request_hash: Uint8Array;
  /** The token's serial, 16 hex digits. */
  serial: string;
  /** Message 2 as sent (public). */
  response: Uint8Array;
  /** Sealed: the token's expected confirmation Ta, then the seed; null once the issue expired. */
  secrets: Uint8Array | null;
  answered_at: number;
  /** When the token's confirmation (message 3) matched; null until then. */
  confirmed_at: number | null;
}

export interface TokenRow {
  /** The token's address: the User ID it was activated with. */
  user_id: string;
  customer_id: number;
  /** The issue it came from; null for a token imported from PSKC. */
  issue_id: number | null;
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
  /** Unix seconds before which no code is checked (throttling after failures). */
  next_check_at: number;
  state: TokenState;
  activated_at: number;
  expires_at: number;
  last_success_at: number | null;
  /** PSKC Issuer and DeviceInfo Manufacturer of an imported token (RFC 6030 §4.3); null for the bank's own. */
  issuer: string | null;
  manufacturer: string | null;
}

/**
 * The columns a code check reads (rooms/verification.ts: login codes and resync): PostgreSQL selects
 * only these for a verification (fewer columns to describe and parse than the whole row).
 */
export const VERIFIABLE_TOKEN_COLUMNS = [
  "user_id",
  "service_id",
  "serial",
  "seed",
  "algorithm",
  "digits",
  "period",
  "label",
  "drift_steps",
  "last_step",
  "consecutive_failures",
  "locked",
  "next_check_at",
  "state",
  "expires_at",
] as const;
export type VerifiableToken = Pick<TokenRow, (typeof VERIFIABLE_TOKEN_COLUMNS)[number]>;

export interface EventRow {
  id: number;
  at: number;
  kind: string;
  service_id: string | null;
  user_id: string | null;
  /** Who acted: "key:<id>" for an API key, "cli", "web", "in-process". */
  actor: string;
  detail: string | null;
  /** HMAC chaining this row to the previous one (host/bank/audit.ts); null only while not yet sealed. */
  mac: Uint8Array | null;
  /** 16 random bytes the writer MAC covers (two events are never the same event). */
  nonce: Uint8Array | null;
  /** HMAC by the bank over the event and its nonce (host/bank/audit.ts); null only on a row written before writer MACs and not yet vouched for. */
  writer_mac: Uint8Array | null;
  /** The audit partition whose chain holds the row (PostgreSQL; absent or 0: the one chain of SQLite). */
  part?: number;
  /** The row's position in its partition's chain (absent: its id). */
  pos?: number;
}

export interface ApiKeyRow {
  key_id: string;
  name: string;
  scope: ApiScope;
  /** SHA-256 of the key's secret part: the key itself is shown once and never stored. */
  secret_hash: Uint8Array;
  created_at: number;
  revoked_at: number | null;
}

export type NewIssue = Omit<
  IssueRow,
  "issue_id" | "failed_attempts" | "state" | "void_reason" | "pending_serial" | "pending_seed" | "pending_at" | "completed_at"
>;
export type NewToken = Omit<
  TokenRow,
  "consecutive_failures" | "locked" | "next_check_at" | "state" | "last_success_at" | "issuer" | "manufacturer"
> & { issuer?: string | null; manufacturer?: string | null };
export type NewEvent = Omit<EventRow, "id" | "mac" | "nonce" | "writer_mac"> & { nonce: Uint8Array; writer_mac: Uint8Array };

/**
 * One secret sealed under the master key (host/bank/crypto.ts), with what names its row (and so its
 * AAD): a token's seed, an issue's activation password or pending seed, an activation session's
 * secrets, a meta value (the audit keys, the master-key check). `bank rekey` re-seals each.
 */
export interface SealedRecord {
  kind: "seed" | "activation-password" | "pending-seed" | "activation-session" | "meta";
  serviceId: string | null;
  userId: string | null;
  serial: string | null;
  issueId: number | null;
  sid: Uint8Array | null;
  /** meta: the value's name. */
  name: string | null;
  value: Uint8Array;
}

/** The two keys of the audit trail (host/bank/audit.ts). */
export interface AuditKeys {
  /** Chains rows (the key of every trail written before writer MACs: HKDF(master key, "audit chain v1")). */
  chain: Uint8Array;
  /** Authenticates each event when it is recorded. */
  writer: Uint8Array;
}

/** A chain position and its MAC: what is published outside the database. */
export interface AuditHead {
  /** The partition (PostgreSQL's partitioned trail); absent or 0: partition 0, the one chain of SQLite. */
  part?: number;
  /** The row's position in its partition's chain (in partition 0 of a trail sealed before partitions: its id). */
  id: number;
  /** Hex, 64 digits. */
  mac: string;
}

/** Something about the audit trail the chain walk alone cannot see (a queued row the sealer refuses, a repeated event). */
export interface AuditAlarm {
  /** "events": a row of the trail; "queue": a row waiting to be sealed (PostgreSQL). */
  table: "events" | "queue";
  id: number;
  reason: string;
}

/** What a store chains the audit trail with, and whom it tells when the chain's head moves. */
export interface AuditSetup {
  keys: AuditKeys;
  /** Random bytes (legacy rows' nonces). */
  random: (length: number) => Uint8Array;
  /** Called after each seal that moved the head (PostgreSQL: each sealing transaction). */
  onSeal?: (head: AuditHead, rows: number) => void;
  /** Called when the sealer refuses a row (its writer MAC does not check). */
  onAlarm?: (alarm: AuditAlarm) => void;
}

/** Bank settings kept in the store, the same for every instance. */
export type SettingName = "service_id" | "mail_domain" | "audit_retention_days" | "audit_archived";

/** One transaction's view of the store. Every method is one statement; the transaction makes them one unit. */
export interface StoreTx {
  /** Sets a meta value unless it is already set; returns the value now stored (the master-key check). */
  initMeta(name: string, value: Uint8Array): Promise<Uint8Array>;
  getSetting(name: SettingName): Promise<string | null>;
  setSetting(name: SettingName, value: string): Promise<void>;

  /** Forgets the sealed secrets of pending issues expired by `now` and of their activation sessions (rows kept); returns how many issues. */
  forgetExpired(now: number): Promise<number>;

  /** A new customer with the next free 7-digit customer number (or the one given). Null when that number is taken. */
  insertCustomer(at: number, customerNumber?: string): Promise<CustomerRow | null>;
  /** The customer a User ID belongs to: its token's, its issue's, or a schema-1 customer's own. */
  customerOf(userId: string): Promise<CustomerRow | undefined>;
  customerByNumber(customerNumber: string): Promise<CustomerRow | undefined>;
  /** Gives a schema-1 customer the next free customer number. */
  assignCustomerNumber(customerId: number): Promise<string>;
  /** issues_made + 1; returns the new issue number. */
  nextIssueNumber(customerId: number): Promise<number>;
  /** issues_made = max(issues_made, atLeast): an imported User ID's issue number is not given again. */
  raiseIssueNumber(customerId: number, atLeast: number): Promise<void>;
  /** True when an issue or a token already has this User ID. */
  userIdTaken(userId: string): Promise<boolean>;

  insertIssue(issue: NewIssue): Promise<number>;
  /** The issue an activation request names (Service ID and User ID as the token sends them). */
  issueFor(serviceId: string, userId: string): Promise<IssueRow | undefined>;
  /** The newest issue with this User ID (a schema-1 User ID may have several). */
  latestIssue(userId: string): Promise<IssueRow | undefined>;
  pendingIssuesOf(customerId: number): Promise<IssueRow[]>;
  /** failed_attempts + 1; returns the new count. */
  countIssueFailure(issueId: number): Promise<number>;
  /** Takes back one counted attempt (an activation the token confirmed). */
  uncountIssueFailure(issueId: number): Promise<void>;
  /** Voids a pending issue and forgets its secrets, its activation sessions' included. */
  voidIssue(issueId: number, reason: string): Promise<void>;
  /** The answered activation request of this issue with this session id, if any. */
  getActivationSession(issueId: number, sid: Uint8Array): Promise<ActivationSessionRow | undefined>;
  /** Records an answered request; false when its session id was already there (a racing copy). */
  insertActivationSession(session: Omit<ActivationSessionRow, "confirmed_at">): Promise<boolean>;
  /** The token's confirmation of this session matched. */
  confirmActivationSession(issueId: number, sid: Uint8Array, at: number): Promise<void>;
  setPendingToken(issueId: number, serial: string, sealedSeed: Uint8Array, at: number): Promise<void>;
  completeIssue(issueId: number, at: number): Promise<void>;

  /** The token at this User ID, its row locked until the transaction ends. */
  getToken(userId: string): Promise<TokenRow | undefined>;
  /** The columns of the token at this User ID a code check reads (VERIFIABLE_TOKEN_COLUMNS), its row locked like getToken's. */
  verifiableToken(userId: string): Promise<VerifiableToken | undefined>;
  tokenOfCustomer(customerId: number): Promise<TokenRow | undefined>;
  /** Makes `token` its customer's token, replacing any previous one. */
  replaceToken(token: NewToken): Promise<void>;
  recordTokenSuccess(userId: string, driftSteps: number, lastStep: number, at: number): Promise<void>;
  /**
   * consecutive_failures + 1, locking at `threshold`, and no check before `nextCheckAt` (throttling):
   * one UPDATE ... RETURNING on the row the transaction holds.
   */
  recordTokenFailure(userId: string, threshold: number, nextCheckAt: number): Promise<{ failures: number; locked: boolean }>;
  unlockToken(userId: string): Promise<void>;
  setTokenState(userId: string, state: TokenState): Promise<void>;

  /**
   * Appends to the audit trail an event the bank signed (its writer MAC): chained to the previous row
   * in this transaction (SQLite) or queued for the sealer (PostgreSQL). A store never chains a row
   * whose writer MAC does not check.
   */
  appendEvent(event: NewEvent): Promise<void>;

  /** A customer's login or reference; false, changing nothing, when its customer, login ID or reference already has one. */
  insertLogin(login: NewCustomerLogin): Promise<boolean>;
  /** The login with this ログインID, its row locked until the transaction ends. */
  loginByLoginId(loginId: string): Promise<CustomerLoginRow | undefined>;
  /** The login with the bank backend's reference, locked. */
  loginByReference(reference: string): Promise<CustomerLoginRow | undefined>;
  loginOfCustomer(customerId: number): Promise<CustomerLoginRow | undefined>;
  /** consecutive_failures + 1, locking at `threshold`, and no check before `nextCheckAt`: one UPDATE ... RETURNING. */
  recordLoginFailure(customerId: number, threshold: number, nextCheckAt: number): Promise<{ failures: number; locked: boolean }>;
  /** A login that passed: failures cleared, the time kept. */
  recordLoginSuccess(customerId: number, at: number): Promise<void>;
  unlockLogin(customerId: number): Promise<void>;

  insertApiKey(key: ApiKeyRow): Promise<void>;
  /** Every sealed secret (rows locked until commit), for `bank rekey`. */
  sealedRecords(): Promise<SealedRecord[]>;
  /** Replaces one sealed secret (the row `record` names) with `value`. */
  replaceSealed(record: SealedRecord, value: Uint8Array): Promise<void>;
  /** Marks a key revoked; false when there is no such unrevoked key. */
  revokeApiKey(keyId: string, at: number): Promise<boolean>;

  insertTransaction(row: TransactionRow): Promise<void>;
  /** A transfer, held for this transaction (PostgreSQL: FOR UPDATE). */
  getTransaction(transactionId: string): Promise<TransactionRow | undefined>;
  /** Settles a pending transfer; false when it was no longer pending (accepted once, refused once). */
  settleTransaction(transactionId: string, state: "accepted" | "refused", at: number): Promise<boolean>;
}

/** A transfer the bank asked the customer to sign (host/bank/rooms/transactions.ts). */
export interface TransactionRow {
  transaction_id: string;
  user_id: string;
  /** The canonical transfer (host/transaction.ts): what the token shows and signs. */
  payload: Uint8Array;
  /** SHA-256 of the payload, hex: the audit trail names a transfer by it. */
  digest: string;
  /** The backend's own reference for the transfer. */
  reference: string;
  created_at: number;
  expires_at: number;
  state: "pending" | "accepted" | "refused";
  settled_at: number | null;
}

/** What a reader sees outside any transaction (one consistent snapshot per call). */
export interface StoreReader {
  getSetting(name: SettingName): Promise<string | null>;
  getToken(userId: string): Promise<TokenRow | undefined>;
  latestIssue(userId: string): Promise<IssueRow | undefined>;
  customerOf(userId: string): Promise<CustomerRow | undefined>;
  /** The login with this ログインID (the throttle read before a password is hashed). */
  loginByLoginId(loginId: string): Promise<CustomerLoginRow | undefined>;
  /** Tokens in User ID order, after `afterUserId`, at most `limit`; with `expiringBefore`, only unrevoked ones expiring before it. */
  listTokens(options: { afterUserId?: string; limit: number; expiringBefore?: number }): Promise<TokenRow[]>;
  countTokens(): Promise<Record<TokenState | "locked", number>>;
  /** Events with id > `afterId`, oldest first, at most `limit`. */
  events(afterId: number, limit: number): Promise<EventRow[]>;
  /** The newest events of one User ID or customer, newest first. */
  eventsOf(userId: string, limit: number): Promise<EventRow[]>;
  getApiKey(keyId: string): Promise<ApiKeyRow | undefined>;
  listApiKeys(): Promise<ApiKeyRow[]>;
  /** The newest sealed row's position and chain MAC (after sealing what is committed), or null for an empty trail. */
  auditHead(): Promise<AuditHead | null>;
  /**
   * The whole trail (after `afterId`: from where an archive ends) in id order, in pages, as of one
   * moment (PostgreSQL: one snapshot); without it, `events` page by page.
   */
  trail?(pageSize: number, afterId?: number): AsyncIterable<EventRow[]>;
  /** Every partition's head (PostgreSQL; a store without partitions has the one of auditHead). */
  auditHeads?(): Promise<AuditHead[]>;
  /** The number of audit partitions, after raising it to `atLeast` when given (PostgreSQL; never lowered). */
  auditPartitions?(atLeast?: number): Promise<number>;
  /** What the chain walk cannot see: queued rows the sealer refuses, events that repeat another's nonce. */
  auditAlarms(): Promise<AuditAlarm[]>;
  /**
   * Deletes sealed events with id <= `throughId` (audit retention: after they were archived,
   * host/bank/archive.ts), never the newest sealed row (the chain goes on from it). Returns the rows deleted.
   */
  pruneEvents(throughId: number): Promise<number>;
  /**
   * The oldest `at` of the sealed events after `afterId` and of the rows still queued (PostgreSQL), or
   * null when there is none: audit retention cuts the trail only where time separates what it archives
   * from what stays (host/bank/audit.ts, ArchiveCut).
   */
  auditOldest(afterId: number): Promise<number | null>;
}

/** How a transaction may be run (BankStore.transaction). */
export interface TransactionOptions {
  /**
   * A verification's key (its User ID): the transaction reads only that token (verifiableToken),
   * writes only that token's row (recordTokenSuccess, recordTokenFailure) and appends events. A store
   * may then run it in one database transaction with other such transactions of distinct keys (their
   * token rows read and written together: fewer round trips, one commit), each answered after that
   * commit; one that throws makes the store run the others again, each alone.
   */
  group?: string;
}

export interface BankStore extends StoreReader {
  /** "sqlite" or "postgres". */
  readonly kind: string;
  /** Where it is (a path or a URL without its password), for messages. */
  readonly location: string;
  readonly schemaVersion: number;
  /**
   * Told, in seconds, how long each transaction and each read outside one waited for the database's
   * connection before it could start (PostgreSQL: a pool connection, also a wait that ended in a
   * refusal; SQLite: its turn on the one connection). The metrics' histogram sets it
   * (host/bank/metrics.ts); nobody watches by default.
   */
  waitObserver?: ((seconds: number) => void) | null;
  /**
   * Runs `fn` as one transaction: committed when it resolves, rolled back when it throws. The
   * implementation holds what `fn` reads locked until then, so read-check-write is atomic across
   * processes. `fn` must not start another transaction, and may be run more than once (the
   * PostgreSQL store runs it again when it failed before its commit): nothing outside the store.
   * `options.group` (TransactionOptions) lets the store run `fn` in one database transaction with others.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Gives the store the audit trail's keys (called by Bank.open before anything is appended). Rows
   * written before writer MACs get one if the chain vouches for them (once, after the migration that
   * added writer MACs); rows of a schema-1 database migrated by this very process are chained first.
   * No other row is ever chained here: a row without a chain MAC is an alarm, not work to do.
   */
  useAudit(setup: AuditSetup): Promise<void>;
  close(): Promise<void>;
}

/**
 * The store could not do the work now (a lock held by another process past the wait, a full queue,
 * the database unreachable): the request may be retried. The service answers 503 + Retry-After.
 */
export class StoreBusyError extends Error {
  override name = "StoreBusyError";
  readonly code = "busy";

  constructor(
    message: string,
    /** Seconds after which a retry is sensible. */
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
  }
}

/** The database cannot be opened or is not a bank database: one line a person can act on. */
export class StoreOpenError extends Error {
  override name = "StoreOpenError";
  readonly code = "store";
}

export interface OpenStoreOptions {
  /** Create a new bank database when none exists (only `otp-token bank init` does). Default false. */
  create?: boolean;
  /**
   * SQLite only: run the database on a worker thread ("worker", what `bank serve` uses, so a wait
   * for another process's lock never stalls the event loop) or on the calling thread ("inline",
   * the CLI's one-shot commands). Default "inline".
   */
  thread?: "worker" | "inline";
  /** SQLite only: milliseconds to wait for another process's write lock before StoreBusyError; default 5000. */
  busyTimeoutMs?: number;
  /**
   * SQLite on a worker thread only: commit the transactions queued while a COMMIT's fsync is in
   * flight as one group (host/bank/sqlite/batch.ts, GroupCommit); default true. false commits each
   * transaction alone (the bench's comparison).
   */
  groupCommit?: boolean;
  /** PostgreSQL only: connections in this instance's pool; default 10 (host/bank/postgres/store.ts). */
  poolSize?: number;
  /** PostgreSQL only: audit partitions sealed at once (`bank serve --audit-sealers`); default defaultAuditSealers(poolSize) (host/bank/limits.ts). */
  auditSealers?: number;
}
