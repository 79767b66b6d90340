// The bank's store (host/bank/store.ts): one conformance suite run against every implementation
// (SQLite on the calling thread and on its worker thread, PostgreSQL on a server this file starts:
// test/pg-helpers.ts), then what is SQLite's own: the file checks, the file modes, and that a wait for
// another process's lock never freezes the event loop. PostgreSQL's own (migrations, retries, a lost
// commit, the audit sealer) are in test/bank-postgres.test.ts.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chainMac, writerProblem } from "../host/bank/audit.js";
import { signed, testAuditKeys, testAuditSetup } from "./audit-helpers.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { listOutbox, writeToOutbox } from "../host/bank/mail.js";
import { type BankStore, StoreBusyError, StoreOpenError } from "../host/bank/store.js";
import { openStore } from "../host/bank/open-store.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";
import { tokenRow } from "./bank-helpers.js";

let dir: string;
const opened: BankStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-store-"));
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const postgres = usePostgres();

const STORES: Record<string, (name: string) => Promise<BankStore>> = {
  "sqlite, calling thread": (name) => openStore(join(dir, `${name}.sqlite`), { create: true }),
  "sqlite, worker thread": (name) => openStore(join(dir, `${name}.sqlite`), { create: true, thread: "worker" }),
  ...(POSTGRES_SKIP === null ? { postgresql: () => openStore(postgres.freshUrl(), { create: true }) } : {}),
};

if (POSTGRES_SKIP !== null) it.skip(`store conformance: postgresql skipped: ${POSTGRES_SKIP}`, () => undefined);

const KEY = new Uint8Array(32).fill(9);

describe.each(Object.entries(STORES))("store conformance: %s", (_name, open) => {
  async function fresh(): Promise<BankStore> {
    const store = await open("conformance");
    opened.push(store);
    await store.useAudit(testAuditSetup(KEY));
    return store;
  }

  it("commits a transaction that resolves and rolls back one that throws", async () => {
    const store = await fresh();
    const customer = await store.transaction(async (tx) => tx.insertCustomer(1000));
    expect(customer).toMatchObject({ customer_number: "0000001", issues_made: 0 });
    await expect(
      store.transaction(async (tx) => {
        await tx.insertCustomer(1000);
        await tx.replaceToken(tokenRow(customer!.customer_id, "2083L0000001A001"));
        await tx.appendEvent(
          signed(testAuditKeys(KEY), { at: 1, kind: "x", service_id: null, user_id: null, actor: "test", detail: null }),
        );
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await store.getToken("2083L0000001A001")).toBeUndefined();
    expect(await store.events(0, 10)).toEqual([]);
    expect(await store.transaction(async (tx) => tx.insertCustomer(1000))).toMatchObject({ customer_number: "0000002" });
  });

  it("runs concurrent read-check-write transactions one after another: 20 racing failures count exactly 20 and lock at 10", async () => {
    const store = await fresh();
    const customer = (await store.transaction((tx) => tx.insertCustomer(1)))!;
    await store.transaction((tx) => tx.replaceToken(tokenRow(customer.customer_id, "2083L0000001A001")));
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        store.transaction(async (tx) => {
          const before = (await tx.getToken("2083L0000001A001"))!;
          const after = await tx.recordTokenFailure("2083L0000001A001", 10, 5000 + before.consecutive_failures);
          expect(after.failures).toBe(before.consecutive_failures + 1);
          return after;
        }),
      ),
    );
    expect(results.map((r) => r.failures).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(results.filter((r) => r.locked).length).toBe(11);
    expect(await store.getToken("2083L0000001A001")).toMatchObject({ consecutive_failures: 20, locked: 1, next_check_at: 5019 });
  });

  it("activation sessions, User IDs, issue numbers and settings", async () => {
    const store = await fresh();
    const customer = (await store.transaction((tx) => tx.insertCustomer(1)))!;
    expect(await store.transaction((tx) => tx.nextIssueNumber(customer.customer_id))).toBe(1);
    expect(await store.transaction((tx) => tx.nextIssueNumber(customer.customer_id))).toBe(2);
    const issueId = await store.transaction((tx) =>
      tx.insertIssue({
        service_id: "10212083",
        user_id: "2083L0000001A002",
        customer_id: customer.customer_id,
        issue_number: 2,
        mail: "a@b.jp",
        created_at: 1,
        expires_at: 100,
        token_expires_at: 1000,
        activation_key: new Uint8Array(4),
        algorithm: "SHA1",
        digits: 6,
        period: 60,
        label: "BANK",
      }),
    );
    // Activation sessions (CPace runs): one per (issue, sid); a racing copy is refused; confirmed once.
    const sid = new Uint8Array(16).fill(3);
    const session = {
      issue_id: issueId,
      sid,
      request_hash: new Uint8Array(32).fill(1),
      serial: "0123456789ABCDEF",
      response: new Uint8Array(117).fill(2),
      secrets: new Uint8Array(8).fill(4),
      answered_at: 5,
    };
    expect(await store.transaction((tx) => tx.insertActivationSession(session))).toBe(true);
    expect(await store.transaction((tx) => tx.insertActivationSession({ ...session, answered_at: 6 }))).toBe(false);
    await store.transaction((tx) => tx.confirmActivationSession(issueId, sid, 7));
    const stored = await store.transaction((tx) => tx.getActivationSession(issueId, sid));
    expect(stored).toMatchObject({ serial: "0123456789ABCDEF", answered_at: 5, confirmed_at: 7 });
    expect(Buffer.from(stored!.response)).toEqual(Buffer.from(session.response));
    expect(await store.transaction((tx) => tx.getActivationSession(issueId, new Uint8Array(16)))).toBeUndefined();
    expect(await store.transaction((tx) => tx.userIdTaken("2083L0000001A002"))).toBe(true);
    expect(await store.transaction((tx) => tx.userIdTaken("2083L0000001A003"))).toBe(false);
    expect((await store.customerOf("2083L0000001A002"))?.customer_id).toBe(customer.customer_id);
    expect(await store.transaction((tx) => tx.forgetExpired(100))).toBe(1);
    expect(await store.latestIssue("2083L0000001A002")).toMatchObject({ activation_key: null, state: "pending" });
    // An expired issue's sessions keep no secret either.
    expect((await store.transaction((tx) => tx.getActivationSession(issueId, sid)))!.secrets).toBeNull();
    // Completing an issue deletes its sessions; so does voiding one (host/bank/README.md, the store boundary).
    await store.transaction((tx) => tx.completeIssue(issueId, 8));
    expect(await store.transaction((tx) => tx.getActivationSession(issueId, sid))).toBeUndefined();
    const voided = await store.transaction((tx) =>
      tx.insertIssue({
        service_id: "10212083",
        user_id: "2083L0000001A003",
        customer_id: customer.customer_id,
        issue_number: 3,
        mail: "a@b.jp",
        created_at: 1,
        expires_at: 1000,
        token_expires_at: 1000,
        activation_key: new Uint8Array(4),
        algorithm: "SHA1",
        digits: 6,
        period: 60,
        label: "BANK",
      }),
    );
    expect(await store.transaction((tx) => tx.insertActivationSession({ ...session, issue_id: voided }))).toBe(true);
    await store.transaction((tx) => tx.voidIssue(voided, "failures"));
    expect(await store.transaction((tx) => tx.getActivationSession(voided, sid))).toBeUndefined();
    await store.transaction((tx) => tx.setSetting("mail_domain", "bank.example"));
    expect(await store.getSetting("mail_domain")).toBe("bank.example");
  });

  it("customers' logins: one per customer, login ID and reference unique, failures counted and locked, success clears, unlock", async () => {
    const store = await fresh();
    const [a, b] = await store.transaction(async (tx) => [(await tx.insertCustomer(1))!, (await tx.insertCustomer(1))!]);
    const login = { customer_id: a.customer_id, login_id: "yamada01", password_hash: "scrypt$x", external_ref: null, created_at: 5 };
    expect(await store.transaction((tx) => tx.insertLogin(login))).toBe(true);
    // The same login ID for another customer, a second login for the same customer: nothing changes.
    expect(await store.transaction((tx) => tx.insertLogin({ ...login, customer_id: b.customer_id }))).toBe(false);
    expect(await store.transaction((tx) => tx.insertLogin({ ...login, login_id: "other001" }))).toBe(false);
    expect(
      await store.transaction((tx) =>
        tx.insertLogin({ customer_id: b.customer_id, login_id: null, password_hash: null, external_ref: "CIF-42", created_at: 6 }),
      ),
    ).toBe(true);
    // The same reference for a third customer: nothing changes.
    expect(
      await store.transaction(async (tx) => {
        const c = (await tx.insertCustomer(1))!;
        return tx.insertLogin({ customer_id: c.customer_id, login_id: null, password_hash: null, external_ref: "CIF-42", created_at: 6 });
      }),
    ).toBe(false);
    // A login with neither an ID nor a reference is refused by the schema.
    await expect(
      store.transaction(async (tx) => {
        const c = (await tx.insertCustomer(1))!;
        return tx.insertLogin({ customer_id: c.customer_id, login_id: null, password_hash: null, external_ref: null, created_at: 6 });
      }),
    ).rejects.toThrow();
    expect(await store.loginByLoginId("yamada01")).toMatchObject({
      customer_id: a.customer_id,
      customer_number: "0000001",
      password_hash: "scrypt$x",
      consecutive_failures: 0,
      locked: 0,
      last_login_at: null,
    });
    expect(await store.loginByLoginId("nobody01")).toBeUndefined();
    expect(await store.transaction((tx) => tx.loginByReference("CIF-42"))).toMatchObject({ customer_number: "0000002", login_id: null });
    expect(await store.transaction((tx) => tx.loginOfCustomer(a.customer_id))).toMatchObject({ login_id: "yamada01" });
    // Racing failures count one each and lock at the threshold.
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => store.transaction((tx) => tx.recordLoginFailure(a.customer_id, 5, 100 + i))),
    );
    expect(results.map((r) => r.failures).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.filter((r) => r.locked)).toHaveLength(2);
    expect(await store.loginByLoginId("yamada01")).toMatchObject({ consecutive_failures: 6, locked: 1 });
    // Success clears the failures and the delay but not the lock; unlock clears the lock.
    await store.transaction((tx) => tx.recordLoginSuccess(a.customer_id, 77));
    expect(await store.loginByLoginId("yamada01")).toMatchObject({
      consecutive_failures: 0,
      locked: 1,
      next_check_at: 0,
      last_login_at: 77,
    });
    await store.transaction((tx) => tx.recordLoginFailure(a.customer_id, 5, 200));
    await store.transaction((tx) => tx.unlockLogin(a.customer_id));
    expect(await store.loginByLoginId("yamada01")).toMatchObject({ consecutive_failures: 0, locked: 0, next_check_at: 0 });
  });

  it("chains every appended event to the one before (host/bank/audit.ts)", async () => {
    const store = await fresh();
    for (let i = 0; i < 3; i++)
      await store.transaction((tx) =>
        tx.appendEvent(signed(testAuditKeys(KEY), { at: i, kind: `k${i}`, service_id: null, user_id: "U", actor: "test", detail: null })),
      );
    const rows = await store.events(0, 10);
    let previous: Uint8Array | null = null;
    for (const row of rows) {
      expect(Buffer.from(row.mac!)).toEqual(Buffer.from(chainMac(KEY, previous, row)));
      expect(writerProblem(testAuditKeys(KEY).writer, row)).toBeNull();
      previous = row.mac;
    }
    expect((await store.eventsOf("U", 2)).map((e) => e.kind)).toEqual(["k2", "k1"]);
  });
});

describe("SQLite store: the file", () => {
  const expectOpenError = async (path: string, message: RegExp, create = false) => {
    const error = await openStore(path, { create }).then(
      (store) => {
        opened.push(store);
        return null;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreOpenError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  };

  it("refuses, in one line each: no database yet, a missing folder, a directory, an empty file, a damaged file, another SQLite file", async () => {
    await expectOpenError(join(dir, "bank.sqlite"), /there is no bank database at .*bank init --db/);
    expect(readdirSync(dir)).toEqual([]);
    await expectOpenError(join(dir, "missing", "bank.sqlite"), /the folder .*missing does not exist/, true);
    mkdirSync(join(dir, "folder"));
    await expectOpenError(join(dir, "folder"), /is a directory, not a bank database/);
    writeFileSync(join(dir, "empty.sqlite"), "");
    await expectOpenError(join(dir, "empty.sqlite"), /is an empty file \(0 bytes\), not a bank database/);
    writeFileSync(join(dir, "damaged.sqlite"), Buffer.alloc(8192, 0x5a));
    await expectOpenError(join(dir, "damaged.sqlite"), /is not a bank database \(not an SQLite file, or damaged/);
    const Database = (await import("better-sqlite3")).default;
    const other = new Database(join(dir, "other.sqlite"));
    other.exec("CREATE TABLE t (x)");
    other.close();
    await expectOpenError(join(dir, "other.sqlite"), /is an SQLite database but not a bank database/);
  });

  it("creates the database, its -wal and -shm, and the outbox readable by the owner only", async () => {
    const path = join(dir, "bank.sqlite");
    const store = await openStore(path, { create: true });
    opened.push(store);
    await Bank.open(store, MasterKey.fromBytes(new Uint8Array(32).fill(1)));
    for (const file of [path, `${path}-wal`, `${path}-shm`]) expect((statSync(file).mode & 0o777).toString(8)).toBe("600");
    const outbox = join(dir, "outbox");
    const id = writeToOutbox(outbox, 1_900_000_000, Buffer.from("To: a@b.jp\r\nSubject: x\r\n\r\nbody\r\n"));
    expect((statSync(outbox).mode & 0o777).toString(8)).toBe("700");
    expect((statSync(join(outbox, id)).mode & 0o777).toString(8)).toBe("600");
  });

  it("refuses a master-key file that group or others can read, saying chmod 600", () => {
    const file = join(dir, "bank.key");
    writeFileSync(file, "11".repeat(32));
    chmodSync(file, 0o644);
    expect(() => MasterKey.load(file)).toThrow(/can be read by others \(mode 0644\): run chmod 600/);
    chmodSync(file, 0o600);
    expect(MasterKey.load(file)).toBeInstanceOf(MasterKey);
  });

  it("a wait for another process's lock never freezes the event loop on the worker; past the wait it is StoreBusyError (503), not a crash", async () => {
    const path = join(dir, "bank.sqlite");
    const setup = await openStore(path, { create: true });
    await Bank.open(setup, MasterKey.fromBytes(new Uint8Array(32).fill(1)));
    await setup.close();
    // Another process's connection holds the write lock.
    const Database = (await import("better-sqlite3")).default;
    const holder = new Database(path);
    holder.exec("BEGIN IMMEDIATE");
    try {
      const waitWith = async (thread: "worker" | "inline") => {
        const store = await openStore(path, { thread, busyTimeoutMs: 600 });
        opened.push(store);
        let ticks = 0;
        const timer = setInterval(() => ticks++, 10);
        // Let the timer start before the wait begins.
        await new Promise((resolve) => setTimeout(resolve, 30));
        const before = ticks;
        const error = await store.transaction((tx) => tx.insertCustomer(1)).catch((e: unknown) => e);
        clearInterval(timer);
        return { error, ticksDuringWait: ticks - before };
      };
      const worker = await waitWith("worker");
      expect(worker.error).toBeInstanceOf(StoreBusyError);
      expect(worker.ticksDuringWait).toBeGreaterThan(5);
      // On the calling thread the same wait blocks everything (why the service uses the worker).
      const inline = await waitWith("inline");
      expect(inline.error).toBeInstanceOf(StoreBusyError);
      expect(inline.ticksDuringWait).toBeLessThanOrEqual(1);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
  });
});

describe("the outbox", () => {
  it("lists one page of 2,000 mails, newest first, reading only that page's files", () => {
    const outbox = join(dir, "outbox");
    for (let i = 0; i < 2000; i++)
      writeToOutbox(
        outbox,
        1_900_000_000 + i,
        Buffer.from(`To: u${i}@example.jp\r\nSubject: =?UTF-8?B?${Buffer.from("トークン発行").toString("base64")}?=\r\n\r\nbody\r\n`),
      );
    // The oldest "mail" cannot be read at all (a directory): a page that read every file would fail.
    mkdirSync(join(outbox, "1800000000-0000000000000000.eml"));
    const first = listOutbox(outbox, 0, 20);
    expect(first.total).toBe(2001);
    expect(first.mails.map((m) => m.to)).toEqual(Array.from({ length: 20 }, (_, i) => `u${1999 - i}@example.jp`));
    expect(first.mails[0].subject).toBe("トークン発行");
    expect(listOutbox(outbox, 99, 20).mails.map((m) => m.to)).toEqual(Array.from({ length: 20 }, (_, i) => `u${19 - i}@example.jp`));
  }, 60_000);
});
