// Grouped transactions on the SQLite store's worker thread (host/bank/sqlite/group.ts,
// TransactionOptions.group): verifications of distinct tokens waiting together run as one, in two
// worker messages (one read of every token, one message with every member's writes and the commit),
// each answered after the COMMIT that holds it; a member that throws, or whose writes fail, is undone
// alone; two of one token never share a group. (kill -9 under load: test/sqlite-group-commit.test.ts.)
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import type { BankError } from "../host/bank/errors.js";
import { openStore } from "../host/bank/open-store.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import { otpApi } from "../host/otp.js";
import { otherThan } from "./bank-helpers.js";

const KEY_HEX = "1f2e3d4c5b6a79880f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978";
const NOW = 1_900_000_020;
const STEP = Math.floor(NOW / 60);
const api = otpApi();

let dir: string;
const stores: SqliteStore[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-grouped-"));
});

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Setup {
  store: SqliteStore;
  bank: Bank;
  users: string[];
  seeds: Uint8Array[];
  /** The token's code at NOW (`offset` steps later with an offset). */
  code: (i: number, offset?: number) => string;
}

let databases = 0;
/** A bank on a worker store (group commit on, or not) with `tokens` imported tokens, its clock at NOW. */
async function setup(tokens: number, groupCommit = true): Promise<Setup> {
  const path = join(dir, `bank-${++databases}.sqlite`);
  const init = await openStore(path, { create: true });
  const seeds = Array.from({ length: tokens }, (_, i) => new Uint8Array(createHmac("sha1", "grouped").update(String(i)).digest()));
  const first = await Bank.open(init, MasterKey.fromHex(KEY_HEX), { now: () => NOW - 600 });
  await first.updateSettings({ serviceId: "10212083" });
  const imported = await first.importSecrets(
    seeds.map((seed, i) => ({
      serial: (i + 1).toString(16).toUpperCase().padStart(16, "0"),
      seed,
      params: { algorithm: "SHA1" as const, digits: 6, period: 60, label: "BANK" },
    })),
  );
  await init.close();
  const store = (await openStore(path, { thread: "worker", groupCommit })) as SqliteStore;
  stores.push(store);
  const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => NOW });
  return {
    store,
    bank,
    users: imported.map((t) => t.userId),
    seeds,
    code: (i, offset = 0) => api.totp(seeds[i], NOW + offset * 60),
  };
}

const stats = async (store: SqliteStore) => (await store.groupCommitStats())!;

/** Events of a kind per User ID, straight from the file (a second, read-only connection). */
async function eventsOf(store: SqliteStore, userId: string): Promise<string[]> {
  return (await store.eventsOf(userId, 100)).map((e) => e.kind).reverse();
}

describe("SQLite grouped transactions (worker thread)", () => {
  it("32 concurrent verifications of distinct tokens: far fewer worker messages and COMMITs than 2 x 32, every answer right and stored", async () => {
    const { store, bank, users, code } = await setup(32);
    const before = await stats(store);
    const results = await Promise.all(users.map((userId, i) => bank.verify(userId, code(i))));
    const after = await stats(store);
    for (const result of results) expect(result).toEqual({ ok: true, offset: 0, driftSteps: 0, step: STEP });
    const messages = after.messages - before.messages;
    const commits = after.commits - before.commits;
    // One read and one write-and-commit message for the whole group (a straggler or two may make a second group).
    expect(messages).toBeLessThanOrEqual(6);
    expect(messages).toBeLessThan(2 * 32);
    expect(commits).toBeLessThanOrEqual(3);
    expect(after.held - before.held).toBe(32);
    for (const userId of users) {
      const token = (await store.getToken(userId))!;
      expect(token.last_step, userId).toBe(STEP);
      expect(token.last_success_at, userId).toBe(NOW);
      expect(await eventsOf(store, userId)).toEqual(["pskc-import", "login"]);
    }
    expect((await bank.verifyAudit()).ok).toBe(true);
  }, 60_000);

  it("the same code of one token twice at once: exactly one accepted, the other refused as replayed and counted", async () => {
    const { store, bank, users, code } = await setup(4);
    const results = await Promise.allSettled([
      bank.verify(users[0], code(0)),
      bank.verify(users[1], code(1)),
      bank.verify(users[0], code(0)),
      bank.verify(users[2], code(2)),
    ]);
    const same = [results[0], results[2]];
    expect(same.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = same.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect((refused.reason as BankError).code).toBe("replayed");
    expect(results[1].status).toBe("fulfilled");
    expect(results[3].status).toBe("fulfilled");
    const token = (await store.getToken(users[0]))!;
    expect(token.last_step).toBe(STEP);
    expect(token.consecutive_failures).toBe(1);
    expect(await eventsOf(store, users[0])).toEqual(["pskc-import", "login", "replayed"]);
    expect((await bank.verifyAudit()).ok).toBe(true);
  }, 60_000);

  it("right, wrong, replayed and unknown in one group: each answered as alone, failures counted and locked at the threshold", async () => {
    const { store, bank, users, code } = await setup(6);
    // Token 2's code at NOW was accepted before; token 3 is one failure from the lock (9 of 10).
    await bank.verify(users[2], code(2));
    for (let k = 0; k < 9; k++) await store.transaction((tx) => tx.recordTokenFailure(users[3], 10, 0));
    const before = await stats(store);
    const results = await Promise.allSettled([
      bank.verify(users[0], code(0)),
      bank.verify(users[1], otherThan(code(1))),
      bank.verify(users[2], code(2)),
      bank.verify(users[3], otherThan(code(3))),
      bank.verify("1234L9999999A001", "123456"),
      bank.verify(users[4], code(4, 1)),
      bank.verify(users[5], "12345"),
    ]);
    const after = await stats(store);
    const reason = (r: PromiseSettledResult<unknown>) =>
      r.status === "fulfilled" ? "accepted" : `${(r.reason as BankError).code}:${(r.reason as BankError).attemptsLeft ?? "-"}`;
    expect(results.map(reason)).toEqual([
      "accepted",
      "wrong-code:9",
      "replayed:9",
      "wrong-code:0",
      "unknown:-",
      "accepted",
      "invalid-code:-",
    ]);
    expect((results[5] as PromiseFulfilledResult<{ offset: number; step: number }>).value).toMatchObject({ offset: 1, step: STEP + 1 });
    // One group: a read and a write-and-commit message, not two per verification.
    expect(after.messages - before.messages).toBeLessThanOrEqual(4);
    const token = async (i: number) => (await store.getToken(users[i]))!;
    expect((await token(0)).last_step).toBe(STEP);
    expect((await token(1)).consecutive_failures).toBe(1);
    expect((await token(1)).next_check_at).toBeGreaterThan(NOW);
    expect((await token(2)).consecutive_failures).toBe(1);
    expect((await token(3)).consecutive_failures).toBe(10);
    expect((await token(3)).locked).toBe(1);
    expect((await token(4)).last_step).toBe(STEP + 1);
    expect((await token(5)).consecutive_failures).toBe(0);
    expect(await eventsOf(store, users[1])).toEqual(["pskc-import", "wrong-code"]);
    expect(await eventsOf(store, users[2])).toEqual(["pskc-import", "login", "replayed"]);
    expect(await eventsOf(store, users[3])).toEqual(["pskc-import", "locked"]);
    expect(await eventsOf(store, users[5])).toEqual(["pskc-import"]);
    expect((await bank.verifyAudit()).ok).toBe(true);
  }, 60_000);

  it("a member that throws, or whose writes fail in the worker, is undone alone; the others commit; one stepping outside the group runs again alone", async () => {
    const { store, users } = await setup(5);
    const before = await stats(store);
    const success = (i: number, step: number) => (tx: Parameters<Parameters<SqliteStore["transaction"]>[0]>[0]) =>
      (async () => {
        const row = (await tx.verifiableToken(users[i]))!;
        expect(row.user_id).toBe(users[i]);
        await tx.recordTokenSuccess(users[i], 0, step, NOW);
        return row.last_step;
      })();
    let outsideRuns = 0;
    const results = await Promise.allSettled([
      store.transaction(success(0, STEP + 5), { group: users[0] }),
      store.transaction(
        async (tx) => {
          await success(1, STEP + 5)(tx);
          throw new Error("refused by its callback");
        },
        { group: users[1] },
      ),
      store.transaction(
        async (tx) => {
          await success(2, STEP + 5)(tx);
          // An event no writer signed: the worker refuses to chain it, so this member's savepoint is undone.
          await tx.appendEvent({
            at: NOW,
            kind: "login",
            service_id: "10212083",
            user_id: users[2],
            actor: "forger",
            detail: null,
            nonce: new Uint8Array(16),
            writer_mac: new Uint8Array(32),
          });
        },
        { group: users[2] },
      ),
      store.transaction(
        async (tx) => {
          outsideRuns++;
          await success(3, STEP + 5)(tx);
          return tx.getSetting("service_id");
        },
        { group: users[3] },
      ),
      store.transaction(success(4, STEP + 5), { group: users[4] }),
    ]);
    const after = await stats(store);
    expect(results[0]).toMatchObject({ status: "fulfilled" });
    expect(results[1]).toMatchObject({ status: "rejected", reason: { message: "refused by its callback" } });
    expect(results[2]).toMatchObject({
      status: "rejected",
      reason: { message: expect.stringContaining("refusing to chain an audit event") },
    });
    expect(results[3]).toEqual({ status: "fulfilled", value: "10212083" });
    expect(results[4]).toMatchObject({ status: "fulfilled" });
    expect(outsideRuns).toBe(2);
    const lastStep = async (i: number) => (await store.getToken(users[i]))!.last_step;
    expect(await lastStep(0)).toBe(STEP + 5);
    expect(await lastStep(1)).toBeLessThan(STEP);
    expect(await lastStep(2)).toBeLessThan(STEP);
    expect(await lastStep(3)).toBe(STEP + 5);
    expect(await lastStep(4)).toBe(STEP + 5);
    expect(await eventsOf(store, users[2])).toEqual(["pskc-import"]);
    // The group (read; writes and commit) and the one run again alone (its token, its getSetting, its
    // commit): one COMMIT for all.
    expect(after.messages - before.messages).toBe(5);
    expect(after.commits - before.commits).toBe(1);
  }, 60_000);

  it("a transaction or group that throws ends the worker's open transaction when nobody waits: another process gets the write lock at once", async () => {
    for (const groupCommit of [true, false]) {
      const { store, users } = await setup(2, groupCommit);
      const other = (await openStore(store.location, { busyTimeoutMs: 200 })) as SqliteStore;
      stores.push(other);
      const takeLock = () => {
        other.engine!.db.prepare("BEGIN IMMEDIATE").run();
        other.engine!.db.prepare("ROLLBACK").run();
      };
      // Alone: it read (BEGIN IMMEDIATE on the worker), then threw.
      await expect(
        store.transaction(async (tx) => {
          await tx.getSetting("service_id");
          throw new Error("thrown after a read");
        }),
      ).rejects.toThrow("thrown after a read");
      expect(takeLock).not.toThrow();
      // A group whose every member threw.
      const thrown = users.map((userId) =>
        store.transaction(
          async (tx) => {
            await tx.verifiableToken(userId);
            throw new Error("every member throws");
          },
          { group: userId },
        ),
      );
      for (const result of await Promise.allSettled(thrown)) expect(result).toMatchObject({ status: "rejected" });
      expect(takeLock).not.toThrow();
    }
  }, 60_000);

  it("without group commit (groupCommit: false) grouped transactions run alone: two messages and a COMMIT each", async () => {
    const { store, bank, users, code } = await setup(8, false);
    const before = await stats(store);
    const results = await Promise.all(users.map((userId, i) => bank.verify(userId, code(i))));
    const after = await stats(store);
    for (const result of results) expect(result.step).toBe(STEP);
    expect(after.messages - before.messages).toBe(16);
    expect(after.commits - before.commits).toBe(8);
  }, 60_000);
});
