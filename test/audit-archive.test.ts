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
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import type { BankStore } from "../host/bank/store.js";
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
  });
});
