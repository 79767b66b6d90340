// Operations on the bank database (issue 19, item 6): `bank backup` (SQLite's online backup API, one
// consistent state while a writer commits, 0600, never overwriting), `bank restore` (to a new path,
// checked first: integrity and the audit chain; a backup older than the published head reported as
// such), `bank check` (integrity check and audit chain; a damaged page found), `bank rekey` (every
// secret re-sealed in one transaction, on both stores), and a PostgreSQL pg_dump restored into a fresh
// database on which codes verify.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresBin } from "../bench/postgres-server.js";
import { formatHead } from "../host/bank/audit.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import type { BankStore } from "../host/bank/store.js";
import { makeBankCommand } from "../host/cli/bank.js";
import type { Terminal } from "../host/cli/prompt.js";
import { type Io, UsageError } from "../host/usage.js";
import { activateToken, codeAt, startBankServe, type TokenProfile, tokenFinish, tokenRequest } from "./bank-helpers.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const START = 1_900_000_020;
const PASSWORD = "Pass1234";
const SERVICE_ID = "10212083";
const OLD_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const NEW_KEY = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
const clock = { now: START };
let dir: string;
const postgres = usePostgres();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-ops-"));
  writeFileSync(join(dir, "old.key"), OLD_KEY, { mode: 0o600 });
  writeFileSync(join(dir, "new.key"), NEW_KEY, { mode: 0o600 });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    now: () => clock.now,
  };
  const stdin: Terminal = { isTTY: false, readAll: () => "", readSecret: async () => "", ask: async () => "" };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return { status: await makeBankCommand(stdin)(args, io), out, err };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { status: 2, out, err: err + error.message };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** `otp-token bank ...` in a child process (the built CLI). */
function cliProcess(args: string[]): Promise<{ status: number | null; out: string; err: string }> {
  const entry = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, "bank", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, out, err }));
  });
}

const key = (hex: string) => MasterKey.fromHex(hex);

async function openBank(
  location: string,
  hex = OLD_KEY,
  thread: "inline" | "worker" = "inline",
  create = false,
): Promise<{ store: BankStore; bank: Bank }> {
  const store = await openStore(location, { create, thread });
  try {
    return { store, bank: await Bank.open(store, key(hex), { now: () => clock.now }) };
  } catch (error) {
    await store.close();
    throw error;
  }
}

const issueInput = (mail: string, userId?: string) => ({ mail, mailConfirm: mail, password: PASSWORD, passwordConfirm: PASSWORD, userId });

/** A customer whose token is confirmed (its seed sealed in tokens). */
async function activeToken(bank: Bank, mail: string): Promise<{ userId: string; token: TokenProfile }> {
  const { userId } = await bank.issue(issueInput(mail));
  const token = await activateToken(bank, SERVICE_ID, userId, PASSWORD);
  await bank.confirm(userId, codeAt(token, clock.now));
  return { userId, token };
}

/** Every kind of sealed secret: active tokens, a pending seed, an answered activation run, an activation password alone. */
async function everyKindOfSecret(bank: Bank) {
  const active = [await activeToken(bank, "a1@example.jp"), await activeToken(bank, "a2@example.jp")];
  const pendingIssue = await bank.issue(issueInput("p@example.jp"));
  const pending = { userId: pendingIssue.userId, token: await activateToken(bank, SERVICE_ID, pendingIssue.userId, PASSWORD, 0x1111n) };
  const answeredIssue = await bank.issue(issueInput("s@example.jp"));
  const session = tokenRequest(SERVICE_ID, answeredIssue.userId, PASSWORD, 0x2222n);
  const answer = await bank.activate(session.request);
  const fresh = await bank.issue(issueInput("f@example.jp"));
  return { active, pending, answered: { userId: answeredIssue.userId, session, answer }, fresh: fresh.userId };
}

describe("bank backup and restore (SQLite)", () => {
  it("backs up while a writer commits: one consistent state, 0600, every committed token; never overwrites", async () => {
    const db = join(dir, "live.sqlite");
    const { store, bank } = await openBank(db, OLD_KEY, "worker", true);
    await bank.updateSettings({ serviceId: SERVICE_ID });
    const before = [];
    for (let i = 0; i < 5; i++) before.push(await activeToken(bank, `b${i}@example.jp`));
    // 32 MiB more to copy (a row of the meta table no one reads), so that commits land during the copy.
    const Database = (await import("better-sqlite3")).default;
    const raw = new Database(db);
    raw.pragma("busy_timeout = 5000");
    raw.prepare("INSERT INTO meta (name, value) VALUES ('test-padding', zeroblob(32 * 1024 * 1024))").run();
    raw.close();
    // The writer: issues committed one after another on the worker thread's connection, all through the backup.
    let writing = true;
    let committed = 0;
    const writer = (async () => {
      while (writing) {
        await bank.issue(issueInput(`w${committed}@example.jp`));
        committed++;
      }
    })();
    while (committed < 3) await new Promise((r) => setTimeout(r, 5));
    const target = join(dir, "backup.sqlite");
    const atStart = committed;
    // Another process, as an operator's would be, while this one's writer commits.
    const made = await cliProcess(["backup", "--db", db, target]);
    const atEnd = committed;
    writing = false;
    await writer;
    expect(made.status, made.err).toBe(0);
    // The writer committed while the copy ran.
    expect(atEnd).toBeGreaterThan(atStart);
    expect(made.out).toMatch(/^backed up .* \(\d+ pages, mode 0600\)\n$/);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(existsSync(`${target}-wal`)).toBe(false);
    await store.close();

    // The copy: every token set up before it, each issue with its event (one transaction each), a whole chain.
    const copy = await openBank(target);
    try {
      for (const { userId, token } of before) {
        clock.now += 60;
        await expect(copy.bank.verify(userId, codeAt(token, clock.now))).resolves.toMatchObject({ ok: true });
      }
      const { events, issues } = await countsOf(copy.store);
      expect(issues).toBeGreaterThanOrEqual(5 + atStart);
      expect(issues).toBeLessThanOrEqual(5 + atEnd + 1);
      expect(events).toBe(issues);
      expect((await copy.bank.verifyAudit()).ok).toBe(true);
    } finally {
      await copy.store.close();
    }

    // Never over an existing file.
    const again = await cli(["backup", "--db", db, target]);
    expect(again.status).toBe(1);
    expect(again.err).toMatch(/already exists: a backup never overwrites a file/);
  }, 120_000);

  it("restores to a new path only, checked first; a backup older than the published head is reported as such and refused unless --older-ok", async () => {
    const db = join(dir, "r-live.sqlite");
    const { store, bank } = await openBank(db, OLD_KEY, "inline", true);
    await bank.updateSettings({ serviceId: SERVICE_ID });
    const customer = await activeToken(bank, "r@example.jp");
    const backup = join(dir, "r-backup.sqlite");
    expect((await cli(["backup", "--db", db, backup])).status).toBe(0);
    const headAtBackup = (await bank.publishAuditHead())!;
    // Later events: the published head moves past the backup.
    await activeToken(bank, "later@example.jp");
    const published = (await bank.publishAuditHead())!;
    await store.close();
    expect(published.id).toBeGreaterThan(headAtBackup.id);
    const headFile = join(dir, "head");
    writeFileSync(headFile, `${formatHead(published)}\n`);
    const c = ["--master-key-file", join(dir, "old.key")];

    // An existing database is never the target.
    expect(await cli(["restore", backup, "--db", db, ...c])).toMatchObject({
      status: 1,
      err: expect.stringMatching(/already exists: 'bank restore' writes a new database only/),
    });
    // Older than the published head: said so, nothing written.
    const older = await cli(["restore", backup, "--db", join(dir, "r1.sqlite"), "--head-file", headFile, ...c]);
    expect(older.status).toBe(1);
    expect(older.err).toMatch(
      new RegExp(
        `this backup is older than the published audit head \\(row ${published.id}\\): its trail ends at row ${headAtBackup.id}: not restored`,
      ),
    );
    expect(existsSync(join(dir, "r1.sqlite"))).toBe(false);
    expect(existsSync(join(dir, "r1.sqlite.restoring"))).toBe(false);
    // bank check says the same of the live database's backup.
    const checked = await cli(["check", "--db", backup, "--head", formatHead(published), ...c]);
    expect(checked.status).toBe(1);
    expect(checked.err).toMatch(new RegExp(`this backup is older than the published audit head \\(row ${published.id}\\)`));
    // With the head it was taken at, or without a head: restored, and codes verify on it.
    const restored = await cli(["restore", backup, "--db", join(dir, "r2.sqlite"), "--head", formatHead(headAtBackup), ...c]);
    expect(restored.status, restored.err).toBe(0);
    expect(restored.out).toMatch(/the integrity check passes; the audit trail verifies/);
    expect(statSync(join(dir, "r2.sqlite")).mode & 0o777).toBe(0o600);
    // Several heads, separated by commas (as 'bank audit verify' takes them): each must be reached.
    const both = await cli(["check", "--db", backup, "--head", `${formatHead(headAtBackup)},${formatHead(published)}`, ...c]);
    expect(both.status).toBe(1);
    expect(both.err).toMatch(new RegExp(`this backup is older than the published audit head \\(row ${published.id}\\)`));
    const restoredBoth = await cli([
      "restore",
      backup,
      "--db",
      join(dir, "r5.sqlite"),
      "--head",
      `${formatHead(headAtBackup)}, ${formatHead(headAtBackup)}`,
      ...c,
    ]);
    expect(restoredBoth.status, restoredBoth.err).toBe(0);
    const anyway = await cli(["restore", backup, "--db", join(dir, "r3.sqlite"), "--head-file", headFile, "--older-ok", ...c]);
    expect(anyway.status).toBe(0);
    expect(anyway.err).toMatch(/older than the published audit head .* restored anyway/);
    const opened = await openBank(join(dir, "r2.sqlite"));
    try {
      clock.now += 60;
      await expect(opened.bank.verify(customer.userId, codeAt(customer.token, clock.now))).resolves.toMatchObject({ ok: true });
    } finally {
      await opened.store.close();
    }
    // The wrong master key: the audit chain cannot be verified, nothing restored.
    writeFileSync(join(dir, "other.key"), "42".repeat(32), { mode: 0o600 });
    const wrongKey = await cli(["restore", backup, "--db", join(dir, "r4.sqlite"), "--master-key-file", join(dir, "other.key")]);
    expect(wrongKey.status).toBe(1);
    expect(existsSync(join(dir, "r4.sqlite"))).toBe(false);
  }, 120_000);
});

describe("bank check", () => {
  it("passes a sound database; finds a damaged page that opening the bank does not notice", async () => {
    const db = join(dir, "c.sqlite");
    const { store, bank } = await openBank(db, OLD_KEY, "inline", true);
    await bank.updateSettings({ serviceId: SERVICE_ID });
    for (let i = 0; i < 30; i++) await bank.issue(issueInput(`c${i}@example.jp`));
    await store.close();
    const c = ["--db", db, "--master-key-file", join(dir, "old.key")];
    const sound = await cli(["check", ...c]);
    expect(sound.status, sound.err).toBe(0);
    expect(sound.out).toMatch(/^store: PRAGMA integrity_check ok\nthe audit trail verifies: \d+ rows; head: row \d+ [0-9a-f]{64}\n$/);

    // Damage one page of an index: the bank still opens and reads by primary key.
    const Database = (await import("better-sqlite3")).default;
    const raw = new Database(db);
    const pageSize = raw.pragma("page_size", { simple: true }) as number;
    const root = (raw.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'issues_by_user'").get() as { rootpage: number }).rootpage;
    raw.close();
    const fd = openSync(db, "r+");
    const junk = Buffer.alloc(pageSize - 200, 0x5a);
    writeSync(fd, junk, 0, junk.length, (root - 1) * pageSize + 100);
    closeSync(fd);
    const damaged = await cli(["check", ...c]);
    expect(damaged.status).toBe(1);
    expect(damaged.err).toMatch(/fails SQLite's integrity check \(\d+ problems\): restore a backup/);
    // And a damaged database is not restored.
    const restore = await cli(["restore", db, "--db", join(dir, "c2.sqlite"), "--master-key-file", join(dir, "old.key")]);
    expect(restore.status).toBe(1);
    expect(restore.err).toMatch(/fails the integrity check/);
  }, 60_000);
});

/** "issued" events in the trail, and how many of them have their issue in the database (the same transaction wrote both). */
async function countsOf(store: BankStore): Promise<{ events: number; issues: number }> {
  const issued = (await store.events(0, 1_000_000)).filter((e) => e.kind === "issued");
  let issues = 0;
  for (const e of issued) if (await store.latestIssue(e.user_id!)) issues++;
  return { events: issued.length, issues };
}

const STORES = POSTGRES_SKIP === null ? (["sqlite", "postgresql"] as const) : (["sqlite"] as const);

describe.each(STORES)("bank rekey (%s)", (kind) => {
  it("re-seals every secret in one transaction: the old key is refused, the new opens, codes verify, activations finish, the chain verifies", async () => {
    const location = kind === "sqlite" ? join(dir, "rekey.sqlite") : postgres.freshUrl();
    const { store, bank } = await openBank(location, OLD_KEY, "inline", true);
    await bank.updateSettings({ serviceId: SERVICE_ID });
    const made = await everyKindOfSecret(bank);
    await bank.createApiKey("verify", "radius");
    await store.close();

    const db = ["--db", location];
    const run = await cli(["rekey", ...db, "--master-key-file", join(dir, "old.key"), "--new-master-key-file", join(dir, "new.key")]);
    expect(run.status, run.err).toBe(0);
    expect(run.out).toBe(
      "re-sealed under the new master key: 2 seeds, 3 activation passwords, 1 pending seeds, 2 activation sessions, the audit keys and the key check\n",
    );

    await expect(openBank(location, OLD_KEY)).rejects.toThrow(/the master key is not the one this bank database was created with/);
    const { store: again, bank: rekeyed } = await openBank(location, NEW_KEY);
    try {
      clock.now += 60;
      for (const { userId, token } of made.active)
        await expect(rekeyed.verify(userId, codeAt(token, clock.now))).resolves.toMatchObject({ ok: true });
      // The pending seed: the first code confirms.
      await expect(rekeyed.confirm(made.pending.userId, codeAt(made.pending.token, clock.now))).resolves.toMatchObject({ ok: true });
      // The answered run: the token's confirmation still matches its sealed secrets.
      const token = tokenFinish(made.answered.session, made.answered.answer);
      await rekeyed.register(token.confirmation);
      await expect(rekeyed.confirm(made.answered.userId, codeAt(token, clock.now))).resolves.toMatchObject({ ok: true });
      // The activation password alone: CPace with it still works.
      const freshToken = await activateToken(rekeyed, SERVICE_ID, made.fresh, PASSWORD, 0x3333n);
      await expect(rekeyed.confirm(made.fresh, codeAt(freshToken, clock.now))).resolves.toMatchObject({ ok: true });
      // The chain: before, the rotation, after.
      const report = await rekeyed.verifyAudit();
      expect(report.ok, JSON.stringify(report.firstBad)).toBe(true);
      const kinds = (await rekeyed.auditEvents(0, 100000)).map((e) => e.kind);
      const at = kinds.indexOf("rekey");
      expect(at).toBeGreaterThan(0);
      expect(kinds.slice(at + 1)).toContain("confirmed");
    } finally {
      await again.close();
    }
    const verified = await cli(["audit", "verify", ...db, "--master-key-file", join(dir, "new.key")]);
    expect(verified.status, verified.err).toBe(0);
    expect((await cli(["audit", "verify", ...db, "--master-key-file", join(dir, "old.key")])).status).toBe(1);
  }, 180_000);

  it("changes nothing when one secret does not open (all or nothing)", async () => {
    const location = kind === "sqlite" ? join(dir, "rekey-bad.sqlite") : postgres.freshUrl();
    const { store, bank } = await openBank(location, OLD_KEY, "inline", true);
    await bank.updateSettings({ serviceId: SERVICE_ID });
    const first = await activeToken(bank, "x@example.jp");
    const second = await activeToken(bank, "y@example.jp");
    const events = (await bank.auditEvents(0, 100000)).length;
    // Two seeds swapped behind the bank's back: each is sealed for the other's row and opens nowhere.
    await swapSeeds(store, kind, first.userId, second.userId);
    await expect(bank.rekey(key(NEW_KEY))).rejects.toThrow(/cannot re-seal seed:.*nothing was changed/);
    await store.close();
    await expect(openBank(location, NEW_KEY)).rejects.toThrow(/master key is not the one/);
    const { store: s2, bank: b2 } = await openBank(location, OLD_KEY);
    try {
      expect((await b2.auditEvents(0, 100000)).length).toBe(events);
      // The old key still opens every other secret.
      expect((await b2.verifyAudit()).ok).toBe(true);
    } finally {
      await s2.close();
    }
  }, 120_000);
});

/** Swaps two tokens' sealed seeds behind the bank's back (a database writer's edit). */
async function swapSeeds(store: BankStore, kind: "sqlite" | "postgresql", a: string, b: string): Promise<void> {
  if (kind === "sqlite") {
    const db = (store as unknown as { engine: { db: import("better-sqlite3").Database } }).engine.db;
    db.exec(
      `UPDATE tokens SET seed = CASE user_id WHEN '${a}' THEN (SELECT seed FROM tokens WHERE user_id = '${b}') ELSE (SELECT seed FROM tokens WHERE user_id = '${a}') END WHERE user_id IN ('${a}', '${b}')`,
    );
    return;
  }
  const pool = (store as unknown as { pool: import("pg").Pool }).pool;
  await pool.query("UPDATE tokens t SET seed = o.seed FROM tokens o WHERE (t.user_id, o.user_id) IN (($1, $2), ($2, $1))", [a, b]);
}

describe.skipIf(POSTGRES_SKIP !== null)("PostgreSQL: a pg_dump restored into a fresh database", () => {
  it("verifies codes and its audit chain on the restored database; bank check passes it", async () => {
    const source = postgres.freshUrl();
    const { store, bank } = await openBank(source, OLD_KEY, "inline", true);
    await bank.updateSettings({ serviceId: SERVICE_ID });
    const customers = [await activeToken(bank, "d1@example.jp"), await activeToken(bank, "d2@example.jp")];
    const head = (await bank.publishAuditHead())!;
    await store.close();

    const bin = postgresBin()!;
    const dump = join(dir, "bank.dump");
    const dumped = spawnSync(join(bin, "pg_dump"), ["--format=custom", "--file", dump, "--dbname", source], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(dumped.status, dumped.stderr).toBe(0);
    const target = postgres.freshUrl();
    const restored = spawnSync(join(bin, "pg_restore"), ["--no-owner", "--exit-on-error", "--dbname", target, dump], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(restored.status, restored.stderr).toBe(0);

    const checked = await cli(["check", "--db", target, "--head", formatHead(head), "--master-key-file", join(dir, "old.key")]);
    expect(checked.status, checked.err).toBe(0);
    expect(checked.out).toMatch(/^store: \d+ tables read in full; /);
    expect(checked.out).toMatch(new RegExp(`the audit trail verifies: \\d+ rows; head: row ${head.id} ${head.mac}`));

    const { store: copy, bank: onCopy } = await openBank(target);
    try {
      clock.now += 60;
      for (const { userId, token } of customers)
        await expect(onCopy.verify(userId, codeAt(token, clock.now))).resolves.toMatchObject({ ok: true });
      expect((await onCopy.verifyAudit()).ok).toBe(true);
    } finally {
      await copy.close();
    }
    // amcheck, once installed in the database, checks every B-tree index.
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: target });
    await client.connect();
    await client.query("CREATE EXTENSION IF NOT EXISTS amcheck");
    await client.end();
    const amchecked = await cli(["check", "--db", target, "--master-key-file", join(dir, "old.key")]);
    expect(amchecked.status, amchecked.err).toBe(0);
    expect(amchecked.out).toMatch(/[1-9]\d* B-tree indexes checked by amcheck/);
  }, 180_000);
});

describe("the service: a PSKC export's PBKDF2 runs off the event loop", () => {
  it("/v1/health, asked while three passphrase exports derive their keys, is answered before the last of them", async () => {
    const { createService } = await import("../host/bank/service.js");
    const { store, bank } = await openBank(join(dir, "pbkdf2.sqlite"), OLD_KEY, "inline", true);
    await bank.updateSettings({ serviceId: SERVICE_ID });
    await activeToken(bank, "e@example.jp");
    const admin = (await bank.createApiKey("admin", "exports")).key;
    const app = await createService({ bank, rateLimit: 100_000 });
    try {
      const order: string[] = [];
      const exports = [1, 2, 3].map((i) =>
        app
          .inject({
            method: "POST",
            url: "/v1/export/pskc",
            headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
            payload: JSON.stringify({ passphrase: "correct horse battery staple" }),
          })
          .then((reply) => {
            expect(reply.statusCode, reply.body).toBe(200);
            expect(JSON.parse(reply.body).pskc).toMatch(/PBKDF2-params/);
            order.push(`export ${i}`);
          }),
      );
      // Every export has read its seeds (its event is recorded just before the key derivation starts).
      for (;;) {
        const recorded = (await bank.auditEvents(0, 100000)).filter((e) => e.kind === "pskc-export").length;
        if (recorded === 3) break;
        await new Promise((r) => setImmediate(r));
      }
      const health = app.inject({ method: "GET", url: "/v1/health" }).then((reply) => {
        expect(reply.statusCode).toBe(200);
        order.push("health");
      });
      await Promise.all([...exports, health]);
      expect(order.indexOf("health"), order.join(", ")).toBeLessThan(3);
    } finally {
      await app.close();
      await store.close();
    }
  }, 120_000);

  it("bank serve, the built command, exports with a passphrase (its worker is built beside the command's chunks)", async () => {
    const db = join(dir, "serve-export.sqlite");
    const { store, bank } = await openBank(db, OLD_KEY, "inline", true);
    await bank.updateSettings({ serviceId: SERVICE_ID });
    const customer = await activeToken(bank, "serve@example.jp");
    const admin = (await bank.createApiKey("admin", "serve")).key;
    await store.close();
    const children: ChildProcess[] = [];
    try {
      const { base } = await startBankServe(["--db", db, "--master-key-file", join(dir, "old.key")], children);
      const reply = await fetch(`${base}/v1/export/pskc`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ passphrase: "correct horse battery staple" }),
      });
      const body = (await reply.json()) as { count: number; pskc: string };
      expect(reply.status, JSON.stringify(body)).toBe(200);
      expect(body.count).toBe(1);
      expect(body.pskc).toContain(customer.userId);
      expect(body.pskc).toMatch(/PBKDF2-params/);
    } finally {
      for (const child of children) child.kill("SIGTERM");
    }
  }, 120_000);
});
