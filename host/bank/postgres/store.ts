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
// The modules: connection.ts (pg loaded lazily, the pool, which errors are the connection's, the
// store's errors), transactions.ts (the runner: retries and the lost-commit check), tx.ts (a
// transaction's statements; statements.ts their names and merging), group.ts (verifications grouped
// into one transaction), migrate.ts (migrations, `bank init`'s check), sealer.ts (the audit chain).
// This file is the store: open, transactions, reads, close.
//
// Round trips: every statement is a named statement (prepared once per connection) whose values go as
// parameters, never in its text; the pool's connections pipeline (pg's pipeline mode), so statements
// handed over without awaiting ride one write: BEGIN with the first statement whose answer is
// awaited; writes whose answer nobody awaits (recordTokenSuccess, appendEvent, ... as the SQLite
// store defers them) with the next statement or with COMMIT. A verification is two round trips:
// "BEGIN, SELECT the token FOR UPDATE", then "UPDATE the token and INSERT the audit row (one
// statement: statements.ts mergeHeld), COMMIT" (the audit row's nonce is the commit id, tx.ts: no
// commit-id row to insert or prune); concurrent ones share those two (group.ts).
//
// Every query is asynchronous and the pool is bounded (poolSize, default DEFAULT_POOL_SIZE): one slow
// query holds one connection, never the event loop; past MAX_WAITING waiting transactions the store
// answers busy at once rather than queueing without end.
import type { Pool, PoolClient, QueryConfig } from "pg";
import { vouchLegacy } from "../audit.js";
import type {
  ApiKeyRow,
  AuditAlarm,
  AuditHead,
  AuditSetup,
  BankStore,
  CustomerLoginRow,
  CustomerRow,
  EventRow,
  IssueRow,
  SettingName,
  StoreTx,
  TokenRow,
  TokenState,
  TransactionOptions,
} from "../store.js";
import { DEFAULT_POOL_SIZE, defaultAuditSealers } from "../limits.js";
import { StoreBusyError } from "../store.js";
import {
  backoff,
  busy,
  createPool,
  isConnectionError,
  listened,
  loadPg,
  MAX_WAITING,
  openError,
  RETRY_WINDOW_MS,
  redactUrl,
  sleep,
  translate,
} from "./connection.js";
import { type GroupOptions, GroupRunner, type GroupStats } from "./group.js";
import { migrate } from "./migrate.js";
import { SCHEMA_VERSION } from "./schema.js";
import { AuditSealer, queueContext, queueProblem } from "./sealer.js";
import { COMMIT_ID_KEEP_MS, TransactionRunner } from "./transactions.js";
import { CUSTOMER_OF, LOGIN_SELECT, statementName } from "./tx.js";

export { DEFAULT_POOL_SIZE };
export { COMMIT_RESOLVE_MS, isConnectionError, listened, MAX_WAITING, RETRY_WINDOW_MS, redactUrl } from "./connection.js";
export { migrate, postgresHasBank } from "./migrate.js";
export { COMMIT_ID_DECIDE_MS, COMMIT_ID_KEEP_MS, lostCommitOutcome } from "./transactions.js";
export { GROUPS_IN_FLIGHT, MAX_GROUP } from "./group.js";

/** Each instance deletes commit ids older than COMMIT_ID_KEEP_MS this often (and at open). */
export const COMMIT_ID_PRUNE_MS = 30_000;
/** Rows per pruning statement. */
const PRUNE_BATCH = 5000;

export interface PgStoreOptions {
  create?: boolean;
  poolSize?: number;
  /** How transactions with a group key are grouped (group.ts); false: each alone, as without a key. */
  grouping?: GroupOptions | false;
  /** Partitions this instance seals at once (sealer.ts; `bank serve --audit-sealers`); default defaultAuditSealers(poolSize). */
  auditSealers?: number;
}

export class PgStore implements BankStore {
  readonly kind = "postgres";
  readonly schemaVersion = SCHEMA_VERSION;
  private sealer: AuditSealer | null = null;
  private auditSealers = 1;
  private closed = false;
  private pruneTimer: NodeJS.Timeout | null = null;
  private pruning: Promise<unknown> | null = null;
  private readonly runner: TransactionRunner;
  private readonly groups: GroupRunner | null;
  waitObserver: ((seconds: number) => void) | null = null;

  private constructor(
    /** The connection pool (tests and the bench may query the database directly). */
    readonly pool: Pool,
    readonly location: string,
    grouping: GroupOptions | false,
  ) {
    const appended = () => this.sealer?.notify();
    this.runner = new TransactionRunner(pool, (queuedAt) => this.connect(queuedAt), appended);
    this.groups = grouping ? new GroupRunner(pool, this.runner, (queuedAt) => this.connect(queuedAt), appended, grouping) : null;
  }

  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const pg = loadPg();
    const location = redactUrl(url);
    const pool = createPool(pg, url, options.poolSize);
    try {
      await migrate(pool, location, options.create === true);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw openError(error, location);
    }
    const store = new PgStore(pool, location, options.grouping ?? {});
    store.auditSealers = options.auditSealers ?? defaultAuditSealers(options.poolSize ?? DEFAULT_POOL_SIZE);
    store.prunePeriodically();
    return store;
  }

  /** Prunes commit ids now and every COMMIT_ID_PRUNE_MS, in the background (one run at a time). */
  private prunePeriodically(): void {
    const prune = () => {
      if (this.pruning || this.closed) return;
      this.pruning = this.pruneCommitIds()
        .catch(() => undefined)
        .finally(() => {
          this.pruning = null;
        });
    };
    prune();
    this.pruneTimer = setInterval(prune, COMMIT_ID_PRUNE_MS);
    this.pruneTimer.unref();
  }

  /**
   * Deletes the commit ids older than COMMIT_ID_KEEP_MS (by the server's clock); returns how many.
   * Rows another instance is deleting are skipped, so pruners never wait on each other, and nothing
   * else touches old rows.
   */
  async pruneCommitIds(): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        named(
          `DELETE FROM commit_ids WHERE id IN (
             SELECT id FROM commit_ids WHERE at < clock_timestamp() - make_interval(secs => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)`,
          [COMMIT_ID_KEEP_MS / 1000, PRUNE_BATCH],
        ),
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < PRUNE_BATCH) return total;
    }
  }

  /**
   * A connection from the pool; connection failures become StoreBusyError. The wait is told to
   * waitObserver: from `queuedAt` (performance.now() when the transaction asked; for a group, each
   * member's), by default from now.
   */
  private async connect(queuedAt: number | readonly number[] = performance.now()): Promise<PoolClient> {
    if (this.closed) throw busy("the bank's store is closed");
    if (this.pool.waitingCount >= MAX_WAITING) throw busy("the bank's database has too many requests waiting: try again");
    try {
      return listened(await this.pool.connect());
    } finally {
      const now = performance.now();
      for (const asked of typeof queuedAt === "number" ? [queuedAt] : queuedAt) this.waitObserver?.((now - asked) / 1000);
    }
  }

  /** One statement on a connection of its own (what pool.query does, with the wait for the connection told). */
  private async query(query: QueryConfig): Promise<unknown[]> {
    const client = await this.connect();
    try {
      const { rows } = await client.query(query);
      client.release();
      return rows;
    } catch (error) {
      // As pool.query does: a connection whose statement failed is not handed out again.
      client.release(error instanceof Error ? error : true);
      throw error;
    }
  }

  /** `fn` as one transaction; with a group key (a verification's), maybe in one database transaction with others (group.ts). */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    if (options?.group !== undefined && this.groups) return this.groups.run(options.group, fn);
    return this.runner.run(fn);
  }

  /** What the groups did so far (group.ts, GroupStats); all zero with grouping off. */
  get grouping(): GroupStats {
    return { ...(this.groups?.stats ?? { groups: 0, grouped: 0, alone: 0, fallbacks: 0 }) };
  }

  /** Verifications waiting for a group (group.ts), beside the pool's waitingCount. */
  get queued(): number {
    return this.groups?.waiting ?? 0;
  }

  /** As the SQLite store's (the bench's figure): transactions of keyed verifications (one alone counts one), answers they held. */
  async groupCommitStats(): Promise<{ commits: number; held: number }> {
    const { groups, grouped, alone } = this.grouping;
    return { commits: groups + alone, held: grouped + alone };
  }

  private async read<T>(query: QueryConfig): Promise<T[]> {
    const deadline = Date.now() + RETRY_WINDOW_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.query(query)) as T[];
      } catch (error) {
        if (error instanceof StoreBusyError) throw error;
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

  async loginByLoginId(loginId: string): Promise<CustomerLoginRow | undefined> {
    return (await this.read<CustomerLoginRow>(named(`${LOGIN_SELECT} WHERE l.login_id = $1`, [loginId])))[0];
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

  /**
   * Only ids given out when the read began, after sealing what is committed: a seal still in flight
   * with such ids holds its partition's head, and the FOR SHARE waits for it; one that starts later
   * gets higher ids, returned by a later read. So a reader paging with `afterId` never steps past a
   * row that commits late, though partitions commit out of global-id order.
   */
  async events(afterId: number, limit: number): Promise<EventRow[]> {
    await this.sealed();
    const [given] = await this.read<{ upto: number }>(
      named("SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS upto FROM events_global_id", []),
    );
    await this.read(named("SELECT part FROM audit_head FOR SHARE", []));
    return this.read(named("SELECT * FROM events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3", [afterId, given.upto, limit]));
  }

  /**
   * The whole trail in id order, read in one snapshot (REPEATABLE READ) after sealing what is
   * committed: with several partitions, seals commit out of global-id order, and pages read at
   * different moments could miss a batch that committed between them with lower ids (a false gap).
   * In one snapshot every partition ends on a whole seal.
   */
  async *trail(pageSize: number, afterId = 0): AsyncIterable<EventRow[]> {
    await this.sealed();
    const client = listened(await this.pool.connect());
    let broken = false;
    try {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      for (let after = afterId; ; ) {
        const page = await client.query<EventRow>("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2", [after, pageSize]);
        if (page.rows.length === 0) break;
        yield page.rows;
        after = page.rows[page.rows.length - 1].id;
      }
    } catch (error) {
      broken = true;
      throw translate(error);
    } finally {
      // Also when the reader stops early (a broken row): the snapshot ends before the connection goes back.
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      client.release(broken);
    }
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

  async useAudit(setup: AuditSetup): Promise<void> {
    await this.vouchLegacyEvents(setup);
    this.sealer = new AuditSealer(this.pool, setup, this.auditSealers);
    // Rows a stopped instance left queued.
    await this.sealed();
  }

  /**
   * Once after migration 4: rows chained before writer MACs get theirs, as far as the chain vouches
   * for them (host/bank/audit.ts vouchLegacy), under the head's lock so no seal runs meanwhile.
   */
  private async vouchLegacyEvents(setup: AuditSetup): Promise<void> {
    const client = listened(await this.pool.connect());
    let broken = false;
    try {
      await client.query("BEGIN");
      const marker = await client.query<{ value: Buffer }>("SELECT value FROM meta WHERE name = 'audit_legacy_upto' FOR UPDATE");
      if (marker.rowCount === 0) {
        await client.query("ROLLBACK");
        return;
      }
      await client.query("SELECT pos FROM audit_head FOR UPDATE");
      const upto = Number(marker.rows[0].value.toString("utf8"));
      let previous: Uint8Array | null = null;
      for (let after = 0; ; ) {
        const page = await client.query<EventRow>("SELECT * FROM events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT 1000", [after, upto]);
        if (page.rows.length === 0) break;
        const vouched = vouchLegacy(setup.keys, previous, page.rows, setup.random, false);
        for (const u of vouched.updates) {
          await client.query("UPDATE events SET nonce = $1, writer_mac = $2 WHERE id = $3", [
            Buffer.from(u.nonce),
            Buffer.from(u.writer_mac),
            u.id,
          ]);
        }
        if (vouched.stopped) break;
        previous = vouched.previous;
        after = page.rows[page.rows.length - 1].id;
      }
      await client.query("DELETE FROM meta WHERE name = 'audit_legacy_upto'");
      await client.query("COMMIT");
    } catch (error) {
      broken = true;
      throw translate(error);
    } finally {
      if (broken) {
        await client.query("ROLLBACK").catch(() => undefined);
        client.release(true);
      } else {
        client.release();
      }
    }
  }

  /** Partition 0's head (the whole trail's, with one partition). */
  async auditHead(): Promise<AuditHead | null> {
    return (await this.auditHeads()).find((h) => (h.part ?? 0) === 0) ?? null;
  }

  async auditHeads(): Promise<AuditHead[]> {
    await this.sealed();
    const heads = await this.read<{ part: number; pos: number; mac: Uint8Array | null }>(
      named("SELECT part, pos, mac FROM audit_head ORDER BY part", []),
    );
    return heads
      .filter((h) => h.pos > 0 && h.mac)
      .map((h) => {
        const mac = Buffer.from(h.mac!).toString("hex");
        return h.part === 0 ? { id: h.pos, mac } : { part: h.part, id: h.pos, mac };
      });
  }

  /** Audit partitions (schema.ts migration 7): a head row each; raising the number adds empty ones. */
  async auditPartitions(atLeast?: number): Promise<number> {
    if (atLeast !== undefined)
      await this.pool.query(
        "INSERT INTO audit_head (part, pos, mac) SELECT p, 0, NULL FROM generate_series(0, $1::int - 1) p ON CONFLICT DO NOTHING",
        [atLeast],
      );
    const { rows } = await this.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_head");
    return rows[0].n;
  }

  /** Sealed events through `throughId` (archived), never the trail's newest row (as SQLite, whose chain goes on from it). */
  async pruneEvents(throughId: number): Promise<number> {
    await this.sealed();
    const { rowCount } = await this.pool.query("DELETE FROM events WHERE id <= $1 AND id < (SELECT max(id) FROM events)", [throughId]);
    return rowCount ?? 0;
  }

  /** The oldest `at` of the events after `afterId` and of the queue (after sealing what is committed). */
  async auditOldest(afterId: number): Promise<number | null> {
    await this.sealed();
    const [row] = await this.read<{ at: number | null }>(
      named("SELECT least((SELECT min(at) FROM events WHERE id > $1), (SELECT min(at) FROM audit_queue)) AS at", [afterId]),
    );
    return row.at;
  }

  /** Queued rows the sealer refuses (after sealing what it can), and events that repeat an earlier nonce. */
  async auditAlarms(): Promise<AuditAlarm[]> {
    await this.sealed();
    const alarms: AuditAlarm[] = [];
    const keys = this.sealer?.keys;
    if (keys) {
      const queued = await this.read<EventRow & { queue_id: number }>(named("SELECT * FROM audit_queue ORDER BY queue_id LIMIT 1000", []));
      const { used, cut } = await queueContext(this.pool, keys, queued);
      for (const row of queued) {
        const reason = queueProblem(keys, row, used, cut);
        if (reason) alarms.push({ table: "queue", id: row.queue_id, reason });
        used.add(row.nonce ? Buffer.from(row.nonce).toString("hex") : "");
      }
    }
    const repeated = await this.read<{ id: number }>(
      named(
        "SELECT e.id FROM events e WHERE e.nonce IS NOT NULL AND EXISTS (SELECT 1 FROM events f WHERE f.nonce = e.nonce AND f.id < e.id) ORDER BY e.id LIMIT 100",
        [],
      ),
    );
    for (const { id } of repeated)
      alarms.push({ table: "events", id, reason: "it repeats an earlier event's nonce: a copy of that event" });
    return alarms;
  }

  /** The audit sealer's counters (rows chained by this instance, sealing transactions). */
  get sealing(): { sealed: number; batches: number } {
    return { sealed: this.sealer?.sealed ?? 0, batches: this.sealer?.batches ?? 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sealer?.close();
    this.closed = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.pruning;
    await this.pool.end();
  }
}

/** A named statement: each SQL text is parsed and planned once per connection (tx.ts, statementName). */
function named(text: string, values: unknown[]): QueryConfig {
  return { name: statementName(text), text, values };
}
