// The audit chain on PostgreSQL (host/bank/audit.ts is the one MAC). Every transaction that records an
// event appends it to audit_queue, committed with the change it records, in partition
// hash(user_id) mod P (schema.ts migration 7); this sealer moves committed queue rows of one partition
// into `events` in one transaction: each gets the partition's next chain position, a global id (a
// sequence) and its MAC over the partition's previous row's, under the row lock of that partition's
// audit_head row. Sealers lock different partitions (SKIP LOCKED), so P partitions are sealed by up
// to P sealing loops at once: no one lock caps the cluster. An instance runs up to `concurrency`
// loops (`bank serve --audit-sealers S`): with P >= instances x S, every loop seals at once.
//
// A seal is three round trips: BEGIN and the head locked; the partition's queued rows (each with the
// global id it will have, given out while the head is held, and its row version: ctid, xmin) and the
// archive's cut; then one statement and COMMIT: the rows deleted from the queue by ctid and inserted
// into `events` from what the delete returns, only where queue id and xmin still match (a row changed
// after its check makes the counts differ, the statement fails and nothing is written), the chain
// MACs sent as one bytea, the head moved.
//
// Why not chain inside each transaction: a chain needs its head locked from the read of the previous
// MAC until commit, so every transaction that appends (every verification) would wait for the one
// before it to commit, fsync included: one commit at a time, whatever the number of instances. Here a
// verification only inserts a queue row; the head is locked by one sealing transaction at a time, which
// chains everything committed so far (dozens of rows under load) with one commit.
//
// Exact: a queue row is deleted only by the transaction that inserts its chained row, so every
// committed event is chained exactly once, and an event of a rolled-back transaction never. In chain
// order, an event whose transaction committed before another's began comes first (it is visible to
// every sealing snapshot that sees the later one, and its queue_id is lower); overlapping transactions
// (different tokens) are ordered by queue_id. A sealer's commit lost with its connection is harmless:
// either the rows moved or they are still queued for the next seal.
//
// Only rows the bank wrote: each queued row's writer MAC (host/bank/audit.ts) is checked, and its nonce
// must be new to the trail: not in `events`, and not a nonce that left with the archive (a row
// recorded at or before the archive's floor, the setting audit_archived: audit.ts ArchiveCut); a nonce
// already in `events` is first left to its unique index (events_by_nonce: the seal rolls back) and
// the partition sealed again with each nonce looked up. The first row that fails stops the seal: the rows before it are chained,
// it and every row after it stay queued, and the alarm is raised (`onAlarm`, and `bank audit verify`
// names it). A row inserted into the queue by a database writer is never sealed into the history.
//
// When: an instance seals shortly after each of its commits that appended (SEAL_DELAY_MS): a round of
// loops, each sealing partitions until it finds none left to seal; a loop that locks a partition while
// other partitions have queued rows starts another (up to `concurrency`), which skips the partitions
// its instance holds. A partition another instance holds is skipped (FOR UPDATE SKIP LOCKED) and the
// round tried again until a seal of its own has seen its rows; at start-up (rows a stopped instance
// left queued); and before every read of the trail (drain: up to `concurrency` partitions at once, each
// waiting for its head), so a reader sees every event committed before it asked.
import type { Pool, PoolClient, QueryResult } from "pg";
import { ARCHIVE_RECORD_ALTERED, type ArchiveCut, archivedProblem, chainMac, openArchiveCut, writerProblem } from "../audit.js";
import type { AuditAlarm, AuditKeys, AuditSetup, EventRow } from "../store.js";
import { listened, sqlState } from "./connection.js";
import { pipelined, type Statement, settle } from "./statements.js";

/** Milliseconds between a commit that appended and the seal that chains it (the batch gathers meanwhile). */
export const SEAL_DELAY_MS = 50;
/** Milliseconds before trying again when another instance held the head. */
export const SEAL_RETRY_MS = 20;
/** Rows chained per sealing transaction at most. */
export const SEAL_BATCH = 2000;

/** A queued row as the sealer reads it: its row version (ctid, xmin) and the global id given to it meanwhile. */
type QueueRow = Omit<EventRow, "id" | "mac" | "pos" | "part"> & {
  queue_id: number;
  ctid: string;
  version: string;
  id: number;
  used?: boolean;
};
type Head = { part: number; pos: number; mac: Buffer | null; others?: number };

/** A seal's outcome: rows chained, "held" (another sealer has the head), or "blocked" (a queued row the sealer refuses is next). */
export type SealOutcome = number | "held" | "blocked";

/** Any partition with queued rows, locked, and how many others (not excluded) have queued rows: work for another loop. */
const HEAD_ANY = (wait: boolean) => `WITH h AS MATERIALIZED (
    SELECT part, pos, mac FROM audit_head h
    WHERE EXISTS (SELECT 1 FROM audit_queue q WHERE q.part = h.part) AND NOT (part = ANY($1::int[]))
    ORDER BY random() LIMIT 1 FOR UPDATE${wait ? "" : " SKIP LOCKED"})
  SELECT part, pos, mac, (SELECT count(*)::int FROM audit_head o WHERE o.part <> h.part AND NOT (o.part = ANY($1::int[]))
    AND EXISTS (SELECT 1 FROM audit_queue q WHERE q.part = o.part)) AS others FROM h`;
const HEAD_ONE = (wait: boolean) => `SELECT part, pos, mac FROM audit_head WHERE part = $1 FOR UPDATE${wait ? "" : " SKIP LOCKED"}`;
const QUEUED_ELSEWHERE = "SELECT 1 FROM audit_queue WHERE NOT (part = ANY($1::int[])) LIMIT 1";
/**
 * A partition's next queued rows, each with the global id it will have (ids are given out while the
 * head is held, as `events` readers expect), its row version, and (`checked`) whether the trail has its nonce.
 */
const QUEUED = (
  checked: boolean,
) => `SELECT nextval('events_global_id') AS id, q.*${checked ? ", EXISTS (SELECT 1 FROM events e WHERE e.nonce = q.nonce) AS used" : ""}
  FROM (SELECT ctid::text AS ctid, xmin::text AS version, queue_id, at, kind, service_id, user_id, actor, detail, nonce, writer_mac
        FROM audit_queue WHERE part = $1 ORDER BY queue_id LIMIT $2) q`;
const ARCHIVED = "SELECT value FROM settings WHERE name = 'audit_archived'";
/**
 * The seal's writes as one statement: the queue rows deleted (by row version: $1 their ctids, checked
 * against $2 their queue ids and $3 their xmins, so a row changed since it was checked is not moved)
 * and inserted into `events` from what the delete returns, with $4 the global ids, positions after
 * $6 in partition $5 and the chain MACs (32 bytes each, in order, in $7); the head moved to the last.
 * A row missing or changed makes the counts differ: the statement fails (a cast error naming it) and
 * the COMMIT sent after it rolls back.
 */
const CHAIN = `WITH moved AS (
    DELETE FROM audit_queue WHERE ctid = ANY($1::tid[])
    RETURNING queue_id, xmin, at, kind, service_id, user_id, actor, detail, nonce, writer_mac),
  chained AS (
    INSERT INTO events (id, part, pos, at, kind, service_id, user_id, actor, detail, mac, nonce, writer_mac)
    SELECT u.id, $5, $6::bigint + u.n, m.at, m.kind, m.service_id, m.user_id, m.actor, m.detail,
           substring($7::bytea FROM (u.n::int - 1) * 32 + 1 FOR 32), m.nonce, m.writer_mac
    FROM unnest($2::bigint[], $3::xid[], $4::bigint[]) WITH ORDINALITY AS u(queue_id, version, id, n)
    JOIN moved m ON m.queue_id = u.queue_id AND m.xmin = u.version
    RETURNING 1),
  head AS (
    UPDATE audit_head SET pos = $6::bigint + cardinality($2::bigint[]), mac = substring($7::bytea FROM octet_length($7::bytea) - 31)
    WHERE part = $5 RETURNING 1)
  SELECT CASE WHEN (SELECT count(*) FROM moved) = cardinality($2::bigint[]) AND (SELECT count(*) FROM chained) = cardinality($2::bigint[])
                   AND (SELECT count(*) FROM head) = 1 THEN 0
              ELSE ('queue rows changed while the sealer checked them: ' || (SELECT count(*) FROM chained) || ' of ' || cardinality($2::bigint[]))::int END AS changed`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

export class AuditSealer {
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  /** Rows this sealer has chained (for the bench and tests). */
  sealed = 0;
  /** Sealing transactions that committed. */
  batches = 0;

  /** Partitions whose next queued row the sealer refuses (skipped by the background seals until a seal of theirs succeeds). */
  private readonly blocked = new Set<number>();

  /** Partitions this sealer's loops hold now (another of its loops looks elsewhere). */
  private readonly holding = new Set<number>();

  /** Queue ids already reported, so a refused row raises its alarm once per instance. */
  private readonly reported = new Set<number>();

  /**
   * @param concurrency sealing loops at once (`bank serve --audit-sealers`), each sealing another
   * partition; each holds one of the pool's connections while it seals.
   */
  constructor(
    private readonly pool: Pool,
    private readonly setup: AuditSetup,
    readonly concurrency = 1,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`sealing loops: a whole number from 1, not ${concurrency}`);
  }

  get keys(): AuditSetup["keys"] {
    return this.setup.keys;
  }

  /** A transaction that appended has committed: seal soon. */
  notify(): void {
    this.dirty = true;
    if (this.running || this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.loop().finally(() => {
        this.running = null;
        if (this.dirty && !this.closed) this.notify();
      });
    }, SEAL_DELAY_MS);
    this.timer.unref();
  }

  /**
   * Seals what is queued now the way the background does (up to `concurrency` loops, partitions
   * another sealer holds left to it), until nothing is left that this sealer may seal: the bench's
   * measure. Not with the background loop running.
   */
  async settle(): Promise<void> {
    this.dirty = true;
    await this.loop();
  }

  private async loop(): Promise<void> {
    // A partition refused earlier gets one try per run (an operator may have removed the forged row).
    this.blocked.clear();
    while (this.dirty && !this.closed) {
      this.dirty = false;
      if (await this.round()) {
        // A partition with queued rows was held by another instance's sealer (or the database failed):
        // again shortly, until a seal of this sealer's own has seen its rows.
        this.dirty = true;
        await sleep(SEAL_RETRY_MS);
      }
    }
  }

  /**
   * One round: a sealing loop seals one partition after another until it finds none left to seal; a
   * loop that locks a partition while others have queued rows starts another (up to `concurrency`),
   * which seals another partition meanwhile. True when a loop found every partition with queued rows held by another instance.
   */
  private async round(): Promise<boolean> {
    let held = false;
    let active = 0;
    const loops: Promise<void>[] = [];
    const run = async (): Promise<void> => {
      active++;
      try {
        while (!this.closed) {
          let outcome: SealOutcome;
          // Other partitions have queued rows (seen as this loop locks one): with a loop to spare, another seals one meanwhile.
          const seen = { others: 0, more: () => active < this.concurrency && loops.push(run()) };
          try {
            outcome = await this.sealOnce(false, undefined, seen);
          } catch {
            // The database is unreachable or restarting: the rows stay queued; try again later.
            outcome = "held";
          }
          if (outcome === "held") held = true;
          if (outcome === "held" || outcome === 0) return;
          // Rows sealed in one partition (more of it may be waiting), or a refused row next in a partition
          // (skipped from now on): the loop goes on.
        }
      } finally {
        active--;
      }
    };
    loops.push(run());
    for (let i = 0; i < loops.length; i++) await loops[i];
    return held;
  }

  /**
   * Chains every event committed before this call (waiting for the head if another instance holds
   * it): what a reader of the trail calls first.
   */
  async drain(): Promise<void> {
    const { rows } = await this.pool.query<{ last: number | null }>("SELECT max(queue_id) AS last FROM audit_queue");
    const last = rows[0].last;
    if (last === null) return;
    const blocked = new Set<number>();
    for (;;) {
      const pending = await this.pool.query<{ part: number }>(
        "SELECT DISTINCT part FROM audit_queue WHERE queue_id <= $1 AND NOT (part = ANY($2::int[]))",
        [last, [...blocked]],
      );
      if (pending.rowCount === 0) return;
      // Up to `concurrency` partitions at once, each waiting for its head (another sealer may hold it).
      // A partition refused (or one without a head row: a queue row nobody made) is skipped.
      const parts = pending.rows.map((r) => r.part);
      const loop = async () => {
        for (let part = parts.shift(); part !== undefined; part = parts.shift())
          if (typeof (await this.sealOnce(true, part)) !== "number") blocked.add(part);
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, parts.length) }, loop));
    }
  }

  /**
   * One sealing transaction of one partition (`part`, or without it any partition with queued rows
   * whose head no other sealer holds): the number of rows chained, "held" when every such partition's
   * head is held by another sealer (and `wait` is false), or "blocked" when the next queued row of the
   * partition is one the sealer refuses. `seen.others`: how many other partitions had queued rows (without `part`),
   * told to `seen.more` as soon as the head is locked.
   */
  async sealOnce(wait: boolean, part?: number, seen?: { others: number; more?: () => unknown }): Promise<SealOutcome> {
    const outcome = await this.seal(wait, part, false, seen);
    if (typeof outcome !== "object") return outcome;
    // The trail already has a nonce of the batch (events' unique index said so at the insert, and
    // the transaction rolled back): the same partition again, each row's nonce looked up first, so
    // the rows before that one are chained and it raises the alarm.
    return (await this.seal(wait, outcome.repeated, true)) as SealOutcome;
  }

  /**
   * The sealing transaction, in three round trips: BEGIN and the head locked; the queued rows (with
   * their global ids) and the archive's cut; the writes (one statement) and COMMIT. With `wait` and
   * a partition (drain), the first two go as one. Without `checked`, a nonce the trail already has is
   * left to the unique index (events_by_nonce): `{ repeated }`, nothing written.
   */
  private async seal(
    wait: boolean,
    part: number | undefined,
    checked: boolean,
    seen?: { others: number; more?: () => unknown },
  ): Promise<SealOutcome | { repeated: number }> {
    const client = listened(await this.pool.connect());
    let broken = false;
    let held: number | null = null;
    try {
      const exclude = [...this.blocked, ...this.holding];
      const headStatement: Statement = part === undefined ? [HEAD_ANY(wait), [exclude]] : [HEAD_ONE(wait), [part]];
      const early = part !== undefined && wait;
      const first = pipelined(
        client,
        true,
        early ? [headStatement, [QUEUED(checked), [part, SEAL_BATCH]], [ARCHIVED, []]] : [headStatement],
      );
      const [, headResult, ...rest] = await settle(first);
      const head = (headResult as QueryResult<Head>).rows[0];
      if (head === undefined) {
        if (part !== undefined) {
          await client.query("ROLLBACK");
          return "held";
        }
        const elsewhere = [...this.blocked, ...this.holding];
        const [others] = await settle(pipelined(client, false, [[QUEUED_ELSEWHERE, [elsewhere]]], "ROLLBACK"));
        // Nothing queued but in partitions this sealer refuses or holds, or partitions another sealer holds.
        return others.rowCount === 0 ? 0 : "held";
      }
      held = head.part;
      this.holding.add(held);
      if (seen) seen.others = head.others ?? 0;
      if (seen?.others) seen.more?.();
      const [queuedResult, archivedResult] = early
        ? rest
        : await settle(
            pipelined(client, false, [
              [QUEUED(checked), [head.part, SEAL_BATCH]],
              [ARCHIVED, []],
            ]),
          );
      const queued = queuedResult.rows as QueueRow[];
      if (queued.length === 0) {
        await client.query("ROLLBACK");
        // Chosen for its queued rows, which another sealer then chained (it committed as this one locked): again.
        return part === undefined ? "held" : 0;
      }
      const cut = openArchiveCut(this.setup.keys.chain, (archivedResult.rows[0] as { value: string } | undefined)?.value ?? null);
      const accepted = this.acceptable(queued, cut);
      if (accepted.length === 0) {
        await client.query("ROLLBACK");
        this.blocked.add(head.part);
        return "blocked";
      }
      this.blocked.delete(head.part);
      const ids = queued.map((r) => r.id).sort((a, b) => a - b);
      const macs = this.chain(head, ids, accepted);
      try {
        await settle(
          pipelined(
            client,
            false,
            [
              [
                CHAIN,
                [
                  accepted.map((r) => r.ctid),
                  accepted.map((r) => r.queue_id),
                  accepted.map((r) => r.version),
                  ids.slice(0, accepted.length),
                  head.part,
                  head.pos,
                  macs,
                ],
              ],
            ],
            "COMMIT",
          ),
        );
      } catch (error) {
        // A repeated nonce: the transaction rolled back (the COMMIT after the failed statement), the connection is fine.
        if (!checked && sqlState(error) === "23505" && (error as { constraint?: string }).constraint === "events_by_nonce")
          return { repeated: head.part };
        throw error;
      }
      this.sealed += accepted.length;
      this.batches++;
      const pos = head.pos + accepted.length;
      const mac = macs.subarray(macs.length - 32).toString("hex");
      this.setup.onSeal?.(head.part === 0 ? { id: pos, mac } : { part: head.part, id: pos, mac }, accepted.length);
      return accepted.length;
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      if (held !== null) this.holding.delete(held);
      if (broken) {
        await client.query("ROLLBACK").catch(() => undefined);
        client.release(true);
      } else {
        client.release();
      }
    }
  }

  /**
   * The queued rows, in order, up to the first one the sealer refuses: a writer MAC that does not check,
   * a nonce the trail (`used`, when looked up) or this batch already has, or a row from before the
   * archive's cut. The refused row raises an alarm.
   */
  private acceptable(queued: QueueRow[], cut: ArchiveCut | null | "altered"): QueueRow[] {
    const used = new Set<string>();
    let n = 0;
    for (const row of queued) {
      const nonce = row.nonce ? (row.nonce as Buffer).toString("hex") : "";
      const reason = row.used ? REPEATED : queueProblem(this.setup.keys, row, used, cut, nonce);
      if (reason) {
        this.alarm({ table: "queue", id: row.queue_id, reason });
        break;
      }
      used.add(nonce);
      n++;
    }
    return n === queued.length ? queued : queued.slice(0, n);
  }

  private alarm(alarm: AuditAlarm): void {
    if (this.reported.has(alarm.id)) return;
    this.reported.add(alarm.id);
    this.setup.onAlarm?.(alarm);
  }

  /** The chain MACs of `rows` after `head`, with global ids `ids` in order: 32 bytes each, one buffer. */
  private chain(head: Head, ids: number[], rows: QueueRow[]): Buffer {
    const macs = Buffer.allocUnsafe(rows.length * 32);
    let previous: Uint8Array | null = head.mac;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const mac = chainMac(this.setup.keys.chain, previous, {
        id: ids[i],
        part: head.part,
        pos: head.pos + i + 1,
        at: r.at,
        kind: r.kind,
        service_id: r.service_id,
        user_id: r.user_id,
        actor: r.actor,
        detail: r.detail,
      });
      macs.set(mac, i * 32);
      previous = mac;
    }
    return macs;
  }

  /** Stops sealing in the background, after a last seal of what this instance committed. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const wasDirty = this.dirty;
    this.closed = true;
    await this.running;
    if (wasDirty || this.dirty) await this.drain().catch(() => undefined);
  }
}

const REPEATED = "it repeats an earlier event's nonce: a copy of that event";

/**
 * What a queued row is checked against, in one round trip: the nonces of `queued` the trail already
 * has, and the archive's cut (the setting audit_archived, its MAC checked; "altered" refuses every row).
 */
export async function queueContext(
  db: Pick<Pool, "query"> | Pick<PoolClient, "query">,
  keys: AuditKeys,
  queued: Pick<EventRow, "nonce">[],
): Promise<{ used: Set<string>; cut: ArchiveCut | null | "altered" }> {
  const nonces = queued.filter((r) => r.nonce !== null).map((r) => Buffer.from(r.nonce!));
  const { rows } = await (db as Pool).query<{ nonce: Buffer | null; archived: string | null }>({
    name: "audit-queue-context",
    text: "SELECT nonce, NULL::text AS archived FROM events WHERE nonce = ANY($1::bytea[]) UNION ALL SELECT NULL, value FROM settings WHERE name = 'audit_archived'",
    values: [nonces],
  });
  const archived = rows.find((r) => r.archived !== null)?.archived ?? null;
  return {
    used: new Set(rows.filter((r) => r.nonce !== null).map((r) => r.nonce!.toString("hex"))),
    cut: openArchiveCut(keys.chain, archived),
  };
}

/** Why the sealer refuses a queued row (not the bank's, a nonce the trail or its archive already has), or null. */
export function queueProblem(
  keys: AuditKeys,
  row: Omit<EventRow, "id" | "mac">,
  used: Set<string>,
  cut: ArchiveCut | null | "altered",
  nonce = row.nonce ? Buffer.from(row.nonce).toString("hex") : "",
): string | null {
  if (cut === "altered") return ARCHIVE_RECORD_ALTERED;
  return writerProblem(keys.writer, row) ?? (used.has(nonce) ? REPEATED : null) ?? archivedProblem(cut, { id: 0, at: row.at }, true);
}
