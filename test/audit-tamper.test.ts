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
import { formatHead } from "../host/bank/audit.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import type { AuditHead, BankStore } from "../host/bank/store.js";
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

const row = async (bank: Bank, id: number) => (await tamper(bank, "SELECT * FROM events WHERE id = $1", id))[0];

describe.each(KINDS)("the audit trail against a database writer [%s]", (kind) => {
  it("a forged row inserted (an 'unlocked' the bank never wrote) is named, also after the bank opens again", async () => {
    const { bank, location } = await seeded(kind);
    const previous = await row(bank, 30);
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
    if (kind === "postgresql") await tamper(bank, "UPDATE audit_head SET id = 9, mac = (SELECT mac FROM events WHERE id = 9)");
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
