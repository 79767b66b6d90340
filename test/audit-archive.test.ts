// Audit retention (host/bank/archive.ts, AuditTrail.archive): sealed rows older than a cut-off move to
// segment files and leave the database; `verifyAudit(..., archiveDir)` walks archive + database as
// one trail, on SQLite and PostgreSQL. The tamper matrix, extended to the archive: a segment altered,
// a segment missing, and the database read without its archive are each detected.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readSegment, segmentFiles } from "../host/bank/archive.js";
import { formatHead, formatHeads } from "../host/bank/audit.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import type { BankStore, EventRow } from "../host/bank/store.js";
import { spawnAsync } from "./helpers.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const CLI = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
const KEY = MasterKey.fromHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
const START = 1_900_000_020;
const HOUR = 3600;
const KINDS = POSTGRES_SKIP === null ? (["sqlite", "postgresql"] as const) : (["sqlite"] as const);
const postgres = usePostgres();

let dir: string;
let opened: BankStore[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-archive-"));
  opened = [];
});

afterEach(async () => {
  for (const store of opened) await store.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** A bank with 30 settings changes, one an hour from START (30 events, 1..30). */
async function bankWithTrail(kind: (typeof KINDS)[number]): Promise<{ bank: Bank; store: BankStore; archive: string }> {
  const store = await openStore(kind === "sqlite" ? join(dir, "bank.sqlite") : postgres.freshUrl(), { create: true });
  opened.push(store);
  let now = START;
  const bank = await Bank.open(store, KEY, { now: () => now });
  for (let i = 0; i < 30; i++) {
    now = START + i * HOUR;
    await bank.updateSettings({ mailDomain: `m${i}.example` });
  }
  const archive = join(dir, "archive");
  mkdirSync(archive);
  return { bank, store, archive };
}

function rewriteSegment(folder: string, name: string, change: (lines: string[]) => string[]): void {
  const lines = gunzipSync(readFileSync(join(folder, name)))
    .toString("utf8")
    .split("\n")
    .filter(Boolean);
  writeFileSync(join(folder, name), gzipSync(`${change(lines).join("\n")}\n`));
}

describe.each(KINDS)("audit retention on %s", (kind) => {
  it("archives rows older than the cut-off, prunes them, and verifies archive + database as one trail", async () => {
    const { bank, store, archive } = await bankWithTrail(kind);
    const total = (await bank.verifyAudit()).rows;
    expect(total).toBeGreaterThanOrEqual(30);
    const events = await store.events(0, 1000);
    // Rows recorded before hour 20 go.
    const cut = START + 20 * HOUR;
    const expected = events.filter((e) => e.at < cut).length;
    const first = await bank.archiveAudit(archive, cut);
    expect(first.rows).toBe(expected);
    expect(first.through).toBe(expected);
    expect((await store.events(0, 1))[0].id).toBe(expected + 1);
    expect(await bank.verifyAudit(1000, undefined, archive)).toMatchObject({ ok: true, rows: total });
    // The database alone now starts past row 1: verify says the rows before it are missing.
    const alone = await bank.verifyAudit();
    expect(alone.ok).toBe(false);
    expect(alone.firstBad?.reason).toMatch(/the trail starts at row \d+: the rows before it were deleted/);
    // Again later: a second segment continues the first; the newest row always stays.
    const second = await bank.archiveAudit(archive, START + 1000 * HOUR);
    expect(second.rows).toBe(total - expected - 1);
    expect(await store.events(0, 1000)).toHaveLength(1);
    expect(readdirSync(archive).filter((n) => n.endsWith(".jsonl.gz"))).toHaveLength(2);
    const report = await bank.verifyAudit(1000, undefined, archive);
    expect(report).toMatchObject({ ok: true, rows: total });
    // The chain goes on from the row kept.
    await bank.updateSettings({ mailDomain: "after.example" });
    expect(await bank.verifyAudit(1000, undefined, archive)).toMatchObject({ ok: true, rows: total + 1 });
  });

  it("an archived row altered, or a segment missing, breaks the trail where it is", async () => {
    const { bank, archive } = await bankWithTrail(kind);
    await bank.archiveAudit(archive, START + 10 * HOUR);
    await bank.archiveAudit(archive, START + 20 * HOUR);
    const [firstSegment, secondSegment] = readdirSync(archive).sort();
    expect(secondSegment).toBeDefined();
    const original = readFileSync(join(archive, firstSegment));
    // One row's detail changed (its MACs kept).
    rewriteSegment(archive, firstSegment, (lines) =>
      lines.map((line, i) => (i === 3 ? JSON.stringify({ ...JSON.parse(line), detail: "forged" }) : line)),
    );
    const altered = await bank.verifyAudit(1000, undefined, archive);
    expect(altered.ok).toBe(false);
    expect(altered.firstBad?.id).toBe(3);
    writeFileSync(join(archive, firstSegment), original);
    expect((await bank.verifyAudit(1000, undefined, archive)).ok).toBe(true);
    // The middle segment gone: the database's rows no longer follow.
    unlinkSync(join(archive, secondSegment));
    const missing = await bank.verifyAudit(1000, undefined, archive);
    expect(missing.ok).toBe(false);
    expect(missing.firstBad?.reason).toMatch(/deleted/);
  });
});

describe("bank audit archive and verify --archive (the CLI, SQLite)", () => {
  it("archives every sealed row but the newest, and verify passes with the archive and fails without it", async () => {
    const path = join(dir, "cli.sqlite");
    const keyFile = join(dir, "bank.key");
    writeFileSync(keyFile, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", { mode: 0o600 });
    const store = await openStore(path, { create: true });
    // Recorded ten minutes ago: older than the cut-off, and than the 5 minutes a row always stays.
    let now = Math.floor(Date.now() / 1000) - 600;
    const bank = await Bank.open(store, KEY, { now: () => now++ });
    for (let i = 0; i < 5; i++) await bank.updateSettings({ mailDomain: `c${i}.example` });
    const total = (await bank.verifyAudit()).rows;
    await store.close();
    const archive = join(dir, "segments");
    mkdirSync(archive);
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, "bank", "audit", ...args, "--db", path, "--master-key-file", keyFile], { encoding: "utf8" });
    const archived = cli("archive", "--dir", archive, "--older-than-days", "0");
    expect(archived.stderr).toBe("");
    expect(archived.stdout).toMatch(new RegExp(`^archived ${total - 1} rows through row ${total - 1} in 1 segment`));
    const withArchive = cli("verify", "--archive", archive);
    expect(withArchive.status, withArchive.stderr).toBe(0);
    expect(withArchive.stdout).toContain(`the audit trail verifies: ${total} rows`);
    const without = cli("verify");
    expect(without.status).toBe(1);
    expect(without.stderr).toContain(`the trail starts at row ${total}`);
    expect(cli("archive", "--dir", archive).stderr).toContain("give --older-than-days, or set the bank's retention");
    // The bank's retention setting is archive's default.
    const set = spawnSync(
      process.execPath,
      [CLI, "bank", "settings", "--audit-retention-days", "0", "--db", path, "--master-key-file", keyFile],
      { encoding: "utf8" },
    );
    expect(set.stdout).toContain("Audit retention: 0 days");
    // The row kept last time goes now (the settings event is newer); the newest stays.
    expect(cli("archive", "--dir", archive).stdout).toMatch(new RegExp(`^archived 1 rows through row ${total} in 1 segment`));
    // bank check and bank restore take the archive too (the database alone is missing its first rows).
    const ops = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, "bank", ...args, "--master-key-file", keyFile], { encoding: "utf8" });
    expect(ops("check", "--db", path).status).toBe(1);
    const checked = ops("check", "--db", path, "--archive", archive);
    expect(checked.status, checked.stderr).toBe(0);
    expect(checked.stdout).toContain(`the audit trail verifies: ${total + 1} rows`);
    const backup = join(dir, "backup.sqlite");
    expect(ops("backup", "--db", path, backup).status).toBe(0);
    expect(ops("restore", backup, "--db", join(dir, "restored.sqlite")).status).toBe(1);
    const restored = ops("restore", backup, "--db", join(dir, "restored.sqlite"), "--archive", archive);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`the audit trail verifies: ${total + 1} rows`);
  });
});

/** Runs SQL on the bank's database as a writer with access to it would (SQLite `?`; PostgreSQL `$n`). */
async function tamper(bank: Bank, text: string, ...params: unknown[]): Promise<Record<string, unknown>[]> {
  if (bank.store.kind === "sqlite") {
    const statement = (bank.store as SqliteStore).engine!.db.prepare(text.replace(/\$\d+/g, "?"));
    if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
    statement.run(...params);
    return [];
  }
  return (await (bank.store as PgStore).pool.query(text, params)).rows;
}

/** The archived row with global id `id`, as its segment holds it. */
function archived(folder: string, id: number): EventRow {
  const file = segmentFiles(folder).find((f) => f.first <= id && id <= f.last)!;
  return readSegment(folder, file.name).rows.find((r) => r.id === id)!;
}

describe.each(KINDS)("a copy of an archived event put back [%s]", (kind) => {
  it("into the trail (after the archive, or at its own id altered): verify names it as a copy of an archived event", async () => {
    const { bank, archive } = await bankWithTrail(kind);
    const result = await bank.archiveAudit(archive, START + 20 * HOUR);
    const total = (await bank.verifyAudit(1000, undefined, archive)).rows;
    const genuine = archived(archive, 5);
    const [last] = await tamper(bank, "SELECT * FROM events ORDER BY id DESC LIMIT 1");
    // After the last row, with its own MACs (and PostgreSQL's next position of its partition).
    const copyId = Number(last.id) + 1;
    if (kind === "sqlite")
      await tamper(
        bank,
        "INSERT INTO events (id, at, kind, service_id, user_id, actor, detail, mac, nonce, writer_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        copyId,
        genuine.at,
        genuine.kind,
        genuine.service_id,
        genuine.user_id,
        genuine.actor,
        genuine.detail,
        genuine.mac,
        genuine.nonce,
        genuine.writer_mac,
      );
    else
      await tamper(
        bank,
        "INSERT INTO events (id, part, pos, at, kind, service_id, user_id, actor, detail, mac, nonce, writer_mac) VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        copyId,
        Number(last.pos) + 1,
        genuine.at,
        genuine.kind,
        genuine.service_id,
        genuine.user_id,
        genuine.actor,
        genuine.detail,
        Buffer.from(genuine.mac!),
        Buffer.from(genuine.nonce!),
        Buffer.from(genuine.writer_mac!),
      );
    const report = await bank.verifyAudit(1000, undefined, archive);
    expect(report).toMatchObject({ ok: false, firstBad: { id: copyId } });
    expect(report.firstBad!.reason).toMatch(/a copy of an archived event, whose nonce left the database with it/);
    await tamper(bank, "DELETE FROM events WHERE id = $1", copyId);
    expect((await bank.verifyAudit(1000, undefined, archive)).ok).toBe(true);

    // At its own id (below the archive's end), altered: not the archived row.
    const b = (bytes: Uint8Array | null) => (kind === "sqlite" ? bytes : Buffer.from(bytes!));
    const fields = [genuine.id, genuine.at, genuine.kind, genuine.service_id, genuine.user_id, genuine.actor, "altered"];
    if (kind === "sqlite")
      await tamper(
        bank,
        "INSERT INTO events (id, at, kind, service_id, user_id, actor, detail, mac, nonce, writer_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        ...fields,
        b(genuine.mac),
        b(genuine.nonce),
        b(genuine.writer_mac),
      );
    else
      await tamper(
        bank,
        "INSERT INTO events (id, at, kind, service_id, user_id, actor, detail, mac, nonce, writer_mac, part, pos) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        ...fields,
        b(genuine.mac),
        b(genuine.nonce),
        b(genuine.writer_mac),
        genuine.part ?? 0,
        genuine.pos,
      );
    const stray = await bank.verifyAudit(1000, undefined, archive);
    expect(stray).toMatchObject({ ok: false, firstBad: { id: genuine.id } });
    expect(stray.firstBad!.reason).toMatch(/at or below the archive's last row \d+, but differs from the archived row/);
    // The next archive refuses to go on over it.
    await expect(bank.archiveAudit(archive, START + 1000 * HOUR)).rejects.toThrow(/is not the archived row/);
    // The row itself (a prune cut short): verify passes, and the next archive finishes the prune.
    await tamper(bank, "UPDATE events SET detail = $1 WHERE id = $2", genuine.detail, genuine.id);
    expect(await bank.verifyAudit(1000, undefined, archive)).toMatchObject({ ok: true, rows: total });
    await bank.archiveAudit(archive, START + 1000 * HOUR);
    expect((await store0(bank)).id).toBeGreaterThan(result.through!);
    expect(await bank.verifyAudit(1000, undefined, archive)).toMatchObject({ ok: true, rows: total });
  });
});

const store0 = async (bank: Bank) => (await bank.store.events(0, 1))[0];

describe.skipIf(POSTGRES_SKIP !== null)("audit retention on PostgreSQL's partitioned trail", () => {
  /** A bank whose trail is sealed in 4 partitions: 40 events an hour apart, of 8 User IDs and none. */
  async function partitioned(): Promise<{ bank: Bank; store: BankStore; archive: string; url: string; clock: { now: number } }> {
    const url = postgres.freshUrl();
    const store = await openStore(url, { create: true });
    opened.push(store);
    const clock = { now: START };
    const bank = await Bank.open(store, KEY, { now: () => clock.now });
    expect(await store.auditPartitions!(4)).toBe(4);
    for (let i = 0; i < 40; i++) {
      clock.now = START + i * HOUR;
      await bank.record("note", i % 5 === 4 ? null : `2083L00000${String(i).padStart(2, "0")}A001`, `hour ${i}`);
      // Sealed before the next hour's event, as a sealer 50 ms behind is (global ids then follow time).
      await (store as PgStore).sealAudit();
    }
    const archive = join(dir, "archive");
    mkdirSync(archive);
    return { bank, store, archive, url, clock };
  }

  it("archives every partition's rows (interleaved as in the trail), prunes them, and verifies archive + database as one trail", async () => {
    const { bank, store, archive, clock } = await partitioned();
    const total = (await bank.verifyAudit()).rows;
    const events = await store.events(0, 1000);
    expect(new Set(events.map((e) => e.part)).size).toBe(4);
    const cut = START + 25 * HOUR;
    const going = events.filter((e) => e.at < cut);
    const first = await bank.archiveAudit(archive, cut);
    expect(first.rows).toBe(going.length);
    expect(first.through).toBe(going[going.length - 1].id);
    expect((await store.events(0, 1))[0].id).toBeGreaterThan(first.through!);
    // The segment's header: the chain state every partition ends on (the last archived row of each).
    const [segment] = segmentFiles(archive);
    const { header } = readSegment(archive, segment.name);
    expect(header.format).toBe("otp-token audit segment v2");
    expect(header.start).toEqual([]);
    expect(header.end.map((s) => s.part)).toEqual([0, 1, 2, 3]);
    for (const state of header.end) {
      const lastOfPart = going.filter((e) => e.part === state.part).at(-1)!;
      expect(state).toEqual({ part: state.part, pos: lastOfPart.pos, mac: Buffer.from(lastOfPart.mac!).toString("hex") });
    }
    expect(header.floor).toBe(START + 24 * HOUR);
    const report = await bank.verifyAudit(1000, undefined, archive);
    expect(report).toMatchObject({ ok: true, rows: total });
    expect(report.heads).toHaveLength(4);
    const alone = await bank.verifyAudit();
    expect(alone.ok).toBe(false);
    expect(alone.firstBad!.reason).toMatch(/starts at row \d+: the rows before it were deleted/);

    // Later: the rest but the newest row; the next segment starts where the first ended.
    const second = await bank.archiveAudit(archive, START + 1000 * HOUR);
    expect(second.rows).toBe(total - going.length - 1);
    expect(await store.events(0, 1000)).toHaveLength(1);
    const next = readSegment(archive, segmentFiles(archive)[1].name).header;
    expect(next.start).toEqual(header.end);
    // The chains go on in every partition; the published heads are reached through the archive.
    for (let i = 40; i < 48; i++) {
      clock.now = START + i * HOUR;
      await bank.record("note", `2083L00000${String(i).padStart(2, "0")}A001`, `hour ${i}`);
    }
    const heads = await store.auditHeads!();
    expect(heads).toHaveLength(4);
    expect(await bank.verifyAudit(1000, heads, archive)).toMatchObject({ ok: true, rows: total + 8 });
  });

  it("a copy of an archived event put into the queue is never sealed: the sealer stops before it and verify names it", async () => {
    const log: string[] = [];
    const url = postgres.freshUrl();
    const store = await openStore(url, { create: true });
    opened.push(store);
    const clock = { now: START };
    const bank = await Bank.open(store, KEY, { now: () => clock.now, auditHead: { log: (line) => log.push(line) } });
    await store.auditPartitions!(4);
    for (let i = 0; i < 20; i++) {
      clock.now = START + i * HOUR;
      await bank.record("note", `2083L00000${String(i).padStart(2, "0")}A001`, `hour ${i}`);
      await (store as PgStore).sealAudit();
    }
    const archive = join(dir, "archive");
    mkdirSync(archive);
    const { through } = await bank.archiveAudit(archive, START + 10 * HOUR);
    const total = (await bank.verifyAudit(1000, undefined, archive)).rows;
    const genuine = archived(archive, through!);
    await tamper(
      bank,
      "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac, part) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      genuine.at,
      genuine.kind,
      genuine.service_id,
      genuine.user_id,
      genuine.actor,
      genuine.detail,
      Buffer.from(genuine.nonce!),
      Buffer.from(genuine.writer_mac!),
      genuine.part,
    );
    const report = await bank.verifyAudit(1000, undefined, archive);
    expect(report).toMatchObject({ ok: false, rows: total, firstBad: { table: "queue" } });
    expect(report.firstBad!.reason).toMatch(/is queued: a copy of an archived event/);
    expect((await tamper(bank, "SELECT count(*)::int AS n FROM events WHERE nonce = $1", Buffer.from(genuine.nonce!)))[0].n).toBe(0);
    expect(log.some((line) => /AUDIT ALARM: queued row \d+: .*a copy of an archived event/.test(line))).toBe(true);
    // The record of the cut lowered by the writer (its MAC no longer checks): nothing is sealed at all.
    const [record] = await tamper(bank, "SELECT value FROM settings WHERE name = 'audit_archived'");
    const lowered = { ...JSON.parse(String(record.value)), floor: 0 };
    await tamper(bank, "UPDATE settings SET value = $1 WHERE name = 'audit_archived'", JSON.stringify(lowered));
    const altered = await bank.verifyAudit(1000, undefined, archive);
    expect(altered.ok).toBe(false);
    expect(altered.firstBad!.reason).toMatch(/archive record in the database .* does not check/);
    expect((await tamper(bank, "SELECT count(*)::int AS n FROM events WHERE nonce = $1", Buffer.from(genuine.nonce!)))[0].n).toBe(0);
  });

  it("bank check and bank restore's head options take every partition's head (a head file, or commas), and the archive", async () => {
    const { bank, url, archive } = await partitioned();
    const keyFile = join(dir, "bank.key");
    writeFileSync(keyFile, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", { mode: 0o600 });
    const heads = await bank.store.auditHeads!();
    expect(heads.length).toBe(4);
    const headFile = join(dir, "heads");
    writeFileSync(headFile, formatHeads(heads));
    const check = (...args: string[]) =>
      spawnAsync(process.execPath, [CLI, "bank", "check", "--db", url, "--master-key-file", keyFile, ...args], { timeout: 120_000 });
    const byFile = await check("--head-file", headFile);
    expect(byFile.stderr).toBe("");
    expect(byFile.stdout).toMatch(/the audit trail verifies: \d+ rows in 4 partitions; heads: /);
    expect((await check("--head", heads.map(formatHead).join(","))).status).toBe(0);
    // Archived: the database needs its archive; the heads are still reached.
    await bank.archiveAudit(archive, START + 1000 * HOUR);
    expect((await check("--head-file", headFile)).status).toBe(1);
    expect(await check("--head-file", headFile, "--archive", archive)).toMatchObject({ status: 0 });
    // The partition of the row left in the database set back (that row cut off): older than the published heads.
    const [left] = await tamper(bank, "SELECT part, pos FROM events");
    const victim = heads.find((h) => (h.part ?? 0) === left.part)!;
    expect(victim.id).toBe(Number(left.pos));
    await tamper(bank, "DELETE FROM events");
    const older = await check("--head-file", headFile, "--archive", archive);
    expect(older.status).toBe(1);
    const of = left.part === 0 ? "" : ` of partition ${left.part}`;
    expect(older.stderr).toContain(
      `this backup is older than the published audit head (row ${victim.id}${of}): its trail${of} ends at row ${victim.id - 1}`,
    );
  }, 180_000);
});
