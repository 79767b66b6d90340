// The PostgreSQL store's transaction runner (store.ts, transaction()).
//
// Retries (run()): a transaction that failed before its COMMIT was sent (serialization
// failure, deadlock, the connection dropped, the server restarting) changed nothing, so it is run
// again from the start, reading afresh, within RETRY_WINDOW_MS; after that the caller gets
// StoreBusyError (503). A COMMIT whose answer was lost is never simply run again: it may have
// committed (a code accepted, a failure counted), and running the check again would then refuse
// the accepted code as replayed and count a failure that did not happen. The store asks the server
// what became of that transaction (pg_xact_status of the transaction id it read at BEGIN): committed
// -> the result stands; aborted -> run it again; still unknown after COMMIT_RESOLVE_MS -> 503
// saying so.
import type { Pool, PoolClient } from "pg";
import type { StoreTx } from "../store.js";
import { StoreBusyError } from "../store.js";
import {
  backoff,
  busy,
  COMMIT_RESOLVE_MS,
  isConnectionError,
  isRetryableConflict,
  RETRY_WINDOW_MS,
  sleep,
  translate,
} from "./connection.js";
import { PgTx } from "./tx.js";

export class TransactionRunner {
  constructor(
    private readonly pool: Pool,
    /** A connection from the pool (the store refuses when closed or too many wait). */
    private readonly connect: () => Promise<PoolClient>,
    /** A transaction that appended to the audit queue committed: the sealer should run. */
    private readonly appended: () => void,
  ) {}

  async run<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
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
      if (appended) this.appended();
      return { value: value as T };
    } catch (error) {
      if (isConnectionError(error)) healthy = false;
      if (!committing || tx.xid === null) throw error;
      // The COMMIT was sent and its answer lost (or refused): ask what became of the transaction.
      healthy = false;
      const status = await this.commitStatus(tx.xid);
      if (status === "committed") {
        if (appended) this.appended();
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
}
