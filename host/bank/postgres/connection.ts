// The PostgreSQL store's connections (store.ts): node-postgres loaded lazily, the pool and its
// settings, which errors mean "the connection or the server went away" (a transaction that failed
// before its COMMIT changed nothing and may run again), and how database errors become the store's
// errors (StoreBusyError: 503 + Retry-After; StoreOpenError: one line a person can act on).
import { createRequire } from "node:module";
import type Pg from "pg";
import type { Pool, PoolClient } from "pg";
import { DEFAULT_POOL_SIZE } from "../limits.js";
import { StoreBusyError, StoreOpenError } from "../store.js";

/** Transactions waiting for a connection beyond this are refused at once as busy. */
export const MAX_WAITING = 1000;
/** A transaction that failed before its commit is run again for up to this long. */
export const RETRY_WINDOW_MS = 2000;
/** How long the store keeps asking what became of a commit whose answer was lost. */
export const COMMIT_RESOLVE_MS = 10_000;
/** Waiting for a connection (the server gone or overloaded) gives up after this. */
export const CONNECT_TIMEOUT_MS = 2000;
/** Waiting for another transaction's row lock gives up after this (lock_timeout): busy, 503. */
const LOCK_TIMEOUT_MS = 5000;

export function loadPg(): typeof Pg {
  try {
    return createRequire(import.meta.url)("pg") as typeof Pg;
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

export const sqlState = (error: unknown): string => {
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
export const isRetryableConflict = (error: unknown) => ["40001", "40P01"].includes(sqlState(error));

export const busy = (message: string) => new StoreBusyError(message, 1);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function types(pg: typeof Pg): Pg.CustomTypesConfig {
  // bigint (int8, OID 20) as a JS number: unix seconds, steps, ids and counts all fit 2^53.
  const overrides = new pg.TypeOverrides();
  overrides.setTypeParser(20, (text: string) => Number(text));
  return overrides;
}

/** The pool of one store (one `bank serve` instance). */
export function createPool(pg: typeof Pg, url: string, poolSize: number | undefined): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    lock_timeout: LOCK_TIMEOUT_MS,
    // A connection whose instance died mid-transaction (a network cut, not a closed socket) frees its locks after this.
    idle_in_transaction_session_timeout: 30_000,
    application_name: "otp-token bank",
    types: types(pg),
    // Queries handed to a connection go on the wire at once, each answered in turn (pg >= 8.23): a
    // transaction's statements pipelined (tx.ts), several per round trip, values always parameters.
    pipeline: true,
  });
  // An idle connection whose server went away: the pool drops it, the next transaction connects afresh.
  pool.on("error", () => undefined);
  return pool;
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

export function backoff(attempt: number): number {
  return Math.min(50 * 2 ** attempt, 400);
}

/** A database error outside the retry rules, as the store's errors where one fits. */
export function translate(error: unknown): unknown {
  const code = sqlState(error);
  if (code === "55P03" || code === "57014")
    return busy("a row the request needs is held by another request for longer than the wait allows: try again");
  if (isConnectionError(error)) return busy("the bank's database cannot be reached: try again");
  return error;
}

export function openError(error: unknown, location: string): unknown {
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
