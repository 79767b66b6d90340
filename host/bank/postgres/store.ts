// The PostgreSQL implementation of the bank's store interface (host/bank/store.ts), on node-postgres
// (`pg`, loaded only when a postgres:// store is opened), for several `otp-token bank serve`
// instances against one database.
//
// Transactions: READ COMMITTED; every row a transaction reads in order to change it is read with
// SELECT ... FOR UPDATE (getToken, issueFor, latestIssue, customerOf, ...), and counters are one
// conditional UPDATE ... RETURNING (recordTokenFailure, countIssueFailure, nextIssueNumber). A second
// instance's transaction on the same row waits for the first to commit and then reads the row as
// committed (PostgreSQL re-reads a row locked FOR UPDATE at its newest version), so two instances
// can never both accept one code or both miss a failure.
//
// Retries (see transaction()): a transaction that failed before its COMMIT was sent (serialization
// failure, deadlock, the connection dropped, the server restarting) changed nothing, so it is run
// again from the start, reading afresh, within RETRY_WINDOW_MS; after that the caller gets
// StoreBusyError (503). A COMMIT whose answer was lost is never simply run again: it may have
// committed (a code accepted, a failure counted), and running the check again would then refuse
// the accepted code as replayed and count a failure that did not happen. The store asks the server
// what became of that transaction (pg_xact_status of the transaction id it read at BEGIN): committed
// -> the result stands; aborted -> run it again; still unknown after COMMIT_RESOLVE_MS -> 503
// saying so.
//
// Round trips: a transaction's statements go as literal-bound text in PostgreSQL's simple query
// protocol (bindLiterals: numbers checked, strings through pg's escapeLiteral, bytes as bytea hex),
// so several ride in one message: BEGIN (and the transaction id) with the first statement whose answer
// is awaited; writes whose answer nobody awaits (recordTokenSuccess, appendEvent, ... as the SQLite
// store defers them) with the next statement or with COMMIT. A verification is two round trips:
// "BEGIN; xid; SELECT the token FOR UPDATE", then "UPDATE the token; INSERT the audit row; COMMIT".
// On a machine where a socket write costs tens of microseconds, round trips are the cost.
//
// Every query is asynchronous and the pool is bounded (poolSize, default DEFAULT_POOL_SIZE): one slow
// query holds one connection, never the event loop; past MAX_WAITING waiting transactions the store
// answers busy at once rather than queueing without end.
import { createRequire } from "node:module";
import type Pg from "pg";
import type { Pool, PoolClient, QueryConfig } from "pg";
import type {
  ActivationSessionRow,
  ApiKeyRow,
  BankStore,
  CustomerRow,
  EventRow,
  IssueRow,
  NewEvent,
  NewIssue,
  NewToken,
  SettingName,
  StoreTx,
  TokenRow,
  TokenState,
} from "../store.js";
import { StoreBusyError, StoreOpenError } from "../store.js";
import { DEFAULT_POOL_SIZE } from "../limits.js";
import { CUSTOMER_NUMBER_LOCK, MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION } from "./schema.js";
import { AuditSealer } from "./sealer.js";

export { DEFAULT_POOL_SIZE };
/** Transactions waiting for a connection beyond this are refused at once as busy. */
export const MAX_WAITING = 1000;
/** A transaction that failed before its commit is run again for up to this long. */
export const RETRY_WINDOW_MS = 2000;
/** How long the store keeps asking what became of a commit whose answer was lost. */
export const COMMIT_RESOLVE_MS = 10_000;
/** Waiting for a connection (the server gone or overloaded) gives up after this. */
const CONNECT_TIMEOUT_MS = 2000;
/** Waiting for another transaction's row lock gives up after this (lock_timeout): busy, 503. */
const LOCK_TIMEOUT_MS = 5000;

export interface PgStoreOptions {
  create?: boolean;
  poolSize?: number;
}

function loadPg(): typeof Pg {
  try {
    const pg = createRequire(import.meta.url)("pg") as typeof Pg;
    escapeLiteral = pg.escapeLiteral;
    return pg;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") {
      throw new StoreOpenError("the bank's PostgreSQL store needs node-postgres: npm i pg");
    }
    throw error;
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "the PostgreSQL URL given";
  }
}

const sqlState = (error: unknown): string => {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" ? code : "";
};

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED",
  "EAI_AGAIN",
]);

/** The connection failed or the server is shutting down or starting: nothing of an uncommitted transaction stayed. */
export function isConnectionError(error: unknown): boolean {
  const code = sqlState(error);
  if (NETWORK_CODES.has(code)) return true;
  // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now; 53300: too many connections.
  if (/^(08|57P0[1-3]|53300)/.test(code)) return true;
  const message = (error as Error)?.message ?? "";
  return /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Client was closed/i.test(message);
}

/** Failures PostgreSQL asks the client to retry: serialization failure, deadlock. */
const isRetryableConflict = (error: unknown) => ["40001", "40P01"].includes(sqlState(error));

const busy = (message: string) => new StoreBusyError(message, 1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function types(pg: typeof Pg): Pg.CustomTypesConfig {
  // bigint (int8, OID 20) as a JS number: unix seconds, steps, ids and counts all fit 2^53.
  const overrides = new pg.TypeOverrides();
  overrides.setTypeParser(20, (text: string) => Number(text));
  return overrides;
}

export class PgStore implements BankStore {
  readonly kind = "postgres";
  readonly schemaVersion = SCHEMA_VERSION;
  private sealer: AuditSealer | null = null;
  private closed = false;

  private constructor(
    /** The connection pool (tests and the bench may query the database directly). */
    readonly pool: Pool,
    readonly location: string,
  ) {}

  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const pg = loadPg();
    const location = redactUrl(url);
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? DEFAULT_POOL_SIZE,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      lock_timeout: LOCK_TIMEOUT_MS,
      // A connection whose instance died mid-transaction (a network cut, not a closed socket) frees its locks after this.
      idle_in_transaction_session_timeout: 30_000,
      application_name: "otp-token bank",
      types: types(pg),
    });
    // An idle connection whose server went away: the pool drops it, the next transaction connects afresh.
    pool.on("error", () => undefined);
    try {
      await migrate(pool, location, options.create === true);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw openError(error, location);
    }
    return new PgStore(pool, location);
  }

  /** A connection from the pool; connection failures become StoreBusyError. */
  private async connect(): Promise<PoolClient> {
    if (this.closed) throw busy("the bank's store is closed");
    if (this.pool.waitingCount >= MAX_WAITING) throw busy("the bank's database has too many requests waiting: try again");
    return listened(await this.pool.connect());
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.run(fn);
  }

  private async run<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const deadline = Date.now() + RETRY_WINDOW_MS;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(fn).catch((error: unknown) => ({ error }));
      if (!("error" in outcome)) return outcome.value;
      const { error } = outcome;
      const retryable = isConnectionError(error) || isRetryableConflict(error);
      if (!retryable) throw error instanceof StoreBusyError ? error : translate(error);
      if (Date.now() + backoff(attempt) > deadline) {
        throw busy(
          isConnectionError(error) ? "the bank's database cannot be reached: try again" : "the bank's database is too busy: try again",
        );
      }
      await sleep(backoff(attempt));
    }
  }

  /**
   * One try of `fn` as a transaction. Rejects with the database's error when it failed before COMMIT
   * (nothing changed: the caller may run it again); resolves when it committed, also when the COMMIT's
   * answer was lost but the server says it committed.
   */
  private async attempt<T>(fn: (tx: StoreTx) => Promise<T>): Promise<{ value: T }> {
    const client = await this.connect();
    let healthy = true;
    let committing = false;
    let appended = false;
    let value: T | undefined;
    const tx = new PgTx(client, () => {
      appended = true;
    });
    try {
      try {
        value = await fn(tx);
      } catch (error) {
        if (isConnectionError(error)) healthy = false;
        else
          await tx.rollback().catch(() => {
            healthy = false;
          });
        throw error;
      }
      committing = true;
      await tx.commit();
      if (appended) this.sealer?.notify();
      return { value: value as T };
    } catch (error) {
      if (isConnectionError(error)) healthy = false;
      if (!committing || tx.xid === null) throw error;
      // The COMMIT was sent and its answer lost (or refused): ask what became of the transaction.
      healthy = false;
      const status = await this.commitStatus(tx.xid);
      if (status === "committed") {
        if (appended) this.sealer?.notify();
        // fn's result stands: the transaction it was computed in is committed.
        return { value: value as T };
      }
      throw error;
    } finally {
      client.release(!healthy);
    }
  }

  /** Asks the server what became of transaction `xid` until it knows (COMMIT_RESOLVE_MS at most). */
  private async commitStatus(xid: string): Promise<"committed" | "aborted"> {
    const deadline = Date.now() + COMMIT_RESOLVE_MS;
    for (;;) {
      try {
        const { rows } = await this.pool.query<{ status: string | null }>("SELECT pg_xact_status($1::xid8) AS status", [xid]);
        const status = rows[0].status;
        if (status === "committed" || status === "aborted") return status;
        // "in progress": the server is still finishing the commit it received.
      } catch {
        // Unreachable or restarting: ask again.
      }
      if (Date.now() > deadline) {
        throw new StoreBusyError(
          "the connection to the bank's database was lost while committing and the outcome is not known yet: look the token up before retrying",
          1,
        );
      }
      await sleep(200);
    }
  }

  private async read<T>(query: QueryConfig): Promise<T[]> {
    if (this.closed) throw busy("the bank's store is closed");
    if (this.pool.waitingCount >= MAX_WAITING) throw busy("the bank's database has too many requests waiting: try again");
    const deadline = Date.now() + RETRY_WINDOW_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.pool.query(query)).rows as T[];
      } catch (error) {
        if (!isConnectionError(error)) throw translate(error);
        if (Date.now() + backoff(attempt) > deadline) throw busy("the bank's database cannot be reached: try again");
        await sleep(backoff(attempt));
      }
    }
  }

  async getSetting(name: SettingName): Promise<string | null> {
    return (await this.read<{ value: string }>(named("SELECT value FROM settings WHERE name = $1", [name])))[0]?.value ?? null;
  }

  async getToken(userId: string): Promise<TokenRow | undefined> {
    return (await this.read<TokenRow>(named("SELECT * FROM tokens WHERE user_id = $1", [userId])))[0];
  }

  async latestIssue(userId: string): Promise<IssueRow | undefined> {
    return (await this.read<IssueRow>(named("SELECT * FROM issues WHERE user_id = $1 ORDER BY issue_id DESC LIMIT 1", [userId])))[0];
  }

  async customerOf(userId: string): Promise<CustomerRow | undefined> {
    return (await this.read<CustomerRow>(named(CUSTOMER_OF, [userId])))[0];
  }

  listTokens(options: { afterUserId?: string; limit: number; expiringBefore?: number }): Promise<TokenRow[]> {
    if (options.expiringBefore !== undefined) {
      return this.read(
        named("SELECT * FROM tokens WHERE state <> 'revoked' AND expires_at < $1 AND user_id > $2 ORDER BY user_id LIMIT $3", [
          options.expiringBefore,
          options.afterUserId ?? "",
          options.limit,
        ]),
      );
    }
    return this.read(
      named("SELECT * FROM tokens WHERE user_id > $1 ORDER BY user_id LIMIT $2", [options.afterUserId ?? "", options.limit]),
    );
  }

  async countTokens(): Promise<Record<TokenState | "locked", number>> {
    const counts = { active: 0, suspended: 0, revoked: 0, locked: 0 };
    const rows = await this.read<{ state: TokenState; n: number; locked: number }>(
      named("SELECT state, count(*) AS n, sum(locked) AS locked FROM tokens GROUP BY state", []),
    );
    for (const row of rows) {
      counts[row.state] = row.n;
      if (row.state !== "revoked") counts.locked += row.locked;
    }
    return counts;
  }

  /** Chains what is queued first, so a reader sees every event committed before it asked. */
  private async sealed(): Promise<void> {
    if (!this.sealer) return;
    try {
      await this.sealer.drain();
    } catch (error) {
      if (isConnectionError(error)) throw busy("the bank's database cannot be reached: try again");
      throw translate(error);
    }
  }

  /** Chains every event committed so far (what a reader of the trail does first; tools that read the tables directly call it). */
  sealAudit(): Promise<void> {
    return this.sealed();
  }

  async events(afterId: number, limit: number): Promise<EventRow[]> {
    await this.sealed();
    return this.read(named("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2", [afterId, limit]));
  }

  async eventsOf(userId: string, limit: number): Promise<EventRow[]> {
    await this.sealed();
    return this.read(named("SELECT * FROM events WHERE user_id = $1 ORDER BY id DESC LIMIT $2", [userId, limit]));
  }

  async getApiKey(keyId: string): Promise<ApiKeyRow | undefined> {
    return (await this.read<ApiKeyRow>(named("SELECT * FROM api_keys WHERE key_id = $1", [keyId])))[0];
  }

  listApiKeys(): Promise<ApiKeyRow[]> {
    return this.read(named("SELECT * FROM api_keys ORDER BY created_at, key_id", []));
  }

  async useAuditKey(key: Uint8Array): Promise<void> {
    this.sealer = new AuditSealer(this.pool, key);
    // Rows a stopped instance left queued.
    await this.sealed();
  }

  /** The audit sealer's counters (rows chained by this instance, sealing transactions). */
  get sealing(): { sealed: number; batches: number } {
    return { sealed: this.sealer?.sealed ?? 0, batches: this.sealer?.batches ?? 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sealer?.close();
    this.closed = true;
    await this.pool.end();
  }
}

const withListener = new WeakSet<PoolClient>();

/**
 * A checked-out connection whose server goes away emits "error" (the pool listens only to idle ones):
 * unheard, that would end the process. The query in flight fails with the same error, which is what
 * the store acts on.
 */
export function listened(client: PoolClient): PoolClient {
  if (!withListener.has(client)) {
    client.on("error", () => undefined);
    withListener.add(client);
  }
  return client;
}

function backoff(attempt: number): number {
  return Math.min(50 * 2 ** attempt, 400);
}

/** A database error outside the retry rules, as the store's errors where one fits. */
function translate(error: unknown): unknown {
  const code = sqlState(error);
  if (code === "55P03" || code === "57014")
    return busy("a row the request needs is held by another request for longer than the wait allows: try again");
  if (isConnectionError(error)) return busy("the bank's database cannot be reached: try again");
  return error;
}

function openError(error: unknown, location: string): unknown {
  if (error instanceof StoreOpenError) return error;
  const code = sqlState(error);
  const message = (error as Error)?.message ?? String(error);
  if (code === "ECONNREFUSED")
    return new StoreOpenError(`cannot reach PostgreSQL at ${location}: connection refused (is the server running, on that host and port?)`);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new StoreOpenError(`cannot reach PostgreSQL at ${location}: unknown host`);
  if (code === "3D000") return new StoreOpenError(`${message}: create it first (createdb), or check the database name in ${location}`);
  if (code === "28P01" || code === "28000") return new StoreOpenError(`PostgreSQL refused the login at ${location}: ${message}`);
  if (isConnectionError(error)) return new StoreOpenError(`cannot reach PostgreSQL at ${location}: ${message}`);
  if (/^[0-9A-Z]{5}$/.test(code)) return new StoreOpenError(`PostgreSQL at ${location}: ${message}`);
  return error;
}

/** True when the database at `url` already holds a bank schema (for `bank init`, which makes new ones only). */
export async function postgresHasBank(url: string): Promise<boolean> {
  const pg = loadPg();
  const location = redactUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    const { rows } = await client.query<{ found: string | null }>("SELECT to_regclass('schema_migrations')::text AS found");
    return rows[0].found !== null;
  } catch (error) {
    throw openError(error, location);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Brings the schema to SCHEMA_VERSION, one migration per transaction, each under the migration
 * advisory lock (a second instance starting at once waits, then finds the migration applied).
 */
export async function migrate(pool: Pool, location: string, mayCreate: boolean, migrations: readonly string[] = MIGRATIONS): Promise<void> {
  const client = listened(await pool.connect());
  try {
    for (;;) {
      await client.query("BEGIN");
      try {
        await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK.toString()]);
        const { rows } = await client.query<{ found: string | null }>("SELECT to_regclass('schema_migrations')::text AS found");
        let version = 0;
        if (rows[0].found === null) {
          if (!mayCreate) {
            const tables = await client.query<{ n: number }>("SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema()");
            throw new StoreOpenError(
              Number(tables.rows[0].n) > 0
                ? `${location} is a PostgreSQL database but not a bank database (no schema_migrations table)`
                : `${location} has no bank schema yet: run 'otp-token bank init --db ${location}'`,
            );
          }
          await client.query("CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
        } else {
          const applied = await client.query<{ v: number | null }>("SELECT max(version) AS v FROM schema_migrations");
          version = applied.rows[0].v ?? 0;
        }
        if (version > migrations.length) {
          throw new StoreOpenError(
            `the bank database ${location} has schema version ${version}, newer than this program's ${migrations.length}: upgrade otp-token`,
          );
        }
        if (version === migrations.length) {
          await client.query("COMMIT");
          return;
        }
        await client.query(migrations[version]);
        await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [version + 1]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    }
  } finally {
    client.release();
  }
}

/** Statement names: each SQL text is parsed and planned once per connection. */
const names = new Map<string, string>();
function named(text: string, values: unknown[]): QueryConfig {
  let name = names.get(text);
  if (name === undefined) {
    name = `bank-${names.size + 1}`;
    names.set(text, name);
  }
  return { name, text, values };
}

const CUSTOMER_OF = `SELECT c.* FROM customers c WHERE c.customer_id = coalesce(
  (SELECT customer_id FROM tokens WHERE user_id = $1),
  (SELECT customer_id FROM issues WHERE user_id = $1 ORDER BY issue_id DESC LIMIT 1),
  (SELECT customer_id FROM customers WHERE legacy_user_id = $1))`;

/**
 * `text` with $1, $2, ... replaced by SQL literals of `values`, for the simple query protocol (several
 * statements in one message). Only the types the store passes are accepted: safe integers, strings
 * (pg's escapeLiteral: quotes doubled, E'' when a backslash is present), bytes (bytea hex), null.
 */
export function bindLiterals(text: string, values: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = values[Number(n) - 1];
    if (value === null || value === undefined) return "NULL";
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new TypeError(`store: ${value} is not an integer the bank stores`);
      return String(value);
    }
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "string") {
      if (value.includes("\0")) throw new TypeError("store: a text value contains a NUL character");
      return escapeLiteral(value);
    }
    if (value instanceof Uint8Array) return `'\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}'::bytea`;
    throw new TypeError(`store: cannot bind a ${typeof value}`);
  });
}

/** pg's escapeLiteral, from the loaded module (pg itself is loaded lazily). */
let escapeLiteral: (text: string) => string = () => {
  throw new Error("pg is not loaded");
};

/**
 * One transaction's statements on its connection; rows read to be changed are locked until commit.
 * BEGIN and the transaction id go with the first statement sent; writes whose answer nobody awaits
 * are held and go with the next statement, or with COMMIT.
 */
class PgTx implements StoreTx {
  /** The transaction id (pg_current_xact_id), once BEGIN has been answered. */
  xid: string | null = null;
  private held: string[] = [];

  constructor(
    private readonly client: PoolClient,
    private readonly onAppend: () => void,
  ) {}

  /** Sends the held writes and `statement` in one message (opening the transaction first); the statement's result. */
  private async send(statement: string): Promise<Pg.QueryResult> {
    const parts = this.xid === null ? ["BEGIN", "SELECT pg_current_xact_id()::text AS xid"] : [];
    parts.push(...this.held, statement);
    this.held = [];
    const answer = (await this.client.query(parts.join(";\n"))) as unknown as Pg.QueryResult | Pg.QueryResult[];
    const results = Array.isArray(answer) ? answer : [answer];
    if (this.xid === null) this.xid = (results[1].rows[0] as { xid: string }).xid;
    return results[results.length - 1];
  }

  private hold(text: string, values: unknown[]): Promise<void> {
    this.held.push(bindLiterals(text, values));
    return Promise.resolve();
  }

  async commit(): Promise<void> {
    if (this.xid === null && this.held.length === 0) return;
    // The transaction id must be known before COMMIT is sent (what to ask about if its answer is lost).
    if (this.xid === null) await this.send("SELECT 1");
    await this.client.query([...this.held, "COMMIT"].join(";\n"));
    this.held = [];
  }

  async rollback(): Promise<void> {
    this.held = [];
    if (this.xid !== null) await this.client.query("ROLLBACK");
  }

  private async rows<T>(text: string, values: unknown[]): Promise<T[]> {
    return (await this.send(bindLiterals(text, values))).rows as T[];
  }

  private async first<T>(text: string, values: unknown[]): Promise<T | undefined> {
    return (await this.rows<T>(text, values))[0];
  }

  private async count(text: string, values: unknown[]): Promise<number> {
    return (await this.send(bindLiterals(text, values))).rowCount ?? 0;
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

  tokenOfCustomer(customerId: number): Promise<TokenRow | undefined> {
    return this.first("SELECT * FROM tokens WHERE customer_id = $1 FOR UPDATE", [customerId]);
  }

  async replaceToken(token: NewToken): Promise<void> {
    await this.hold("DELETE FROM tokens WHERE customer_id = $1", [token.customer_id]);
    await this.hold(
      `INSERT INTO tokens (user_id, customer_id, issue_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, activated_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
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
      ],
    );
  }

  async recordTokenSuccess(userId: string, driftSteps: number, lastStep: number, at: number): Promise<void> {
    await this.hold(
      "UPDATE tokens SET drift_steps = $1, last_step = $2, consecutive_failures = 0, next_check_at = 0, last_success_at = $3 WHERE user_id = $4",
      [driftSteps, lastStep, at, userId],
    );
  }

  async recordTokenFailure(userId: string, threshold: number, nextCheckAt: number): Promise<{ failures: number; locked: boolean }> {
    const row = await this.first<{ consecutive_failures: number; locked: number }>(
      `UPDATE tokens SET consecutive_failures = consecutive_failures + 1,
         locked = CASE WHEN consecutive_failures + 1 >= $1 THEN 1 ELSE locked END,
         next_check_at = $2
       WHERE user_id = $3 RETURNING consecutive_failures, locked`,
      [threshold, nextCheckAt, userId],
    );
    return { failures: row!.consecutive_failures, locked: row!.locked === 1 };
  }

  async unlockToken(userId: string): Promise<void> {
    await this.hold("UPDATE tokens SET consecutive_failures = 0, locked = 0, next_check_at = 0 WHERE user_id = $1", [userId]);
  }

  async setTokenState(userId: string, state: TokenState): Promise<void> {
    await this.hold("UPDATE tokens SET state = $1 WHERE user_id = $2", [state, userId]);
  }

  async appendEvent(event: NewEvent): Promise<void> {
    await this.hold("INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail) VALUES ($1, $2, $3, $4, $5, $6)", [
      event.at,
      event.kind,
      event.service_id,
      event.user_id,
      event.actor,
      event.detail,
    ]);
    this.onAppend();
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
}
