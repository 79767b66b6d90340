// The audit chain on PostgreSQL (host/bank/audit.ts is the one MAC). Every transaction that records an
// event appends it to audit_queue, committed with the change it records, in partition
// hash(user_id) mod P (schema.ts migration 7); this sealer moves committed queue rows of one partition
// into `events` in one transaction: each gets the partition's next chain position, a global id (a
// sequence) and its MAC over the partition's previous row's, under the row lock of that partition's
// audit_head row. Sealers of different instances lock different partitions (SKIP LOCKED), so P
// partitions are sealed by up to P sealers at once: no one lock caps the cluster.
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
// recorded at or before the archive's floor, the setting audit_archived: audit.ts ArchiveCut). The first row that fails stops the seal: the rows before it are chained,
// it and every row after it stay queued, and the alarm is raised (`onAlarm`, and `bank audit verify`
// names it). A row inserted into the queue by a database writer is never sealed into the history.
//
// When: an instance seals shortly after each of its commits that appended (SEAL_DELAY_MS), skipping the
// round when another instance holds the head (FOR UPDATE SKIP LOCKED) and trying again until a seal of
// its own has seen its rows; at start-up (rows a stopped instance left queued); and before every read
// of the trail (readers wait for the head), so a reader sees every event committed before it asked.
import type { Pool, PoolClient } from "pg";
import { ARCHIVE_RECORD_ALTERED, type ArchiveCut, archivedProblem, chainMac, openArchiveCut, writerProblem } from "../audit.js";
import type { AuditAlarm, AuditKeys, AuditSetup, EventRow } from "../store.js";
import { listened } from "./connection.js";

/** Milliseconds between a commit that appended and the seal that chains it (the batch gathers meanwhile). */
export const SEAL_DELAY_MS = 50;
/** Milliseconds before trying again when another instance held the head. */
export const SEAL_RETRY_MS = 20;
/** Rows chained per sealing transaction at most. */
export const SEAL_BATCH = 2000;

type QueueRow = Omit<EventRow, "id" | "mac" | "pos"> & { queue_id: number; part: number };
type Head = { part: number; pos: number; mac: Buffer | null };

/** A seal's outcome: rows chained, "held" (another sealer has the head), or "blocked" (a queued row the sealer refuses is next). */
export type SealOutcome = number | "held" | "blocked";

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

  /** Queue ids already reported, so a refused row raises its alarm once per instance. */
  private readonly reported = new Set<number>();

  constructor(
    private readonly pool: Pool,
    private readonly setup: AuditSetup,
  ) {}

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

  private async loop(): Promise<void> {
    // A partition refused earlier gets one try per round (an operator may have removed the forged row).
    this.blocked.clear();
    while (this.dirty && !this.closed) {
      this.dirty = false;
      let outcome: SealOutcome;
      try {
        outcome = await this.sealOnce(false);
      } catch {
        // The database is unreachable or restarting: the rows stay queued; try again later.
        outcome = "held";
      }
      // A refused row is next in a partition: that partition is skipped from now on; the others go on.
      if (outcome === "blocked") {
        this.dirty = true;
        continue;
      }
      // Rows sealed in one partition: others (or more of this one) may be waiting.
      if (outcome === "held" || outcome > 0) {
        this.dirty = true;
        if (outcome === "held") await new Promise((resolve) => setTimeout(resolve, SEAL_RETRY_MS).unref());
      }
    }
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
      // The partitions one after the other, each waiting for its head (another sealer may hold it).
      // A partition refused (or one without a head row: a queue row nobody made) is skipped.
      for (const { part } of pending.rows) if (typeof (await this.sealOnce(true, part)) !== "number") blocked.add(part);
    }
  }

  /**
   * One sealing transaction of one partition (`part`, or without it any partition with queued rows
   * whose head no other sealer holds): the number of rows chained, "held" when every such partition's
   * head is held by another sealer (and `wait` is false), or "blocked" when the next queued row of the
   * partition is one the sealer refuses.
   */
  async sealOnce(wait: boolean, part?: number): Promise<SealOutcome> {
    const client = listened(await this.pool.connect());
    let broken = false;
    try {
      await client.query("BEGIN");
      const head =
        part === undefined
          ? await client.query<Head>({
              name: "audit-head-any",
              text: `SELECT part, pos, mac FROM audit_head h
                     WHERE EXISTS (SELECT 1 FROM audit_queue q WHERE q.part = h.part) AND NOT (part = ANY($1::int[]))
                     ORDER BY random() LIMIT 1 FOR UPDATE${wait ? "" : " SKIP LOCKED"}`,
              values: [[...this.blocked]],
            })
          : await client.query<Head>({
              name: `audit-head-one${wait ? "" : "-skip"}`,
              text: `SELECT part, pos, mac FROM audit_head WHERE part = $1 FOR UPDATE${wait ? "" : " SKIP LOCKED"}`,
              values: [part],
            });
      if (head.rowCount === 0) {
        if (part !== undefined) {
          await client.query("ROLLBACK");
          return "held";
        }
        const others = await client.query("SELECT 1 FROM audit_queue WHERE NOT (part = ANY($1::int[])) LIMIT 1", [[...this.blocked]]);
        await client.query("ROLLBACK");
        // Nothing queued but in partitions this sealer refuses, or partitions another sealer holds.
        return others.rowCount === 0 ? 0 : "held";
      }
      const at = head.rows[0];
      const queued = await client.query<QueueRow>({
        name: "audit-queue-batch",
        text: "SELECT queue_id, part, at, kind, service_id, user_id, actor, detail, nonce, writer_mac FROM audit_queue WHERE part = $1 ORDER BY queue_id LIMIT $2",
        values: [at.part, SEAL_BATCH],
      });
      if (queued.rowCount === 0) {
        await client.query("ROLLBACK");
        return 0;
      }
      const accepted = await this.acceptable(client, queued.rows);
      if (accepted.length === 0) {
        await client.query("ROLLBACK");
        this.blocked.add(at.part);
        return "blocked";
      }
      this.blocked.delete(at.part);
      const ids = await client.query<{ id: number }>({
        name: "audit-global-ids",
        text: "SELECT nextval('events_global_id') AS id FROM generate_series(1, $1)",
        values: [accepted.length],
      });
      const chained = this.chain(
        at,
        ids.rows.map((r) => r.id).sort((a, b) => a - b),
        accepted,
      );
      await insertChained(client, chained);
      await client.query({
        name: "audit-queue-delete",
        text: "DELETE FROM audit_queue WHERE queue_id = ANY($1::bigint[])",
        values: [accepted.map((r) => r.queue_id)],
      });
      const last = chained[chained.length - 1];
      await client.query({
        name: "audit-head-move",
        text: "UPDATE audit_head SET pos = $1, mac = $2 WHERE part = $3",
        values: [last.pos, last.mac, at.part],
      });
      await client.query("COMMIT");
      this.sealed += chained.length;
      this.batches++;
      const mac = Buffer.from(last.mac!).toString("hex");
      this.setup.onSeal?.(at.part === 0 ? { id: last.pos!, mac } : { part: at.part, id: last.pos!, mac }, chained.length);
      return chained.length;
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      if (broken) {
        await client.query("ROLLBACK").catch(() => undefined);
        client.release(true);
      } else {
        client.release();
      }
    }
  }

  /**
   * The queued rows, in order, up to the first one the sealer refuses: a writer MAC that does not check
   * or a nonce the trail (or this batch) already has. The refused row raises an alarm.
   */
  private async acceptable(client: PoolClient, queued: QueueRow[]): Promise<QueueRow[]> {
    const { used, cut } = await queueContext(client, this.setup.keys, queued);
    const accepted: QueueRow[] = [];
    for (const row of queued) {
      const reason = queueProblem(this.setup.keys, row, used, cut);
      const nonce = row.nonce ? Buffer.from(row.nonce).toString("hex") : "";
      if (reason) {
        this.alarm({ table: "queue", id: row.queue_id, reason });
        break;
      }
      used.add(nonce);
      accepted.push(row);
    }
    return accepted;
  }

  private alarm(alarm: AuditAlarm): void {
    if (this.reported.has(alarm.id)) return;
    this.reported.add(alarm.id);
    this.setup.onAlarm?.(alarm);
  }

  private chain(head: Head, ids: number[], queued: QueueRow[]): EventRow[] {
    let previous: Uint8Array | null = head.mac;
    let pos = head.pos;
    return queued.map(({ queue_id: _, ...fields }, i) => {
      const row = { ...fields, part: head.part, pos: ++pos, id: ids[i] };
      const mac = chainMac(this.setup.keys.chain, previous, row);
      previous = mac;
      return { ...row, mac };
    });
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
): string | null {
  if (cut === "altered") return ARCHIVE_RECORD_ALTERED;
  const nonce = row.nonce ? Buffer.from(row.nonce).toString("hex") : "";
  return (
    writerProblem(keys.writer, row) ??
    (used.has(nonce) ? "it repeats an earlier event's nonce: a copy of that event" : null) ??
    archivedProblem(cut, { id: 0, at: row.at }, true)
  );
}

async function insertChained(client: PoolClient, rows: EventRow[]): Promise<void> {
  await client.query({
    name: "audit-insert-chained",
    text: `INSERT INTO events (id, part, pos, at, kind, service_id, user_id, actor, detail, mac, nonce, writer_mac)
           SELECT * FROM unnest($1::bigint[], $11::int[], $12::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bytea[], $10::bytea[])`,
    values: [
      rows.map((r) => r.id),
      rows.map((r) => r.at),
      rows.map((r) => r.kind),
      rows.map((r) => r.service_id),
      rows.map((r) => r.user_id),
      rows.map((r) => r.actor),
      rows.map((r) => r.detail),
      rows.map((r) => Buffer.from(r.mac!)),
      rows.map((r) => Buffer.from(r.nonce!)),
      rows.map((r) => Buffer.from(r.writer_mac!)),
      rows.map((r) => r.part ?? 0),
      rows.map((r) => r.pos),
    ],
  });
}
