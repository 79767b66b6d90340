// The audit trail against someone with write access to the database but not the master key (issue 19,
// item 2): every way of changing the trail is detected by `bank audit verify` (Bank.verifyAudit), on
// SQLite and on PostgreSQL. Each case builds a bank with a few dozen events, tampers with the tables
// directly, opens the bank again (SQLite used to chain every MAC-less row at open; PostgreSQL's sealer
// sealed whatever was queued) and verifies.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chainMac, formatHead, parseHeads, signEvent, verifyChain } from "../host/bank/audit.js";
import { migrate } from "../host/bank/postgres/migrate.js";
import { MIGRATIONS as PG_MIGRATIONS } from "../host/bank/postgres/schema.js";
import { AuditSealer } from "../host/bank/postgres/sealer.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import { openAuditKeys } from "../host/bank/rooms/audit.js";
import type { AuditHead, BankStore, EventRow } from "../host/bank/store.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const KEY = MasterKey.fromHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
const START = 1_900_000_020;
const KINDS = POSTGRES_SKIP === null ? (["sqlite", "postgresql"] as const) : (["sqlite"] as const);
const postgres = usePostgres();

let dir: string;
let opened: BankStore[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-audit-"));
  opened = [];
});

afterEach(async () => {
  for (const store of opened) await store.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

type Kind = (typeof KINDS)[number];

/** A bank on the store `location` names (an SQLite path or a PostgreSQL URL). */
async function open(location: string, log: string[] = [], headFile?: string): Promise<Bank> {
  const store = await openStore(location, { create: true });
  opened.push(store);
  return Bank.open(store, KEY, { now: () => START, actor: "test", auditHead: { log: (line) => log.push(line), file: headFile } });
}

/** A fresh bank with 30 events: settings, API keys, issues, records. */
let seededBanks = 0;
async function seeded(kind: Kind): Promise<{ bank: Bank; location: string }> {
  const location = kind === "sqlite" ? join(dir, `bank-${++seededBanks}.sqlite`) : postgres.freshUrl();
  const bank = await open(location);
  await bank.updateSettings({ serviceId: "10212083" });
  for (let i = 0; i < 3; i++) {
    await bank.issue({
      mail: `holder${i}@example.jp`,
      mailConfirm: `holder${i}@example.jp`,
      password: "Pass1234",
      passwordConfirm: "Pass1234",
    });
    await bank.createApiKey("login", `backend ${i}`);
  }
  for (let i = 0; i < 23; i++) await bank.record("note", null, `event ${i}`);
  expect(await bank.verifyAudit()).toMatchObject({ ok: true, rows: 30 });
  return { bank, location };
}

/** Runs SQL on the bank's database as its writer would (SQLite `?` placeholders; PostgreSQL `$n`). */
async function tamper(bank: Bank, text: string, ...params: unknown[]): Promise<Record<string, unknown>[]> {
  if (bank.store.kind === "sqlite") {
    const statement = (bank.store as SqliteStore).engine!.db.prepare(text.replace(/\$\d+/g, "?"));
    if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
    statement.run(...params);
    return [];
  }
  return (await (bank.store as PgStore).pool.query(text, params)).rows;
}

/** The bank opened again over the tampered database (what every later start of the service does). */
async function reopen(location: string, bank: Bank, log: string[] = []): Promise<Bank> {
  await bank.store.close();
  return open(location, log);
}

/** PostgreSQL: a row inserted without a partition position (the writer drops the constraint; the position is then the id). */
async function loosePositions(bank: Bank): Promise<void> {
  if (bank.store.kind !== "sqlite") await tamper(bank, "ALTER TABLE events ALTER COLUMN pos DROP NOT NULL");
}

const row = async (bank: Bank, id: number) => (await tamper(bank, "SELECT * FROM events WHERE id = $1", id))[0];

describe.each(KINDS)("the audit trail against a database writer [%s]", (kind) => {
  it("a forged row inserted (an 'unlocked' the bank never wrote) is named, also after the bank opens again", async () => {
    const { bank, location } = await seeded(kind);
    const previous = await row(bank, 30);
    await loosePositions(bank);
    // A copy of the last row's chain MAC makes it look sealed; SQLite's at-open chaining was the other way in.
    await tamper(
      bank,
      "INSERT INTO events (id, at, kind, service_id, user_id, actor, detail, mac) VALUES ($1, $2, 'unlocked', NULL, '2083L0000001A001', 'cli', 'had 10 consecutive failures', $3)",
      31,
      START,
      previous.mac,
    );
    const again = await reopen(location, bank);
    expect(await again.verifyAudit()).toMatchObject({ ok: false, firstBad: { id: 31 } });
    // With no MAC at all: SQLite used to chain it at open; it stays unsealed.
    if (kind === "postgresql") await tamper(again, "ALTER TABLE events ALTER COLUMN mac DROP NOT NULL");
    await tamper(again, "UPDATE events SET mac = NULL WHERE id = 31");
    const third = await reopen(location, again);
    const report = await third.verifyAudit();
    expect(report).toMatchObject({ ok: false, firstBad: { id: 31 } });
    expect(report.firstBad!.reason).toMatch(/never sealed|no writer MAC/);
  });

  it("a row modified is named; emptying every MAC afterwards does not get the history chained again", async () => {
    const { bank, location } = await seeded(kind);
    await tamper(bank, "UPDATE events SET detail = 'rewritten' WHERE id = 12");
    expect(await bank.verifyAudit()).toMatchObject({ ok: false, firstBad: { id: 12 } });
    if (kind === "postgresql") await tamper(bank, "ALTER TABLE events ALTER COLUMN mac DROP NOT NULL");
    await tamper(bank, "UPDATE events SET mac = NULL");
    const again = await reopen(location, bank);
    const report = await again.verifyAudit();
    expect(report.ok).toBe(false);
    expect(report.firstBad!.id).toBeLessThanOrEqual(12);
    // And with the writer MACs emptied too, and the legacy marker set: nothing is vouched for.
    await tamper(again, "UPDATE events SET nonce = NULL, writer_mac = NULL");
    await tamper(
      again,
      kind === "sqlite"
        ? "INSERT INTO meta (name, value) VALUES ('audit_legacy_upto', CAST('30' AS BLOB))"
        : "INSERT INTO meta (name, value) VALUES ('audit_legacy_upto', convert_to('30', 'UTF8'))",
    );
    const third = await reopen(location, again);
    expect(await third.verifyAudit()).toMatchObject({ ok: false, firstBad: { id: 1 } });
  });

  it("a row deleted, two rows reordered, two rows' contents swapped: each named", async () => {
    const { bank } = await seeded(kind);
    await tamper(bank, "DELETE FROM events WHERE id = 9");
    expect(await bank.verifyAudit()).toMatchObject({ ok: false, firstBad: { id: 10 } });

    const second = await seeded(kind);
    // Reorder: rows 14 and 15 change places (their ids swapped through a free id).
    await tamper(second.bank, "UPDATE events SET id = 1000 WHERE id = 14");
    await tamper(second.bank, "UPDATE events SET id = 14 WHERE id = 15");
    await tamper(second.bank, "UPDATE events SET id = 15 WHERE id = 1000");
    expect(await second.bank.verifyAudit()).toMatchObject({ ok: false, firstBad: { id: 14 } });

    const third = await seeded(kind);
    // Swap: two rows' fields and MACs exchanged wholesale, ids kept (the nonce moved out of the way first).
    const [a, b] = [await row(third.bank, 20), await row(third.bank, 21)];
    const set = "UPDATE events SET detail = $1, mac = $2, nonce = $3, writer_mac = $4 WHERE id = $5";
    await tamper(third.bank, "UPDATE events SET nonce = NULL WHERE id = 20");
    await tamper(third.bank, set, a.detail, a.mac, a.nonce, a.writer_mac, 21);
    await tamper(third.bank, set, b.detail, b.mac, b.nonce, b.writer_mac, 20);
    expect(await third.bank.verifyAudit()).toMatchObject({ ok: false, firstBad: { id: 20 } });
  });

  it("a writer MAC emptied or taken from another row is named", async () => {
    const { bank } = await seeded(kind);
    await tamper(bank, "UPDATE events SET writer_mac = NULL WHERE id = 7");
    const report = await bank.verifyAudit();
    expect(report).toMatchObject({ ok: false, firstBad: { id: 7 } });
    expect(report.firstBad!.reason).toMatch(/no writer MAC/);
    const other = await seeded(kind);
    const donor = await row(other.bank, 8);
    await tamper(other.bank, "UPDATE events SET writer_mac = $1 WHERE id = 7", donor.writer_mac);
    expect(await other.bank.verifyAudit()).toMatchObject({ ok: false, firstBad: { id: 7 } });
  });

  it("truncation: the shorter trail verifies alone, and fails against the head published before", async () => {
    const log: string[] = [];
    const headFile = join(dir, "audit.head");
    const location = kind === "sqlite" ? join(dir, "bank.sqlite") : postgres.freshUrl();
    const bank = await open(location, log, headFile);
    for (let i = 0; i < 12; i++) await bank.record("note", null, `event ${i}`);
    const published = (await bank.publishAuditHead()) as AuditHead;
    expect(published.id).toBe(12);
    // What was published outside the database: the file and a log line name the same head.
    expect(readFileSync(headFile, "utf8").trim()).toBe(formatHead(published));
    expect(log.some((line) => line.includes(formatHead(published)))).toBe(true);
    expect(await bank.verifyAudit(undefined, published)).toMatchObject({ ok: true, rows: 12 });

    await tamper(bank, "DELETE FROM events WHERE id > 9");
    if (kind === "postgresql") await tamper(bank, "UPDATE audit_head SET pos = 9, mac = (SELECT mac FROM events WHERE id = 9)");
    expect(await bank.verifyAudit()).toMatchObject({ ok: true, rows: 9 });
    const report = await bank.verifyAudit(undefined, published);
    expect(report).toMatchObject({ ok: false, firstBad: { id: 12 } });
    expect(report.firstBad!.reason).toMatch(/before the published head 12/);
    // A head that names a row the trail holds with another MAC: rewritten.
    const forged = { id: 5, mac: randomBytes(32).toString("hex") };
    expect(await bank.verifyAudit(undefined, forged)).toMatchObject({ ok: false, firstBad: { id: 5 } });
  });

  it("a copy of a genuine row appended again is named", async () => {
    const { bank } = await seeded(kind);
    const genuine = await row(bank, 3);
    const last = await row(bank, 30);
    await loosePositions(bank);
    await tamper(bank, "DROP INDEX events_by_nonce");
    await tamper(
      bank,
      "INSERT INTO events (id, at, kind, service_id, user_id, actor, detail, mac, nonce, writer_mac) VALUES (31, $1, $2, $3, $4, $5, $6, $7, $8, $9)",
      genuine.at,
      genuine.kind,
      genuine.service_id,
      genuine.user_id,
      genuine.actor,
      genuine.detail,
      last.mac,
      genuine.nonce,
      genuine.writer_mac,
    );
    const report = await bank.verifyAudit();
    expect(report).toMatchObject({ ok: false, firstBad: { id: 31 } });
  });
});

describe.skipIf(POSTGRES_SKIP !== null)("PostgreSQL's audit queue against a database writer", () => {
  it("a forged row inserted into the queue is never sealed: the sealer stops before it, logs an alarm, and verify names it", async () => {
    const { bank, location } = await seeded("postgresql");
    await tamper(
      bank,
      "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac) VALUES ($1, 'unlocked', NULL, '2083L0000001A001', 'cli', 'forged', $2, $3)",
      START,
      randomBytes(16),
      randomBytes(32),
    );
    const log: string[] = [];
    const again = await reopen(location, bank, log);
    // A genuine event after the forged one: the sealer will not seal past the forged row.
    await again.record("note", null, "after the forgery");
    const report = await again.verifyAudit();
    expect(report.ok, JSON.stringify(report)).toBe(false);
    expect(report.firstBad, JSON.stringify(report)).toMatchObject({ table: "queue" });
    expect(report.alarms.map((a) => a.table)).toEqual(["queue"]);
    expect(report.rows).toBe(30);
    expect((await tamper(again, "SELECT count(*)::int AS n FROM events WHERE detail = 'forged'"))[0].n).toBe(0);
    expect(log.some((line) => /AUDIT ALARM: queued row \d+/.test(line))).toBe(true);
  });

  it("a genuine event copied into the queue is refused as a repeat of its nonce", async () => {
    const { bank } = await seeded("postgresql");
    const genuine = await row(bank, 4);
    await tamper(
      bank,
      "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      genuine.at,
      genuine.kind,
      genuine.service_id,
      genuine.user_id,
      genuine.actor,
      genuine.detail,
      genuine.nonce,
      genuine.writer_mac,
    );
    const report = await bank.verifyAudit();
    expect(report).toMatchObject({ ok: false, firstBad: { table: "queue" } });
    expect(report.firstBad!.reason).toMatch(/repeats an earlier event's nonce/);
    expect(report.rows).toBe(30);
  });

  it("every seal logs the head it made", async () => {
    const log: string[] = [];
    const bank = await open(postgres.freshUrl(), log);
    await bank.record("note", null, "one");
    const head = await bank.publishAuditHead();
    expect(log.some((line) => line.startsWith("audit sealed 1 row, head ") && line.endsWith(formatHead(head!)))).toBe(true);
  });
});

describe.skipIf(POSTGRES_SKIP !== null)("PostgreSQL's partitioned trail against a database writer", () => {
  /** A bank whose trail is sealed in 4 partitions, with events of 8 User IDs (several per partition) and 6 without. */
  async function partitioned(headFile?: string): Promise<{ bank: Bank; location: string; log: string[] }> {
    const location = postgres.freshUrl();
    const log: string[] = [];
    const bank = await open(location, log, headFile);
    expect(await bank.store.auditPartitions!(4)).toBe(4);
    for (let round = 0; round < 3; round++)
      for (let u = 0; u < 8; u++) await bank.record("note", `2083L000000${u}A00${round}`, `round ${round}`);
    for (let i = 0; i < 6; i++) await bank.record("note", null, `event ${i}`);
    await (bank.store as PgStore).sealAudit();
    return { bank, location, log };
  }
  const rowsOf = (bank: Bank, part: number) =>
    tamper(bank, "SELECT id, part, pos, mac FROM events WHERE part = $1 ORDER BY pos", part) as Promise<
      { id: number; part: number; pos: number; mac: Buffer }[]
    >;

  it("verifies each partition's chain and their interleaving; every partition's head is published", async () => {
    const headFile = join(dir, "audit.heads");
    const { bank } = await partitioned(headFile);
    const report = await bank.verifyAudit();
    expect(report).toMatchObject({ ok: true, rows: 30 });
    const used = (await tamper(bank, "SELECT DISTINCT part FROM events ORDER BY part")).map((r) => r.part);
    expect(used.length).toBeGreaterThan(1);
    expect(report.heads!.map((h) => h.part ?? 0)).toEqual(used);
    // Positions run 1, 2, ... in each partition, in global id order.
    for (const part of used) {
      const rows = await rowsOf(bank, part as number);
      expect(rows.map((r) => r.pos)).toEqual(rows.map((_, i) => i + 1));
      expect([...rows.map((r) => r.id)].sort((a, b) => a - b)).toEqual(rows.map((r) => r.id));
    }
    // A token's events stay in one partition.
    const parts = await tamper(
      bank,
      "SELECT user_id, count(DISTINCT part)::int AS n FROM events WHERE user_id IS NOT NULL GROUP BY user_id",
    );
    expect(parts.every((r) => r.n === 1)).toBe(true);
    const heads = (await bank.store.auditHeads!()).map(formatHead);
    await bank.publishAuditHead();
    expect(readFileSync(headFile, "utf8").trim().split("\n")).toEqual(heads);
    expect(await bank.verifyAudit(undefined, parseHeads(readFileSync(headFile, "utf8"))!)).toMatchObject({ ok: true });
  });

  it("a row moved to another partition, or given another global id (the partitions interleaved otherwise): named", async () => {
    const { bank } = await partitioned();
    // From the partition with the most rows to another one.
    const counts = await tamper(bank, "SELECT part, count(*)::int AS n FROM events GROUP BY part ORDER BY n DESC, part");
    const [from, to] = [counts[0].part as number, counts[1].part as number];
    const moved = (await rowsOf(bank, from))[1];
    const toEnd = (await rowsOf(bank, to)).length;
    // Moved: into the other partition at the position after its last row, so the positions still run on.
    await tamper(bank, "UPDATE events SET part = $1, pos = $2 WHERE id = $3", to, toEnd + 1, moved.id);
    const report = await bank.verifyAudit();
    expect(report).toMatchObject({ ok: false, firstBad: { id: moved.id } });
    expect(report.firstBad!.reason).toMatch(/altered|inserted/);
    await tamper(bank, "UPDATE events SET part = $1, pos = $2 WHERE id = $3", from, moved.pos, moved.id);
    expect(await bank.verifyAudit()).toMatchObject({ ok: true });

    // Two rows of different partitions, next to each other in global order, swap global ids: each
    // partition's order is kept, their interleaving is not.
    const [pair] = await tamper(
      bank,
      "SELECT e.id FROM events e JOIN events f ON f.id = e.id + 1 AND f.part <> e.part ORDER BY e.id LIMIT 1",
    );
    const k = pair.id as number;
    await tamper(bank, "UPDATE events SET id = -1 WHERE id = $1", k);
    await tamper(bank, "UPDATE events SET id = $1 WHERE id = $2", k, k + 1);
    await tamper(bank, "UPDATE events SET id = $1 WHERE id = -1", k + 1);
    expect(await bank.verifyAudit()).toMatchObject({ ok: false, firstBad: { id: k } });
  });

  it("a partition's newest rows cut off: its chain alone still verifies; the published heads (one line each) find it", async () => {
    const headFile = join(dir, "audit.heads");
    const { bank } = await partitioned(headFile);
    await bank.publishAuditHead();
    const published = parseHeads(readFileSync(headFile, "utf8"))!;
    expect(published.length).toBeGreaterThan(1);
    const victim = published[published.length - 1];
    const part = victim.part ?? 0;
    expect(victim.id).toBeGreaterThan(2);
    await tamper(bank, "DELETE FROM events WHERE part = $1 AND pos > $2", part, victim.id - 2);
    await tamper(
      bank,
      "UPDATE audit_head SET pos = $2, mac = (SELECT mac FROM events WHERE part = $1 AND pos = $2) WHERE part = $1",
      part,
      victim.id - 2,
    );
    // Without the heads: the shorter partition is a valid chain (as a truncated trail of one chain).
    expect(await bank.verifyAudit()).toMatchObject({ ok: true });
    // With them: named, the partition and the row it should reach.
    const report = await bank.verifyAudit(undefined, published);
    expect(report).toMatchObject({ ok: false, firstBad: { id: victim.id } });
    expect(report.firstBad!.reason).toContain(`partition ${part} ends at row ${victim.id - 2}`);
    // The one-partition form (`ID:MAC`) still names partition 0's head alone.
    const zero = published.find((h) => (h.part ?? 0) === 0);
    if (zero) expect(await bank.verifyAudit(undefined, zero)).toMatchObject({ ok: true });
  });

  it("a partition another sealer holds does not stop this one: it seals another partition meanwhile", async () => {
    const { bank, location } = await partitioned();
    const keys = await openAuditKeys(bank.store, KEY);
    // The bank's own sealer stopped (no seal of its own runs meanwhile); a store without a sealer.
    await bank.store.close();
    const raw = (await openStore(location)) as PgStore;
    opened.push(raw);
    const query = async (text: string, ...params: unknown[]) => (await raw.pool.query(text, params)).rows;
    const alarms: string[] = [];
    const sealer = new AuditSealer(raw.pool, { keys, random: randomBytes, onAlarm: (a) => alarms.push(a.reason) });
    // Ten genuine events queued in every partition.
    for (let u = 0; u < 40; u++) {
      const event = signEvent(
        keys.writer,
        { at: START, kind: "note", service_id: null, user_id: `u${u}`, actor: "test", detail: null },
        randomBytes(16),
      );
      await query(
        "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac, part) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        event.at,
        event.kind,
        event.service_id,
        event.user_id,
        event.actor,
        event.detail,
        event.nonce,
        event.writer_mac,
        u % 4,
      );
    }
    const holder = await raw.pool.connect();
    try {
      // Another instance's sealer, mid-seal: partition 0's head locked.
      await holder.query("BEGIN");
      await holder.query("SELECT pos FROM audit_head WHERE part = 0 FOR UPDATE");
      // Without waiting: partitions 1-3 sealed, one transaction each, and 0 left to its holder.
      for (let i = 0; i < 3; i++) expect([await sealer.sealOnce(false), alarms]).toEqual([10, []]);
      expect(await sealer.sealOnce(false)).toBe("held");
      expect((await query("SELECT DISTINCT part FROM audit_queue")).map((r) => r.part)).toEqual([0]);
    } finally {
      await holder.query("ROLLBACK");
      holder.release();
    }
    const again = await open(location);
    expect(await again.verifyAudit()).toMatchObject({ ok: true, rows: 70 });
  });

  it("a trail chained before partitions (schema 6) becomes partition 0 and verifies; with 3 partitions it goes on", async () => {
    const location = postgres.freshUrl();
    const pg = (await import("pg")).default;
    const pool = new pg.Pool({ connectionString: location });
    // The keys a database without stored ones gets (rooms/audit.ts openAuditKeys).
    const keys = { chain: KEY.deriveKey("audit chain v1"), writer: KEY.deriveKey("audit writer v1") };
    const fields = (i: number) => ({ at: START, kind: "note", service_id: null, user_id: `old${i}`, actor: "cli", detail: `old ${i}` });
    try {
      await migrate(pool, "test", true, PG_MIGRATIONS.slice(0, 6));
      let previous: Uint8Array | null = null;
      for (let id = 1; id <= 5; id++) {
        const event = signEvent(keys.writer, fields(id), randomBytes(16));
        const mac = chainMac(keys.chain, previous, { ...event, id });
        await pool.query(
          "INSERT INTO events (id, at, kind, service_id, user_id, actor, detail, mac, nonce, writer_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          [id, event.at, event.kind, event.service_id, event.user_id, event.actor, event.detail, mac, event.nonce, event.writer_mac],
        );
        previous = mac;
      }
      await pool.query("UPDATE audit_head SET id = 5, mac = $1", [previous]);
      // One event queued by an instance of the old schema, not yet sealed.
      const queued = signEvent(keys.writer, fields(6), randomBytes(16));
      await pool.query(
        "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [queued.at, queued.kind, queued.service_id, queued.user_id, queued.actor, queued.detail, queued.nonce, queued.writer_mac],
      );
    } finally {
      await pool.end();
    }
    const bank = await open(location);
    expect(await bank.verifyAudit()).toMatchObject({ ok: true, rows: 6, head: { id: 6 } });
    expect(await tamper(bank, "SELECT id, part, pos FROM events ORDER BY id")).toEqual(
      [1, 2, 3, 4, 5, 6].map((id) => ({ id, part: 0, pos: id })),
    );
    expect(await bank.store.auditPartitions!(3)).toBe(3);
    expect(await bank.store.auditPartitions!(2)).toBe(3);
    for (let u = 0; u < 12; u++) await bank.record("note", `2083L00000${String(u).padStart(2, "0")}C001`, "after");
    const report = await bank.verifyAudit();
    expect(report).toMatchObject({ ok: true, rows: 18 });
    expect(report.heads!.length).toBeGreaterThan(1);
    const zero = (await tamper(bank, "SELECT pos FROM events WHERE part = 0 ORDER BY id")).map((r) => Number(r.pos));
    expect(zero).toEqual(zero.map((_, i) => i + 1));
  });

  it("verify reads one snapshot: seals that commit out of global-id order make no false gap (pages read apart would)", async () => {
    const location = postgres.freshUrl();
    const bank = await open(location);
    const keys = await openAuditKeys(bank.store, KEY);
    await bank.store.auditPartitions!(2);
    await bank.store.close();
    const raw = (await openStore(location)) as PgStore;
    opened.push(raw);
    const query = async (text: string, ...params: unknown[]) => (await raw.pool.query(text, params)).rows;
    const queue = async (part: number) => {
      const event = signEvent(
        keys.writer,
        { at: START, kind: "note", service_id: null, user_id: null, actor: "test", detail: `p${part}` },
        randomBytes(16),
      );
      await query(
        "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac, part) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        event.at,
        event.kind,
        event.service_id,
        event.user_id,
        event.actor,
        event.detail,
        event.nonce,
        event.writer_mac,
        part,
      );
      return event;
    };
    const first = await queue(0);
    await queue(1);
    const sealer = new AuditSealer(raw.pool, { keys, random: randomBytes });
    // Partition 0's seal takes global id 1, then waits (an uncommitted row holds its nonce in the unique index).
    const holder = await raw.pool.connect();
    await holder.query("BEGIN");
    await holder.query("INSERT INTO events (id, part, pos, at, kind, actor, mac, nonce) VALUES (1000, 9, 1, 0, 'x', 'x', $1, $2)", [
      randomBytes(32),
      first.nonce,
    ]);
    const slow = sealer.sealOnce(false, 0);
    while ((await query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).length === 0)
      await new Promise((resolve) => setTimeout(resolve, 10));
    // Partition 1's seal takes id 2 and commits first.
    expect(await sealer.sealOnce(false, 1)).toBe(1);
    // Two readers read their first page now: pages apart, and one snapshot.
    // (Apart: plain queries, as pages read at different moments would be; the store's events() waits for the seal in flight.)
    const page = async (after: number, limit: number) =>
      (await query("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2", after, limit)) as EventRow[];
    const apart = [await page(0, 1)];
    const snapshot = raw.trail(1)[Symbol.asyncIterator]();
    const inSnapshot = [(await snapshot.next()).value as EventRow[]];
    expect([apart[0].map((r) => r.id), inSnapshot[0].map((r) => r.id)]).toEqual([[2], [2]]);
    // Partition 0's seal commits (id 1), and another of partition 0 (id 3).
    await holder.query("ROLLBACK");
    holder.release();
    expect(await slow).toBe(1);
    await queue(0);
    expect(await sealer.sealOnce(false, 0)).toBe(1);
    apart.push(await page(2, 10));
    for (let next = await snapshot.next(); !next.done; next = await snapshot.next()) inSnapshot.push(next.value);
    async function* pagesOf(pages: EventRow[][]) {
      yield* pages;
    }
    // Pages read apart: partition 0 seems to start at its row 2 (a false gap). One snapshot: consistent.
    expect(await verifyChain(keys, pagesOf(apart))).toMatchObject({ ok: false, firstBad: { id: 3 } });
    expect(await verifyChain(keys, pagesOf(inSnapshot))).toMatchObject({ ok: true, rows: 1 });
    expect(await verifyChain(keys, raw.trail(1))).toMatchObject({ ok: true, rows: 3 });
  });

  it("a reader paging the trail waits for a seal in flight: it never steps past a row that commits late", async () => {
    const bank = await open(postgres.freshUrl());
    const store = bank.store as PgStore;
    const keys = await openAuditKeys(store, KEY);
    await store.auditPartitions(2);
    const query = async (text: string, ...params: unknown[]) => (await store.pool.query(text, params)).rows;
    const queue = async (part: number) => {
      const event = signEvent(
        keys.writer,
        { at: START, kind: "note", service_id: null, user_id: null, actor: "test", detail: `p${part}` },
        randomBytes(16),
      );
      await query(
        "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac, part) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        event.at,
        event.kind,
        event.service_id,
        event.user_id,
        event.actor,
        event.detail,
        event.nonce,
        event.writer_mac,
        part,
      );
      return event;
    };
    const first = await queue(0);
    await queue(1);
    const sealer = new AuditSealer(store.pool, { keys, random: randomBytes });
    const holder = await store.pool.connect();
    await holder.query("BEGIN");
    await holder.query("INSERT INTO events (id, part, pos, at, kind, actor, mac, nonce) VALUES (1000, 9, 1, 0, 'x', 'x', $1, $2)", [
      randomBytes(32),
      first.nonce,
    ]);
    const waiting = async (n: number) => {
      while ((await query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).length < n)
        await new Promise((resolve) => setTimeout(resolve, 10));
    };
    // Partition 0's seal holds global id 1 and waits; partition 1's takes id 2 and commits.
    const slow = sealer.sealOnce(false, 0);
    await waiting(1);
    expect(await sealer.sealOnce(false, 1)).toBe(1);
    // A reader now: it waits for partition 0's head (its seal in flight), not past it.
    const read = store.events(0, 10);
    await waiting(2);
    await holder.query("ROLLBACK");
    holder.release();
    expect(await slow).toBe(1);
    expect((await read).map((r) => [r.id, r.part])).toEqual([
      [1, 0],
      [2, 1],
    ]);
  });
});

describe.each(KINDS)("rows written before writer MACs [%s]", (kind) => {
  it("get theirs once, as far as the chain vouches for them; a row the chain does not vouch for stays an alarm", async () => {
    const { bank, location } = await seeded(kind);
    // The database as migration 4 leaves an older trail: no nonces, no writer MACs, the marker set.
    await tamper(bank, "UPDATE events SET nonce = NULL, writer_mac = NULL");
    const marker =
      kind === "sqlite"
        ? "INSERT INTO meta (name, value) VALUES ('audit_legacy_upto', CAST('30' AS BLOB))"
        : "INSERT INTO meta (name, value) VALUES ('audit_legacy_upto', convert_to('30', 'UTF8'))";
    await tamper(bank, marker);
    const again = await reopen(location, bank);
    expect(await again.verifyAudit()).toMatchObject({ ok: true, rows: 30 });
    expect(await tamper(again, "SELECT * FROM meta WHERE name = 'audit_legacy_upto'")).toEqual([]);

    // Row 17 altered before the upgrade: vouching stops there; 17 and after stay without writer MACs.
    await tamper(again, "UPDATE events SET nonce = NULL, writer_mac = NULL");
    await tamper(again, "UPDATE events SET detail = 'altered' WHERE id = 17");
    await tamper(again, marker);
    const third = await reopen(location, again);
    expect(await third.verifyAudit()).toMatchObject({ ok: false, firstBad: { id: 17 } });
    expect(Number((await tamper(third, "SELECT count(*) AS n FROM events WHERE writer_mac IS NOT NULL"))[0].n)).toBe(16);
  });
});
