// The audit chain on PostgreSQL (host/bank/audit.ts is the one MAC). Every transaction that records an
// event appends it to audit_queue, committed with the change it records; this sealer moves committed
// queue rows into `events` in one transaction: each gets the next chain position as its id and its
// MAC over the previous row's, under the row lock of the one-row audit_head.
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
// When: an instance seals shortly after each of its commits that appended (SEAL_DELAY_MS), skipping the
// round when another instance holds the head (FOR UPDATE SKIP LOCKED) and trying again until a seal of
// its own has seen its rows; at start-up (rows a stopped instance left queued); and before every read
// of the trail (readers wait for the head), so a reader sees every event committed before it asked.
import type { Pool, PoolClient } from "pg";
import { chainMac } from "../audit.js";
import type { EventRow } from "../store.js";
import { listened } from "./connection.js";

/** Milliseconds between a commit that appended and the seal that chains it (the batch gathers meanwhile). */
export const SEAL_DELAY_MS = 50;
/** Milliseconds before trying again when another instance held the head. */
export const SEAL_RETRY_MS = 20;
/** Rows chained per sealing transaction at most. */
export const SEAL_BATCH = 2000;

type QueueRow = Omit<EventRow, "id" | "mac"> & { queue_id: number };

export class AuditSealer {
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  /** Rows this sealer has chained (for the bench and tests). */
  sealed = 0;
  /** Sealing transactions that committed. */
  batches = 0;

  constructor(
    private readonly pool: Pool,
    private readonly key: Uint8Array,
  ) {}

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
    while (this.dirty && !this.closed) {
      this.dirty = false;
      let outcome: number | "held";
      try {
        outcome = await this.sealOnce(false);
      } catch {
        // The database is unreachable or restarting: the rows stay queued; try again later.
        outcome = "held";
      }
      if (outcome === "held" || outcome === SEAL_BATCH) {
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
    for (;;) {
      const pending = await this.pool.query("SELECT 1 FROM audit_queue WHERE queue_id <= $1 LIMIT 1", [last]);
      if (pending.rowCount === 0) return;
      await this.sealOnce(true);
    }
  }

  /** One sealing transaction: the number of rows chained, or "held" when another sealer has the head (and `wait` is false). */
  async sealOnce(wait: boolean): Promise<number | "held"> {
    const client = listened(await this.pool.connect());
    let broken = false;
    try {
      await client.query("BEGIN");
      const head = await client.query<{ id: number; mac: Buffer | null }>(
        `SELECT id, mac FROM audit_head FOR UPDATE${wait ? "" : " SKIP LOCKED"}`,
      );
      if (head.rowCount === 0) {
        await client.query("ROLLBACK");
        return "held";
      }
      const queued = await client.query<QueueRow>({
        name: "audit-queue-batch",
        text: "SELECT queue_id, at, kind, service_id, user_id, actor, detail FROM audit_queue ORDER BY queue_id LIMIT $1",
        values: [SEAL_BATCH],
      });
      if (queued.rowCount === 0) {
        await client.query("ROLLBACK");
        return 0;
      }
      const chained = this.chain(head.rows[0], queued.rows);
      await insertChained(client, chained);
      await client.query({
        name: "audit-queue-delete",
        text: "DELETE FROM audit_queue WHERE queue_id = ANY($1::bigint[])",
        values: [queued.rows.map((r) => r.queue_id)],
      });
      const last = chained[chained.length - 1];
      await client.query({ name: "audit-head-move", text: "UPDATE audit_head SET id = $1, mac = $2", values: [last.id, last.mac] });
      await client.query("COMMIT");
      this.sealed += chained.length;
      this.batches++;
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

  private chain(head: { id: number; mac: Buffer | null }, queued: QueueRow[]): EventRow[] {
    let previous: Uint8Array | null = head.mac;
    let id = head.id;
    return queued.map(({ queue_id: _, ...fields }) => {
      const row = { ...fields, id: ++id };
      const mac = chainMac(this.key, previous, row);
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
    if (wasDirty || this.dirty) await this.sealOnce(true).catch(() => undefined);
  }
}

async function insertChained(client: PoolClient, rows: EventRow[]): Promise<void> {
  await client.query({
    name: "audit-insert-chained",
    text: `INSERT INTO events (id, at, kind, service_id, user_id, actor, detail, mac)
           SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[])`,
    values: [
      rows.map((r) => r.id),
      rows.map((r) => r.at),
      rows.map((r) => r.kind),
      rows.map((r) => r.service_id),
      rows.map((r) => r.user_id),
      rows.map((r) => r.actor),
      rows.map((r) => r.detail),
      rows.map((r) => Buffer.from(r.mac!)),
    ],
  });
}
