// Grouped verifications on PostgreSQL (TransactionOptions.group, host/bank/store.ts): transactions
// with a key (a verification's User ID) that arrive while the store is busy queue up, and a group
// takes up to MAX_GROUP of them (distinct keys) and runs them in ONE database transaction on one
// connection:
//
//   BEGIN, SELECT <the columns a code check reads> FROM tokens WHERE user_id = ANY($1) ORDER BY user_id FOR UPDATE
//   every member's callback, against a tx whose verifiableToken(its key) answers from that read
//     (a wrong or replayed code's recordTokenFailure: its own UPDATE ... RETURNING, pipelined)
//   the successes' UPDATE ... FROM unnest(...) and the audit rows' INSERT ... SELECT FROM unnest(...)
//     as one statement (statements.ts), COMMIT, in one write
//
// so a group of n costs PostgreSQL one transaction, two round trips and one commit (one WAL flush)
// instead of n of each. What holds:
// - Locks in key order (ORDER BY under FOR UPDATE): groups of different instances never deadlock
//   on each other; a deadlock or serialization failure (with another kind of transaction) is retried
//   as a single transaction is (transactions.ts, TransactionRunner.retried: the retry window, then
//   StoreBusyError).
// - A key in a group in flight is not taken by another group of this instance: a second
//   transaction of the same token waits for the next group (never for a lock held by our own group).
// - Each member is answered only after the COMMIT that holds it. A member whose callback throws, or
//   does what a group does not run (another token, any other statement), and a database error a
//   retry cannot cure, roll the group back (nothing of it committed) and each member runs again
//   alone, as an ungrouped transaction: the others do not fail with it.
// - A lost COMMIT is decided for the whole group by its commit id, the nonce of its first audit event
//   (lostCommitOutcome): every member committed or none (then the group runs again).
// - No timer: a group starts as soon as fewer than `inFlight` groups run, one turn of the event loop
//   after its first member asked (setImmediate, so the requests read in the same turn join it),
//   taking whatever is queued. A lone member runs as an ungrouped transaction (the same statements
//   as before groups).
// - Each member's wait for the database (queued here, then for a pool connection) is told to the
//   store's waitObserver, one observation per member.
import type Pg from "pg";
import type { Pool, PoolClient } from "pg";
import { randomBytes } from "node:crypto";
import { AUDIT_NONCE_BYTES } from "../audit.js";
import type { NewEvent, StoreTx, VerifiableToken } from "../store.js";
import { StoreBusyError } from "../store.js";
import { busy, isConnectionError, isRetryableConflict, MAX_WAITING } from "./connection.js";
import {
  APPEND_EVENTS,
  INSERT_COMMIT_ID,
  mergeHeld,
  pipelined,
  RECORD_TOKEN_FAILURE,
  RECORD_TOKEN_SUCCESSES,
  type Statement,
  settle,
  VERIFIABLE_TOKENS,
} from "./statements.js";
import { commitDecided, NotCommitted, type TransactionRunner } from "./transactions.js";

/** Members of one group at most. */
export const MAX_GROUP = 64;
/** Groups of one instance in flight at once (each on a pool connection of its own). */
export const GROUPS_IN_FLIGHT = 2;

export interface GroupOptions {
  /** Groups in flight at once (GROUPS_IN_FLIGHT), at most the pool's size. */
  inFlight?: number;
  /** Members per group (MAX_GROUP). */
  maxGroup?: number;
}

/** What the groups did (the bench's and the tests' figures). */
export interface GroupStats {
  /** Database transactions that committed two members or more, and those members. */
  groups: number;
  grouped: number;
  /** Members run as an ungrouped transaction: alone in their turn, or again after their group fell back. */
  alone: number;
  /** Groups rolled back and run again member by member (a callback threw, or did what a group does not run). */
  fallbacks: number;
}

interface Member {
  key: string;
  fn: (tx: StoreTx) => Promise<unknown>;
  /** performance.now() when it asked. */
  queuedAt: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** A member's callback did what a grouped transaction does not run: the group runs each member alone. */
class Ungroupable extends Error {
  override name = "Ungroupable";
}

/** The errors a group passes to the retry rules (run again, busy, decided) rather than running its members alone. */
const forTheRunner = (error: unknown) =>
  error instanceof StoreBusyError || error instanceof NotCommitted || isConnectionError(error) || isRetryableConflict(error);

export class GroupRunner {
  private queue: Member[] = [];
  private running = 0;
  /** The keys of the members of the groups in flight. */
  private readonly busyKeys = new Set<string>();
  private scheduled = false;
  private readonly inFlight: number;
  private readonly maxGroup: number;
  readonly stats: GroupStats = { groups: 0, grouped: 0, alone: 0, fallbacks: 0 };

  constructor(
    private readonly pool: Pool,
    private readonly runner: TransactionRunner,
    /** A pool connection; each of `queuedAt` (performance.now() values) is told its wait. */
    private readonly connect: (queuedAt: readonly number[]) => Promise<PoolClient>,
    /** A group that appended to the audit queue committed: the sealer should run. */
    private readonly appended: () => void,
    options: GroupOptions = {},
  ) {
    // A group holds a connection: never more groups than the pool has connections.
    this.inFlight = Math.max(1, Math.min(options.inFlight ?? GROUPS_IN_FLIGHT, pool.options.max ?? GROUPS_IN_FLIGHT));
    this.maxGroup = Math.max(1, Math.min(options.maxGroup ?? MAX_GROUP, MAX_GROUP));
  }

  /** `fn` as a member of a group (or alone), keyed by `key`. */
  run<T>(key: string, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.queue.length >= MAX_WAITING) return Promise.reject(busy("the bank's database has too many requests waiting: try again"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ key, fn, queuedAt: performance.now(), resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Members waiting for a group. */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.inFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    while (this.running < this.inFlight) {
      const members = this.take();
      if (members.length === 0) return;
      this.running++;
      for (const member of members) this.busyKeys.add(member.key);
      void this.runGroup(members).finally(() => {
        this.running--;
        for (const member of members) this.busyKeys.delete(member.key);
        this.schedule();
      });
    }
  }

  /** Up to maxGroup queued members, oldest first, of distinct keys none of which is in a group in flight. */
  private take(): Member[] {
    const taken: Member[] = [];
    const keys = new Set<string>();
    const left: Member[] = [];
    for (const member of this.queue) {
      if (taken.length < this.maxGroup && !keys.has(member.key) && !this.busyKeys.has(member.key)) {
        keys.add(member.key);
        taken.push(member);
      } else {
        left.push(member);
      }
    }
    this.queue = left;
    return taken;
  }

  private alone(member: Member, queuedAt?: number): Promise<void> {
    this.stats.alone++;
    return this.runner.run(member.fn, queuedAt).then(member.resolve, member.reject);
  }

  private async runGroup(members: Member[]): Promise<void> {
    if (members.length === 1) return this.alone(members[0], members[0].queuedAt);
    let values: unknown[] | null;
    try {
      values = await this.runner.retried((first) => this.attempt(members, first));
    } catch (error) {
      for (const member of members) member.reject(error);
      return;
    }
    if (values === null) {
      // Nothing of the group committed: each member again, as the transaction it would have been alone.
      this.stats.fallbacks++;
      await Promise.all(members.map((member) => this.alone(member)));
      return;
    }
    this.stats.groups++;
    this.stats.grouped += members.length;
    for (const [i, member] of members.entries()) member.resolve(values[i]);
  }

  /**
   * One try of the group as one transaction: its members' values once committed (also when COMMIT's
   * answer was lost and the commit id is there), or null when the members are to run alone (nothing
   * committed). Rejects with what the retry rules act on: a connection error or conflict (nothing
   * changed), NotCommitted, StoreBusyError.
   */
  private async attempt(members: Member[], first: boolean): Promise<{ value: unknown[] | null }> {
    const now = performance.now();
    const client = await this.connect(members.map((member) => (first ? member.queuedAt : now)));
    let released = false;
    const release = (broken: boolean) => {
      if (released) return;
      released = true;
      client.release(broken);
    };
    const group = new GroupTx(client);
    let values: unknown[];
    try {
      const tokens = await group.prefetch(members.map((member) => member.key));
      const settled = await Promise.allSettled(members.map(async (member) => member.fn(group.member(member.key, tokens.get(member.key)))));
      if (group.failure) throw group.failure.error;
      if (group.ungroupable || settled.some((outcome) => outcome.status === "rejected")) {
        await group.rollback();
        release(false);
        return { value: null };
      }
      values = settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value);
    } catch (error) {
      let healthy = !isConnectionError(error);
      if (healthy)
        await group.rollback().catch(() => {
          healthy = false;
        });
      release(!healthy);
      if (forTheRunner(error)) throw error;
      return { value: null };
    }
    try {
      await commitDecided(
        this.pool,
        () => group.commit(),
        () => ({ commitId: group.commitId, isNonce: group.commitIdIsNonce, backendPid: group.backendPid }),
        () => release(true),
      );
    } catch (error) {
      // An error the server answered (a statement of the commit's write): rolled back, so each alone.
      if (forTheRunner(error)) throw error;
      return { value: null };
    }
    release(false);
    if (group.appended) this.appended();
    return { value: values };
  }
}

/**
 * One group's transaction on its connection: the token read, the members' views of it (member()),
 * their writes gathered, the commit. No value is ever part of a statement's text (arrays travel as
 * parameters too).
 */
class GroupTx {
  readonly backendPid: number | null;
  private begun = false;
  /** The first error a statement of the group got (a member's callback may have caught it). */
  failure: { error: unknown } | null = null;
  /** A member did what a group does not run. */
  ungroupable = false;
  /** A member appended to the audit queue. */
  appended = false;
  /** Each successful member's RECORD_TOKEN_SUCCESS values, by key: drift, last step, time. */
  private readonly successes = new Map<string, [number, number, number]>();
  private readonly events: NewEvent[] = [];
  #commitId: Uint8Array | null = null;

  constructor(private readonly client: PoolClient) {
    this.backendPid = (client as unknown as { processID?: number | null }).processID ?? null;
  }

  /** BEGIN and every member's token read, locked in key order: the rows by User ID. */
  async prefetch(keys: string[]): Promise<Map<string, VerifiableToken>> {
    this.begun = true;
    const answers = await this.sent(pipelined(this.client, true, [[VERIFIABLE_TOKENS, [keys]]]));
    return new Map((answers[1].rows as VerifiableToken[]).map((row) => [row.user_id, row]));
  }

  /** The answers, the first error kept as the group's failure. */
  private async sent(answers: Promise<Pg.QueryResult>[]): Promise<Pg.QueryResult[]> {
    try {
      return await settle(answers);
    } catch (error) {
      this.failure ??= { error };
      throw error;
    }
  }

  /**
   * The member `key`'s view of the transaction (StoreTx): its token as read, its success held for the
   * group's one UPDATE, its failure counted at once (the count is its answer), its events held for the
   * group's one INSERT. Anything else marks the group ungroupable and throws.
   */
  member(key: string, token: VerifiableToken | undefined): StoreTx {
    let changed = false;
    let succeeded = false;
    const refuse = (what: string) => {
      this.ungroupable = true;
      return Promise.reject(new Ungroupable(`${what} is not run in a grouped transaction`));
    };
    const own: Partial<StoreTx> = {
      verifiableToken: (userId) => {
        if (userId !== key || changed) return refuse("reading another token, or the token after changing it,");
        return Promise.resolve(token && { ...token });
      },
      recordTokenSuccess: (userId, driftSteps, lastStep, at) => {
        if (userId !== key) return refuse("changing another token");
        changed = succeeded = true;
        this.successes.set(key, [driftSteps, lastStep, at]);
        return Promise.resolve();
      },
      recordTokenFailure: async (userId, threshold, nextCheckAt) => {
        if (userId !== key || succeeded) return refuse("changing another token, or a failure after a success,");
        changed = true;
        const [answer] = await this.sent(pipelined(this.client, false, [[RECORD_TOKEN_FAILURE, [threshold, nextCheckAt, userId]]]));
        const row = answer.rows[0] as { consecutive_failures: number; locked: number };
        return { failures: row.consecutive_failures, locked: row.locked === 1 };
      },
      appendEvent: (event) => {
        this.events.push(event);
        this.appended = true;
        return Promise.resolve();
      },
    };
    return new Proxy(own, {
      get: (target, name) => {
        if (typeof name !== "string" || name === "then") return undefined;
        return target[name as keyof StoreTx] ?? (() => refuse(name));
      },
    }) as StoreTx;
  }

  /** The group's commit id: its first audit event's nonce, else a random id COMMIT's write inserts into commit_ids. */
  get commitId(): Uint8Array {
    if (this.#commitId === null) {
      const event = this.events.find((e) => e.nonce.length === AUDIT_NONCE_BYTES);
      this.#commitId = event ? new Uint8Array(event.nonce) : new Uint8Array(randomBytes(16));
    }
    return this.#commitId;
  }

  get commitIdIsNonce(): boolean {
    return this.events.some((e) => e.nonce.length === AUDIT_NONCE_BYTES);
  }

  /** The held writes (one statement: statements.ts mergeHeld), the commit id's row when no event serves, COMMIT: one write. */
  async commit(): Promise<void> {
    const writes: Statement[] = [];
    if (this.successes.size > 0) {
      const rows = [...this.successes];
      writes.push([
        RECORD_TOKEN_SUCCESSES,
        [rows.map(([key]) => key), rows.map(([, v]) => v[0]), rows.map(([, v]) => v[1]), rows.map(([, v]) => v[2])],
      ]);
    }
    const events = this.events;
    if (events.length > 0)
      writes.push([
        APPEND_EVENTS,
        [
          events.map((e) => e.at),
          events.map((e) => e.kind),
          events.map((e) => e.service_id),
          events.map((e) => e.user_id),
          events.map((e) => e.actor),
          events.map((e) => e.detail),
          events.map((e) => e.nonce),
          events.map((e) => e.writer_mac),
        ],
      ]);
    if (!this.commitIdIsNonce) writes.push([INSERT_COMMIT_ID, [this.commitId]]);
    const answers = await settle(pipelined(this.client, false, mergeHeld(writes), "COMMIT"));
    // COMMIT of a transaction that failed answers ROLLBACK; the failure itself was thrown above.
    if (answers[answers.length - 1].command !== "COMMIT") throw new Error("the transaction was rolled back at COMMIT");
  }

  async rollback(): Promise<void> {
    if (this.begun) await this.client.query("ROLLBACK");
  }
}
