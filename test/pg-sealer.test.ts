// One instance's concurrent sealing loops (host/bank/postgres/sealer.ts, `bank serve --audit-sealers`)
// on a real server (test/pg-helpers.ts): with 8 partitions and 4 loops, hundreds of events from
// concurrent verifications are each sealed exactly once (in events once, none left queued, positions
// 1..n in every partition) and the trail verifies; while one partition's seal waits on a lock, the
// other loops seal every other partition; a queued row whose nonce the trail already has is refused
// (the optimistic insert's unique index, then the looked-up path), the rows before it chained.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { signEvent } from "../host/bank/audit.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { BankError } from "../host/bank/errors.js";
import { openStore } from "../host/bank/open-store.js";
import { AuditSealer } from "../host/bank/postgres/sealer.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import { openAuditKeys } from "../host/bank/rooms/audit.js";
import type { AuditKeys } from "../host/bank/store.js";
import { signed } from "./audit-helpers.js";
import { codeAt, otherThan, seedTokens, type TokenProfile } from "./bank-helpers.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const postgres = usePostgres();
const MASTER = MasterKey.fromHex("7c".repeat(32));
const SERVICE_ID = "10212083";
const NOW = 1_900_000_020;
const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const store of opened.splice(0).reverse()) await store.close().catch(() => undefined);
});

const userIdOf = (n: number) => `2083L${String(n).padStart(7, "0")}A001`;

/** A bank whose store seals with `loops` loops, on a fresh database of `partitions` audit partitions. */
async function bankOf(partitions: number, loops: number): Promise<{ bank: Bank; store: PgStore; url: string; keys: AuditKeys }> {
  const url = postgres.freshUrl();
  const store = (await openStore(url, { create: true, auditSealers: loops })) as PgStore;
  opened.push(store);
  const bank = await Bank.open(store, MASTER, { now: () => NOW });
  await bank.updateSettings({ serviceId: SERVICE_ID });
  expect(await store.auditPartitions(partitions)).toBe(partitions);
  return { bank, store, url, keys: await openAuditKeys(store, MASTER) };
}

/** `count` tokens (last accepted step: the one before NOW's), their seeds known. */
async function tokens(store: PgStore, count: number): Promise<Map<string, TokenProfile>> {
  return seedTokens(store, MASTER, { count, serviceId: SERVICE_ID, now: NOW, userIdOf, mix: [37, 11] });
}

/** The database of a bank as `bankOf` made it, on a store of its own without a sealer (the bank's stopped: none of its seals runs meanwhile). */
async function withoutSealer(partitions: number): Promise<{ store: PgStore; url: string; keys: AuditKeys }> {
  const { store: banks, url, keys } = await bankOf(partitions, 4);
  await banks.close();
  const store = (await openStore(url)) as PgStore;
  opened.push(store);
  return { store, url, keys };
}

/** Puts a genuine event (the bank's writer MAC, over `nonce` when given: a copy's) straight into the queue of partition `part`. */
async function enqueue(store: PgStore, keys: AuditKeys, part: number, detail: string, nonce?: Uint8Array): Promise<Uint8Array> {
  const fields = { at: NOW, kind: "note", service_id: null, user_id: null, actor: "test", detail };
  const event = nonce ? signEvent(keys.writer, fields, nonce) : signed(keys, fields);
  await store.pool.query(
    "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac, part) VALUES ($1, $2, NULL, NULL, $3, $4, $5, $6, $7)",
    [NOW, "note", "test", detail, event.nonce, event.writer_mac, part],
  );
  return event.nonce!;
}

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: unknown) => (error instanceof BankError ? error.code : `thrown: ${(error as Error).message}`),
  );

if (POSTGRES_SKIP !== null) it.skip(`PostgreSQL sealer tests skipped: ${POSTGRES_SKIP}`, () => undefined);

describe.skipIf(POSTGRES_SKIP !== null)("one instance's concurrent audit sealing loops (bank serve --audit-sealers)", () => {
  it("8 partitions, 4 loops: hundreds of events from concurrent verifications, each sealed exactly once, positions 1..n per partition", async () => {
    const { bank, store } = await bankOf(8, 4);
    const profiles = await tokens(store, 120);
    const ids = [...profiles.keys()];
    // Three waves of concurrent verifications: the right code, the same code again, a wrong one.
    const right = await Promise.all(ids.map((id) => outcome(bank.verify(id, codeAt(profiles.get(id)!, NOW)))));
    expect(right).toEqual(ids.map(() => "accepted"));
    const again = await Promise.all(ids.map((id) => outcome(bank.verify(id, codeAt(profiles.get(id)!, NOW)))));
    expect(again).toEqual(ids.map(() => "replayed"));
    const wrong = await Promise.all(ids.map((id) => outcome(bank.verify(id, otherThan(codeAt(profiles.get(id)!, NOW + 60))))));
    expect(new Set(wrong).has("accepted")).toBe(false);
    // Readers seal first: nothing committed is left queued, and every event is in `events` once.
    const report = await bank.verifyAudit();
    expect(report).toMatchObject({ ok: true });
    const q = async (text: string) => (await store.pool.query(text)).rows;
    expect(await q("SELECT count(*)::int AS n FROM audit_queue")).toEqual([{ n: 0 }]);
    expect(await q("SELECT count(*)::int AS n FROM (SELECT nonce FROM events GROUP BY nonce HAVING count(*) > 1) d")).toEqual([{ n: 0 }]);
    const perToken = await q(
      "SELECT user_id, count(*)::int AS n FROM events WHERE user_id LIKE '2083L%' AND kind <> 'token-set' GROUP BY user_id ORDER BY user_id",
    );
    const verifications = perToken.filter((r) => Number(r.n) >= 3);
    expect(verifications.length).toBe(ids.length);
    const total = (await q("SELECT count(*)::int AS n FROM events"))[0].n as number;
    expect(report.rows).toBe(total);
    expect(total).toBeGreaterThan(3 * ids.length);
    // Positions 1..n in every partition (no gap, none twice), every partition used.
    const parts = await q(
      "SELECT part, count(*)::int AS n, min(pos)::int AS lo, max(pos)::int AS hi FROM events GROUP BY part ORDER BY part",
    );
    expect(parts.map((p) => p.part)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const p of parts) expect([p.lo, p.hi]).toEqual([1, p.n]);
    // Every row went through this instance's sealer.
    expect(store.sealing.sealed).toBe(total);
  }, 180_000);

  it("while one partition's seal waits on a lock, the instance's other loops seal every other partition", async () => {
    const { store, keys } = await withoutSealer(8);
    const first = await enqueue(store, keys, 0, "p0");
    for (let part = 1; part < 8; part++) for (let i = 0; i < 5; i++) await enqueue(store, keys, part, `p${part}.${i}`);
    // Another transaction holds partition 0's nonce in events' unique index (uncommitted): a seal of partition 0 waits at its insert.
    const holder = await store.pool.connect();
    await holder.query("BEGIN");
    await holder.query("INSERT INTO events (id, part, pos, at, kind, actor, mac, nonce) VALUES (100000, 99, 1, 0, 'x', 'x', $1, $2)", [
      randomBytes(32),
      first,
    ]);
    const sealer = new AuditSealer(store.pool, { keys, random: randomBytes }, 4);
    const query = async (text: string) => (await store.pool.query(text)).rows;
    try {
      // The background's way: a loop per partition found, up to 4. Whenever a loop picks partition 0 it
      // waits; the others go on (one loop alone would wait there with the rest still queued, unless it came last).
      const settling = sealer.settle();
      // (Within the store's lock_timeout, 5 s, after which a waiting seal gives up and its loop picks again.)
      const deadline = Date.now() + 4_500;
      while ((await query("SELECT count(*)::int AS n FROM events WHERE part BETWEEN 1 AND 7"))[0].n < 35 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await query("SELECT part, detail FROM audit_queue")).toEqual([{ part: 0, detail: "p0" }]);
      expect(await query("SELECT count(*)::int AS n FROM events WHERE part BETWEEN 1 AND 7")).toEqual([{ n: 35 }]);
      await holder.query("ROLLBACK");
      await settling;
      expect(await query("SELECT count(*)::int AS n FROM audit_queue")).toEqual([{ n: 0 }]);
      expect(sealer.sealed).toBe(36);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      holder.release();
    }
  }, 60_000);

  it("a queued row a database writer alters after the sealer checked it and before its move: the seal writes nothing, the next refuses the row (alarm)", async () => {
    const { store, keys } = await withoutSealer(1);
    const alarms: string[] = [];
    const sealer = new AuditSealer(store.pool, { keys, random: randomBytes, onAlarm: (a) => alarms.push(a.reason) }, 1);
    const headPos = async () => (await store.pool.query("SELECT pos FROM audit_head WHERE part = 0")).rows[0].pos as number;
    const before = await headPos();
    await enqueue(store, keys, 0, "first");
    await enqueue(store, keys, 0, "second");
    const admin = new pg.Client({ connectionString: store.pool.options.connectionString });
    await admin.connect();
    opened.push({ close: () => admin.end() });
    // The writer strikes once, in the gap between the sealer's read of the queue (its writer MACs checked
    // on what it read) and the statement that moves the rows: it commits a new version of "second".
    const query = pg.Client.prototype.query;
    let struck = false;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const answer = (query as (...a: unknown[]) => unknown).apply(this, args);
      const text = (args[0] as { text?: string })?.text ?? "";
      if (struck || !text.includes("nextval('events_global_id')") || !(answer instanceof Promise)) return answer;
      struck = true;
      return answer.then(async (result) => {
        await admin.query("UPDATE audit_queue SET detail = 'altered' WHERE detail = 'second'");
        return result;
      });
    } as typeof query;
    try {
      await expect(sealer.sealOnce(true, 0)).rejects.toThrow(/queue rows changed while the sealer checked them: 1 of 2/);
    } finally {
      pg.Client.prototype.query = query;
    }
    expect(struck).toBe(true);
    // Nothing moved, the head where it was; both rows still queued.
    expect((await store.pool.query("SELECT count(*)::int AS n FROM events WHERE kind = 'note'")).rows).toEqual([{ n: 0 }]);
    expect(await headPos()).toBe(before);
    expect((await store.pool.query("SELECT detail FROM audit_queue ORDER BY queue_id")).rows.map((r) => r.detail)).toEqual([
      "first",
      "altered",
    ]);
    // The next seal reads the altered row: its writer MAC fails, "first" alone is chained, the alarm raised.
    await sealer.settle();
    expect((await store.pool.query("SELECT detail FROM events WHERE kind = 'note' ORDER BY id")).rows.map((r) => r.detail)).toEqual([
      "first",
    ]);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatch(/writer MAC/);
  }, 60_000);

  it("a queued copy of a sealed event's nonce: the rows before it chained, it refused with an alarm, its partition alone stopped", async () => {
    const { store, url, keys } = await withoutSealer(2);
    const alarms: string[] = [];
    const sealer = new AuditSealer(store.pool, { keys, random: randomBytes, onAlarm: (a) => alarms.push(a.reason) }, 4);
    const original = await enqueue(store, keys, 0, "original");
    await sealer.settle();
    await enqueue(store, keys, 0, "before");
    await enqueue(store, keys, 0, "copy", original);
    await enqueue(store, keys, 0, "after");
    await enqueue(store, keys, 1, "elsewhere");
    await sealer.settle();
    expect(alarms).toEqual(["it repeats an earlier event's nonce: a copy of that event"]);
    const rows = (await store.pool.query("SELECT part, detail FROM events WHERE kind = 'note' ORDER BY id")).rows;
    expect(rows.map((r) => `${r.part}:${r.detail}`).sort()).toEqual(["0:before", "0:original", "1:elsewhere"]);
    expect((await store.pool.query("SELECT detail FROM audit_queue ORDER BY queue_id")).rows.map((r) => r.detail)).toEqual([
      "copy",
      "after",
    ]);
    const reopened = (await openStore(url)) as PgStore;
    opened.push(reopened);
    const report = await (await Bank.open(reopened, MASTER, { now: () => NOW })).verifyAudit();
    expect(report.ok).toBe(false);
    expect(report.firstBad).toMatchObject({ table: "queue" });
  }, 60_000);
});
