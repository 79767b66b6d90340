// Group commit on the SQLite store's worker thread (host/bank/sqlite/batch.ts, GroupCommit): the
// transactions queued behind one another share one COMMIT, each keeps its read-check-write to itself,
// one that fails rolls back alone, and no answer goes out before the COMMIT that holds it: kill -9 of
// `otp-token bank serve` under load loses no acknowledged verification and no acknowledged failure.
// (A kill -9 keeps what was written to the WAL file, so it tests "answered only after COMMIT"; that the
// COMMIT is on disk at its return is synchronous=FULL's part.)
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import { otpApi } from "../host/otp.js";
import { otherThan, useBankServe } from "./bank-helpers.js";

const KEY_HEX = "00ff11ee22dd33cc44bb55aa66998877665544332211ffeeddccbbaa99887766";
const api = otpApi();

let dir: string;
const bankServe = useBankServe();
const stores: SqliteStore[] = [];
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-group-commit-"));
});

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
});

afterAll(() => {
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
});

let databases = 0;
async function workerStore(groupCommit = true): Promise<SqliteStore> {
  const store = (await openStore(join(dir, `store-${++databases}.sqlite`), {
    create: true,
    thread: "worker",
    groupCommit,
  })) as SqliteStore;
  stores.push(store);
  return store;
}

describe("SQLite group commit (worker thread)", () => {
  it("transactions queued together share a COMMIT, and each reads what the one before it wrote", async () => {
    const grouped = await workerStore();
    const single = await workerStore(false);
    for (const store of [grouped, single]) {
      const before = (await store.groupCommitStats())!;
      // 40 read-check-writes of one value, all queued at once: a lost update would leave less than 40.
      await Promise.all(
        Array.from({ length: 40 }, () =>
          store.transaction(async (tx) => {
            const n = Number((await tx.getSetting("mail_domain")) ?? "0");
            await tx.setSetting("mail_domain", String(n + 1));
          }),
        ),
      );
      expect(await store.getSetting("mail_domain")).toBe("40");
      const after = (await store.groupCommitStats())!;
      const commits = after.commits - before.commits;
      if (store === grouped) expect(commits).toBeLessThan(40);
      else expect(commits).toBeGreaterThanOrEqual(40);
    }
  });

  it("a transaction that fails in a group rolls back alone; the others commit, and none sees its writes", async () => {
    const store = await workerStore();
    await store.transaction((tx) => tx.setSetting("mail_domain", "before.example"));
    const before = (await store.groupCommitStats())!;
    const seen: (string | null)[] = [];
    const results = await Promise.allSettled([
      store.transaction((tx) => tx.setSetting("service_id", "11112222")),
      store.transaction(async (tx) => {
        await tx.setSetting("mail_domain", "rolled-back.example");
        seen.push(await tx.getSetting("mail_domain"));
        throw new Error("refused inside");
      }),
      store.transaction(async (tx) => {
        seen.push(await tx.getSetting("mail_domain"));
        await tx.setSetting("mail_domain", "after.example");
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe("refused inside");
    // The failing one saw its own write; the next one saw the value from before it, not the rolled-back one.
    expect(seen).toEqual(["rolled-back.example", "before.example"]);
    expect(await store.getSetting("service_id")).toBe("11112222");
    expect(await store.getSetting("mail_domain")).toBe("after.example");
    // All three were queued before the first ran: one COMMIT for the group (reads with no group open commit nothing).
    const after = (await store.groupCommitStats())!;
    expect(after.commits - before.commits).toBe(1);
  });

  it("kill -9 of bank serve under load: every acknowledged verification and counted failure is in the database", async () => {
    const TOKENS = 1500;
    const CLIENTS = 32;
    const path = join(dir, "served.sqlite");
    const keyFile = join(dir, "bank.key");
    writeFileSync(keyFile, KEY_HEX, { mode: 0o600 });
    const seeds = Array.from(
      { length: TOKENS + 1 },
      (_, i) => new Uint8Array(createHmac("sha1", "group commit").update(String(i)).digest()),
    );
    const setup = (await openStore(path, { create: true })) as SqliteStore;
    const bank = await Bank.open(setup, MasterKey.fromHex(KEY_HEX));
    await bank.updateSettings({ serviceId: "10212083" });
    const imported = await bank.importSecrets(
      seeds.map((seed, i) => ({
        serial: (i + 1).toString(16).toUpperCase().padStart(16, "0"),
        seed,
        params: { algorithm: "SHA1" as const, digits: 6, period: 60, label: "BANK" },
      })),
    );
    const { key } = await bank.createApiKey("login", "group commit test");
    await setup.close();
    const users = imported.map((t) => t.userId);
    const guessed = TOKENS; // wrong codes go to this one

    const server = await bankServe.start(["--db", path, "--master-key-file", keyFile, "--throttle-base-seconds", "0"]);
    const accepted: number[] = [];
    let wrongCounted = 0;
    let wrongLost = 0;
    let lost = 0;
    let next = 0;
    let killed = false;
    const exited = new Promise((resolve) => server.child.once("exit", resolve));
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        while (next < TOKENS) {
          const wrong = client === 0 && wrongCounted + wrongLost < 8;
          const i = wrong ? guessed : next++;
          const code = api.totp(seeds[i], Math.floor(Date.now() / 1000));
          const answer = await verify(server.base, key, users[i], wrong ? otherThan(code) : code);
          if (answer.lost) {
            lost++;
            if (wrong) wrongLost++;
            return;
          }
          if (wrong) {
            expect(answer.body.reason, JSON.stringify(answer)).toBe("wrong-code");
            wrongCounted++;
            continue;
          }
          expect(answer.body.accepted, JSON.stringify(answer)).toBe(true);
          accepted.push(i);
          if (accepted.length === 300 && !killed) {
            killed = true;
            server.child.kill("SIGKILL");
          }
        }
      }),
    );
    await exited;
    expect(server.child.signalCode).toBe("SIGKILL");
    expect(accepted.length).toBeGreaterThanOrEqual(300);

    const after = (await openStore(path)) as SqliteStore;
    stores.push(after);
    const db = after.engine!.db;
    const logins = new Map(
      (
        db.prepare("SELECT user_id, count(*) AS n FROM events WHERE kind = 'login' GROUP BY user_id").all() as {
          user_id: string;
          n: number;
        }[]
      ).map((r) => [r.user_id, r.n]),
    );
    const missing = accepted.filter((i) => logins.get(users[i]) !== 1);
    expect(missing.map((i) => users[i])).toEqual([]);
    for (const i of accepted) expect((await after.getToken(users[i]))!.last_success_at, users[i]).not.toBeNull();
    const failures = (await after.getToken(users[guessed]))!.consecutive_failures;
    expect(failures).toBeGreaterThanOrEqual(wrongCounted);
    expect(failures).toBeLessThanOrEqual(wrongCounted + wrongLost);
    console.log(
      `kill -9 after ${accepted.length} acknowledged verifications (all in the database); ${lost} requests in flight lost their answers; ` +
        `failures counted ${failures} (answered ${wrongCounted})`,
    );
  }, 180_000);
});

interface Answer {
  status: number;
  body: { accepted?: boolean; reason?: string };
  lost?: string;
}

function verify(base: string, key: string, userId: string, code: string): Promise<Answer> {
  const body = JSON.stringify({ code });
  const target = new URL(`/v1/tokens/${userId}/verify`, base);
  return new Promise((resolve) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        agent,
        timeout: 60_000,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), Authorization: `Bearer ${key}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") }));
        res.on("error", (error) => resolve({ status: 0, body: {}, lost: error.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (error) => resolve({ status: 0, body: {}, lost: (error as NodeJS.ErrnoException).code ?? error.message }));
    req.end(body);
  });
}
