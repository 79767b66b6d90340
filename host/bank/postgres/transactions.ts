// The PostgreSQL store's transaction runner (store.ts, transaction()).
//
// Retries (run()): a transaction that failed before its COMMIT was sent (serialization failure,
// deadlock, the connection dropped, the server restarting) changed nothing, so it is run again from
// the start, reading afresh, within RETRY_WINDOW_MS; after that the caller gets StoreBusyError (503).
//
// A COMMIT whose answer was lost (the connection broke after its message was handed over) is never
// simply run again: it may have committed (a code accepted, a failure counted), and running the check
// again would then refuse the accepted code as replayed and count a failure that did not happen. Nor is
// it decided by the transaction id (pg_xact_status): after a crash PostgreSQL hands an id out again
// when the transaction that had it left nothing durable, and the id then reads "committed" for a
// transaction that did not commit. What decides is the transaction's own commit id (tx.ts: 16 random
// bytes inserted into commit_ids by COMMIT's own message), looked up once the transaction can no
// longer be in flight (lostCommitOutcome). A transaction that records an audit event writes no row
// of its own for that: its first event's nonce (16 random bytes, unique in the trail) is its commit
// id, found in audit_queue or, once sealed, in events (tx.ts):
// - present -> committed: the first run's result stands;
// - absent, and the server process that ran it has exited -> not committed, never will be: run again;
// - neither known within COMMIT_RESOLVE_MS -> StoreBusyError (503) saying the outcome is unknown.
// A group of verifications (group.ts) is one transaction to these rules (retried, commitDecided): its
// commit id is its first audit event's nonce, and the outcome is every member's.
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

/** An absent commit id proves "not committed" only when looked up within this long of sending COMMIT. */
export const COMMIT_ID_DECIDE_MS = 60_000;
/** Commit ids are kept this long (store.ts prunes older ones): twice COMMIT_ID_DECIDE_MS. */
export const COMMIT_ID_KEEP_MS = 2 * COMMIT_ID_DECIDE_MS;
/** Proven-not-committed runs are run again at most this many times in one transaction() call. */
const MAX_RERUNS_AFTER_LOST_COMMIT = 3;

/** What is known of a transaction whose COMMIT's answer was lost. */
export interface LostCommit {
  /** Its commit id (PgTx.commitId). */
  commitId: Uint8Array;
  /** The commit id is an audit event's nonce (PgTx.commitIdIsNonce), not a commit_ids row. */
  isNonce?: boolean;
  /** The server process that ran it (PgTx.backendPid); null: "not committed" cannot be proven. */
  backendPid: number | null;
  /** performance.now() just before COMMIT's message was handed to the connection. */
  sentAt: number;
}

/** The lost COMMIT is proven not to have committed: the transaction may run again. */
export class NotCommitted extends Error {
  override name = "NotCommitted";
}

/**
 * What became of a transaction whose COMMIT's answer was lost. Its commit id found: "committed" (a row
 * is visible only once its transaction committed). Not found, it proves nothing until the server
 * process that ran the transaction is gone from pg_stat_activity (terminated if it lingers): a process
 * exits only after ending its transaction (committed, and then visible to every later snapshot, or
 * rolled back for good), and whatever of the message it had not read dies with it; after a crash or a
 * restart every process of before is gone, and the id is there if and only if the commit was durable.
 * So the id is looked up again after the answer "gone" came back (its snapshot is later than the
 * process's end): absent -> "not committed". Unknown within `resolveMs` (the server unreachable, the
 * process still listed, or the COMMIT sent too long ago for an absent id to prove anything):
 * StoreBusyError.
 */
export async function lostCommitOutcome(
  pool: Pool,
  lost: LostCommit,
  resolveMs = COMMIT_RESOLVE_MS,
): Promise<"committed" | "not committed"> {
  const deadline = performance.now() + resolveMs;
  // A nonce is in the queue until sealed, then in events: the sealer moves it in one transaction, and
  // one statement's snapshot sees it in exactly one of the two. (The queue has no index on nonce: this
  // rare lookup scans it; it holds only what is not sealed yet.)
  const lookup = lost.isNonce
    ? "SELECT 1 FROM audit_queue WHERE nonce = $1 UNION ALL SELECT 1 FROM events WHERE nonce = $1"
    : "SELECT 1 FROM commit_ids WHERE id = $1";
  const present = async () => ((await pool.query(lookup, [Buffer.from(lost.commitId)])).rowCount ?? 0) > 0;
  let terminated = false;
  for (;;) {
    try {
      if (await present()) return "committed";
      if (lost.backendPid !== null) {
        const running = await pool.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [lost.backendPid]);
        if (running.rowCount === 0) {
          // Gone: the transaction ended before that answer; a lookup sent now sees how.
          const askedAt = performance.now();
          if (await present()) return "committed";
          if (askedAt - lost.sentAt < COMMIT_ID_DECIDE_MS) return "not committed";
        } else if (!terminated) {
          // Still there: its client (this store) has closed the connection, nothing more is to come.
          terminated = true;
          await pool.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND usename = current_user AND application_name = $2",
            [lost.backendPid, "otp-token bank"],
          );
        }
      }
    } catch {
      // Unreachable or restarting: ask again.
    }
    if (performance.now() > deadline) {
      throw new StoreBusyError(
        "the connection to the bank's database was lost while committing and the outcome is not known yet: look the token up before retrying",
        1,
      );
    }
    await sleep(200);
  }
}

/** One line on stderr (a process warning) per COMMIT whose answer was lost: rare, and worth an operator's notice. */
function lostCommitWarning(outcome: string): void {
  process.emitWarning(`a COMMIT's answer was lost; by its commit id the transaction is ${outcome}`, { code: LOST_COMMIT_WARNING });
}

/** The code of that warning. */
export const LOST_COMMIT_WARNING = "OTP_TOKEN_LOST_COMMIT";

/**
 * Sends a transaction's COMMIT (`commit`, its message handed over when called). Resolves when it
 * committed, also when its answer was lost and the commit id (`lost`) says it committed; rejects
 * with the server's error (rolled back), NotCommitted (its answer lost, proven not committed) or
 * StoreBusyError (the outcome not known). `broken` runs first when the connection failed (it is
 * given back before the lookup, which needs another).
 */
export async function commitDecided(
  pool: Pool,
  commit: () => Promise<unknown>,
  lost: () => Omit<LostCommit, "sentAt">,
  broken: () => void,
): Promise<void> {
  const sentAt = performance.now();
  try {
    await commit();
  } catch (error) {
    broken();
    // The server answered with an error: the transaction block is rolled back, as every failed one is.
    if (!isConnectionError(error)) throw error;
    // The connection broke with COMMIT's message handed over: ask what became of the transaction.
    let outcome: "committed" | "not committed";
    try {
      outcome = await lostCommitOutcome(pool, { ...lost(), sentAt });
    } catch (unknown) {
      lostCommitWarning("not known (answered 503)");
      throw unknown;
    }
    lostCommitWarning(outcome === "committed" ? "committed (its result stands)" : "not committed (run again)");
    if (outcome === "not committed") throw new NotCommitted(`not committed: ${(error as Error).message}`);
    // Committed: the result stands, the transaction it was computed in is committed.
  }
}

export class TransactionRunner {
  constructor(
    private readonly pool: Pool,
    /**
     * A connection from the pool (the store refuses when closed or too many wait); the wait is told
     * from `queuedAt` (performance.now() when the transaction asked, before any queue of the store's own).
     */
    private readonly connect: (queuedAt?: number) => Promise<PoolClient>,
    /** A transaction that appended to the audit queue committed: the sealer should run. */
    private readonly appended: () => void,
  ) {}

  /** `fn` as one transaction, run again as the header says; `queuedAt`: when it asked for the store (its wait is told from then). */
  run<T>(fn: (tx: StoreTx) => Promise<T>, queuedAt?: number): Promise<T> {
    return this.retried((first) => this.attempt(fn, first ? queuedAt : undefined));
  }

  /**
   * Runs `attempt` until it resolves: again (with a backoff) after an error that changed nothing
   * (the connection's, a serialization failure or deadlock) within RETRY_WINDOW_MS, then
   * StoreBusyError; again with a fresh window after NotCommitted (at most MAX_RERUNS_AFTER_LOST_COMMIT
   * times); any other error goes to the caller (translated). `first`: the first try.
   */
  async retried<T>(attempt: (first: boolean) => Promise<{ value: T }>): Promise<T> {
    let deadline = Date.now() + RETRY_WINDOW_MS;
    let reruns = 0;
    for (let tries = 0; ; tries++) {
      const outcome = await attempt(tries === 0).catch((error: unknown) => ({ error }));
      if (!("error" in outcome)) return outcome.value;
      const { error } = outcome;
      if (error instanceof NotCommitted && reruns < MAX_RERUNS_AFTER_LOST_COMMIT) {
        // Proven not committed, the server answering again: a fresh window for the run again.
        reruns++;
        deadline = Math.max(deadline, Date.now() + RETRY_WINDOW_MS);
        continue;
      }
      const retryable = isConnectionError(error) || isRetryableConflict(error) || error instanceof NotCommitted;
      if (!retryable) throw error instanceof StoreBusyError ? error : translate(error);
      if (Date.now() + backoff(tries) > deadline) {
        throw busy(
          isRetryableConflict(error) ? "the bank's database is too busy: try again" : "the bank's database cannot be reached: try again",
        );
      }
      await sleep(backoff(tries));
    }
  }

  /**
   * One try of `fn` as a transaction. Rejects with the database's error when it failed before COMMIT
   * (nothing changed: the caller may run it again), with NotCommitted when COMMIT's answer was lost and
   * it is proven not committed; resolves when it committed, also when COMMIT's answer was lost and its
   * commit id is there.
   */
  private async attempt<T>(fn: (tx: StoreTx) => Promise<T>, queuedAt?: number): Promise<{ value: T }> {
    const client = await this.connect(queuedAt);
    let released = false;
    const release = (broken: boolean) => {
      if (released) return;
      released = true;
      client.release(broken);
    };
    let appended = false;
    const tx = new PgTx(client, () => {
      appended = true;
    });
    let value: T;
    try {
      value = await fn(tx);
    } catch (error) {
      let healthy = !isConnectionError(error);
      if (healthy)
        await tx.rollback().catch(() => {
          healthy = false;
        });
      release(!healthy);
      throw error;
    }
    await commitDecided(
      this.pool,
      () => tx.commit(),
      () => ({ commitId: tx.commitId, isNonce: tx.commitIdIsNonce, backendPid: tx.backendPid }),
      () => release(true),
    );
    release(false);
    if (appended) this.appended();
    return { value };
  }
}
