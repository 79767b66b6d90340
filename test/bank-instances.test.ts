// Four `otp-token bank serve` processes (the real command, dist/host/cli.js) on one PostgreSQL, on the
// wall clock, against the bank's promises:
// - many clients racing the same code across the instances: exactly one accepted per round, 200 rounds;
// - failure counts exact under races: 10 (and 20) concurrent wrong codes lock at exactly 10;
// - kill -9 of an instance in the middle of a load: no accepted code lost, none accepted twice, no
//   counted failure lost;
// - PostgreSQL restarted in the middle of a load: requests during the outage get 503 (health too),
//   none is accepted twice, and the instances serve again by themselves when it is back.
// Each round uses a token of its own (imported as PSKC would import it) and its current code.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import { openStore } from "../host/bank/open-store.js";
import { otpApi } from "../host/otp.js";
import { type BankServe, otherThan, useBankServe } from "./bank-helpers.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "dist/host/cli.js");
const KEY_HEX = "00ff11ee22dd33cc44bb55aa66998877665544332211ffeeddccbbaa99887766";
const INSTANCES = 4;
const api = otpApi();
const postgres = usePostgres();

interface Held {
  userId: string;
  seed: Uint8Array;
}

interface Answer {
  status: number;
  body: { accepted?: boolean; reason?: string; error?: string; attemptsLeft?: number };
  /** The connection failed (instance gone): the outcome is unknown to this client. */
  lost?: string;
}

let dir: string;
let keyFile: string;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const bankServe = useBankServe();
const stores: PgStore[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-instances-"));
  keyFile = join(dir, "bank.key");
  writeFileSync(keyFile, KEY_HEX, { mode: 0o600 });
});

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
});

afterAll(() => {
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A new bank database with `count` tokens (PSKC-style import, seeds sealed) and a login key. */
async function bankWith(count: number): Promise<{ url: string; held: Held[]; key: string; store: PgStore; bank: Bank }> {
  const url = postgres.freshUrl();
  const store = (await openStore(url, { create: true })) as PgStore;
  stores.push(store);
  const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX));
  await bank.updateSettings({ serviceId: "10212083" });
  const seeds = Array.from({ length: count }, (_, i) => new Uint8Array(Buffer.alloc(20, i + 1)));
  const imported = await bank.importSecrets(
    seeds.map((seed, i) => ({
      serial: (i + 1).toString(16).toUpperCase().padStart(16, "0"),
      seed,
      params: { algorithm: "SHA1" as const, digits: 6, period: 60, label: "BANK" },
    })),
  );
  const { key } = await bank.createApiKey("login", "instances test");
  return { url, held: imported.map((t, i) => ({ userId: t.userId, seed: seeds[i] })), key, store, bank };
}

/** INSTANCES of `otp-token bank serve --port 0` on `url`; resolves with their base URLs once they listen. */
const instances = (url: string, ...args: string[]) => bankServe.startMany(INSTANCES, ["--db", url, "--master-key-file", keyFile, ...args]);

function call(base: string, method: string, path: string, key: string | null, json?: unknown): Promise<Answer> {
  const body = json === undefined ? undefined : JSON.stringify(json);
  const target = new URL(path, base);
  return new Promise((resolve) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method,
        agent,
        timeout: 60_000,
        headers: {
          ...(body === undefined ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }),
          ...(key ? { Authorization: `Bearer ${key}` } : {}),
        },
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

const verify = (base: string, key: string, userId: string, code: string) =>
  call(base, "POST", `/v1/tokens/${userId}/verify`, key, { code });
const codeNow = (held: Held) => api.totp(held.seed, Math.floor(Date.now() / 1000));

/** Logins recorded in the audit trail per User ID (every committed event, chained first). */
async function loginsPerUser(store: PgStore): Promise<Map<string, number>> {
  await store.sealAudit();
  const { rows } = await store.pool.query<{ user_id: string; n: number }>(
    "SELECT user_id, count(*)::int AS n FROM events WHERE kind = 'login' GROUP BY user_id",
  );
  return new Map(rows.map((r) => [r.user_id, r.n]));
}

/** SIGTERM to each; their exit codes once all have exited. */
const stop = (servers: BankServe[]) => bankServe.stop(servers);

if (POSTGRES_SKIP !== null) it.skip(`four bank serve instances on PostgreSQL skipped: ${POSTGRES_SKIP}`, () => undefined);

describe.skipIf(POSTGRES_SKIP !== null)(`${INSTANCES} 'otp-token bank serve' instances on one PostgreSQL`, () => {
  it("the bank CLI on PostgreSQL: init once (a second init refused), DATABASE_URL when --db is not given, keys, status, the audit chain", async () => {
    const url = postgres.freshUrl();
    const bank = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      new Promise<{ status: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, "bank", ...args, "--master-key-file", keyFile], {
          env: { ...process.env, DATABASE_URL: "", ...env },
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
        child.on("exit", (status) => resolve({ status, out, err }));
      });
    expect(await bank(["status", "--db", url])).toMatchObject({
      status: 1,
      err: expect.stringMatching(/has no bank schema yet: run 'otp-token bank init --db postgres:/),
    });
    expect(await bank(["init", "--db", url, "--service-id", "10212083"])).toMatchObject({
      status: 0,
      out: expect.stringMatching(/^Created the bank database postgres:\/\/bank@127\.0\.0\.1:\d+\/bank_\d+\nService ID: {3}10212083\n/),
    });
    expect(await bank(["init", "--db", url])).toMatchObject({
      status: 1,
      err: expect.stringMatching(/already holds a bank database: 'bank init' creates a new one only/),
    });
    const created = await bank(["api-key", "create", "--scope", "admin", "--name", "ops"], { DATABASE_URL: url });
    expect(created.status).toBe(0);
    expect((await bank(["api-key", "list"], { DATABASE_URL: url })).out).toMatch(/admin.*ops/);
    expect((await bank(["status"], { DATABASE_URL: url })).out).toMatch(/^Service ID 10212083/);
    const audit = await bank(["audit", "verify"], { DATABASE_URL: url });
    expect(audit.status, audit.err).toBe(0);
    // The Service ID set at init and the key created: chained by the sealer, verified by the CLI.
    expect(audit.out).toMatch(/^the audit trail verifies: 2 rows; head: row 2 [0-9a-f]{64}\n$/);
    // Audit partitions (issue 21): raised by settings, never lowered.
    const raised = await bank(["settings", "--audit-partitions", "3"], { DATABASE_URL: url });
    expect(raised.status, raised.err).toBe(0);
    expect(raised.out).toContain("Audit partitions: 3\n");
    const lowered = await bank(["settings", "--audit-partitions", "2"], { DATABASE_URL: url });
    expect(lowered.out).toContain("Audit partitions: 3\n");
    expect(lowered.err).toMatch(/has 3 audit partitions already; they are never fewer/);
  }, 120_000);

  it("200 rounds of 8 clients sending the same code to all four at once: exactly one accepted per round", async () => {
    const ROUNDS = 200;
    const { url, held, key, store, bank } = await bankWith(ROUNDS);
    // The trail sealed in one partition per instance (issue 21): the four sealers seal at once.
    expect(await store.auditPartitions(INSTANCES)).toBe(INSTANCES);
    const servers = await instances(url);
    let raced = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const code = codeNow(held[round]);
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => verify(servers[i % INSTANCES].base, key, held[round].userId, code)),
      );
      const accepted = answers.filter((a) => a.status === 200 && a.body.accepted === true);
      expect(accepted, `round ${round}: ${JSON.stringify(answers)}`).toHaveLength(1);
      for (const other of answers.filter((a) => a !== accepted[0])) {
        expect(other.status === 200 ? other.body.reason : other.body.error, JSON.stringify(other)).toMatch(/^(replayed|throttled)$/);
        if (other.status === 200) raced++;
      }
    }
    const logins = await loginsPerUser(store);
    expect(held.map((h) => logins.get(h.userId) ?? 0)).toEqual(held.map(() => 1));
    // Every partition's chain and their interleaving verify.
    const audit = await bank.verifyAudit();
    expect(audit.ok, JSON.stringify(audit.firstBad)).toBe(true);
    expect(audit.heads!.length).toBeGreaterThan(1);
    expect(await stop(servers)).toEqual([0, 0, 0, 0]);
    console.log(
      `instances race: ${ROUNDS} rounds, ${ROUNDS} accepted; ${raced} losing requests reached the code check (replayed), the rest were throttled`,
    );
  }, 300_000);

  it("an API key revoked elsewhere is refused by every instance once its --key-cache-seconds have passed (the bound 'bank serve --help' states)", async () => {
    const { url, held, key, bank } = await bankWith(1);
    const servers = await instances(url, "--key-cache-seconds", "2");
    const keyId = /^otpk_([0-9a-f]{16})_/.exec(key)![1];
    // Every instance has read the key (and keeps its row for 2 s).
    for (const s of servers) expect([200, 429]).toContain((await verify(s.base, key, held[0].userId, "000000")).status);
    const revokedAt = performance.now();
    await bank.revokeApiKey(keyId);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2000 + 200 - (performance.now() - revokedAt))));
    const after = await Promise.all(servers.map((s) => verify(s.base, key, held[0].userId, "000000")));
    expect(after.map((a) => a.status)).toEqual([401, 401, 401, 401]);
    expect(await stop(servers)).toEqual([0, 0, 0, 0]);
  }, 120_000);

  it("failure counts are exact under races: 10 concurrent wrong codes lock at exactly 10; of 20, exactly 10 count and the rest meet the lock", async () => {
    const { url, held, key, store } = await bankWith(2);
    // No throttling delay, so that every wrong code reaches the check (the lockout still counts them).
    const servers = await instances(url, "--throttle-base-seconds", "0");
    for (const [index, sent] of [
      [0, 10],
      [1, 20],
    ] as const) {
      const token = held[index];
      const wrong = otherThan(codeNow(token));
      const answers = await Promise.all(
        Array.from({ length: sent }, (_, i) => verify(servers[i % INSTANCES].base, key, token.userId, wrong)),
      );
      const counted = answers.filter((a) => a.status === 200 && a.body.reason === "wrong-code");
      expect(counted, JSON.stringify(answers)).toHaveLength(10);
      // Each counted failure saw its own count: attempts left 9, 8, ..., 0.
      expect(counted.map((a) => a.body.attemptsLeft).sort((a, b) => a! - b!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(
        answers.filter((a) => a.status === 423 && a.body.error === "locked"),
        JSON.stringify(answers),
      ).toHaveLength(sent - 10);
      expect(await store.getToken(token.userId)).toMatchObject({ consecutive_failures: 10, locked: 1 });
      expect((await verify(servers[0].base, key, token.userId, codeNow(token))).status).toBe(423);
    }
    expect(await stop(servers)).toEqual([0, 0, 0, 0]);
  }, 180_000);

  it("kill -9 of an instance in the middle of a load: nothing accepted twice, no accepted code and no counted failure lost", async () => {
    const ROUNDS = 120;
    const { url, held, key, store } = await bankWith(ROUNDS + 1);
    const servers = await instances(url, "--throttle-base-seconds", "0");
    const guessed = held[ROUNDS];
    const rounds: Answer[][] = [];
    let wrongAnswered = 0;
    let wrongLost = 0;
    let killedInFlight = 0;
    const killAt = 40;
    for (let round = 0; round < ROUNDS; round++) {
      const code = codeNow(held[round]);
      const pending = Array.from({ length: 8 }, (_, i) => verify(servers[i % INSTANCES].base, key, held[round].userId, code));
      // Wrong codes for another token on instances 0 and 1 now and then, the kill's round included, to count failures across it (8 in all: no lock).
      const guesses = [0, 30, killAt, 60].includes(round)
        ? servers.slice(0, 2).map((s) => verify(s.base, key, guessed.userId, otherThan(codeNow(guessed))))
        : [];
      if (round === killAt) {
        // Instance 0 has requests of this round in flight: kill it now.
        await new Promise((resolve) => setTimeout(resolve, 5));
        servers[0].child.kill("SIGKILL");
      }
      const answers = await Promise.all(pending);
      rounds.push(answers);
      for (const g of await Promise.all(guesses)) {
        if (g.status === 200 && g.body.reason === "wrong-code") wrongAnswered++;
        else if (g.lost) wrongLost++;
        else throw new Error(`unexpected answer to a wrong code: ${JSON.stringify(g)}`);
      }
      if (round === killAt) killedInFlight = answers.filter((a) => a.lost).length;
    }
    const logins = await loginsPerUser(store);
    for (let round = 0; round < ROUNDS; round++) {
      const accepted = rounds[round].filter((a) => a.status === 200 && a.body.accepted === true).length;
      const lost = rounds[round].filter((a) => a.lost).length;
      const recorded = logins.get(held[round].userId) ?? 0;
      expect(accepted, `round ${round}: ${JSON.stringify(rounds[round])}`).toBeLessThanOrEqual(1);
      // Accepted and answered: recorded once. Not answered as accepted: recorded at most once, and then only by a request whose answer was lost with the instance.
      if (accepted === 1) expect(recorded, `round ${round}`).toBe(1);
      else expect(recorded === 0 || lost > 0, `round ${round}: ${recorded} logins, ${JSON.stringify(rounds[round])}`).toBe(true);
      const token = await store.getToken(held[round].userId);
      expect(token!.last_success_at !== null, `round ${round}`).toBe(recorded === 1);
    }
    // Every wrong code the bank answered as counted is counted; one whose answer died with the instance may or may not be.
    const failures = (await store.getToken(guessed.userId))!.consecutive_failures;
    expect(failures).toBeGreaterThanOrEqual(wrongAnswered);
    expect(failures).toBeLessThanOrEqual(wrongAnswered + wrongLost);
    // The rounds after the kill were served by the three left.
    expect(rounds.slice(killAt + 1).every((answers) => answers.filter((a) => a.status === 200 && a.body.accepted).length === 1)).toBe(true);
    expect(servers[0].child.signalCode).toBe("SIGKILL");
    expect(await stop(servers.slice(1))).toEqual([0, 0, 0]);
    console.log(
      `kill -9: ${killedInFlight} requests in flight to the killed instance lost their answers; failures counted ${failures} (answered ${wrongAnswered}, lost ${wrongLost})`,
    );
  }, 300_000);

  it("PostgreSQL restarted in the middle of a load: 503 during the outage (health too), none accepted twice, the instances serve again by themselves", async () => {
    const ROUNDS = 90;
    const { url, held, key, store } = await bankWith(ROUNDS);
    const servers = await instances(url);
    const rounds: Answer[][] = [];
    const health: number[] = [];
    let outage = { from: 30, to: -1 };
    for (let round = 0; round < ROUNDS; round++) {
      if (round === outage.from) {
        // Stopped while a round is in flight.
        const inFlight = Promise.all(
          Array.from({ length: 8 }, (_, i) => verify(servers[i % INSTANCES].base, key, held[round].userId, codeNow(held[round]))),
        );
        postgres.server.stopServer();
        rounds.push(await inFlight);
        continue;
      }
      if (round > outage.from && outage.to < 0) {
        health.push(...(await Promise.all(servers.map((s) => call(s.base, "GET", "/v1/health", null)))).map((a) => a.status));
        if (round === outage.from + 10) {
          postgres.server.startServer();
          outage = { ...outage, to: round };
        }
      }
      const code = codeNow(held[round]);
      rounds.push(
        await Promise.all(Array.from({ length: 8 }, (_, i) => verify(servers[i % INSTANCES].base, key, held[round].userId, code))),
      );
    }
    const statuses = rounds.flat().map((a) => a.status);
    // Nothing but answers: accepted or refused (200, 409 replayed, 429 throttled) and 503 busy; never a 500 or a dropped connection.
    expect(new Set(statuses.filter((s) => ![200, 409, 429, 503].includes(s)))).toEqual(new Set());
    const during = rounds.slice(outage.from + 1, outage.to);
    expect(
      during.flat().every((a) => a.status === 503 && a.body.error === "busy"),
      JSON.stringify(during.flat().slice(0, 3)),
    ).toBe(true);
    expect(health.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(health.every((s) => s === 503)).toBe(true);
    const logins = await loginsPerUser(store);
    for (let round = 0; round < ROUNDS; round++) {
      const accepted = rounds[round].filter((a) => a.status === 200 && a.body.accepted === true).length;
      expect(accepted, `round ${round}: ${JSON.stringify(rounds[round])}`).toBeLessThanOrEqual(1);
      expect(logins.get(held[round].userId) ?? 0, `round ${round}`).toBeGreaterThanOrEqual(accepted);
      expect(logins.get(held[round].userId) ?? 0, `round ${round}`).toBeLessThanOrEqual(1);
    }
    // Back: the last rounds are served as before the outage, by the same processes.
    const after = rounds.slice(outage.to + 5);
    expect(after.length).toBeGreaterThan(20);
    expect(after.every((answers) => answers.filter((a) => a.status === 200 && a.body.accepted).length === 1)).toBe(true);
    expect((await Promise.all(servers.map((s) => call(s.base, "GET", "/v1/health", null)))).map((a) => a.status)).toEqual([
      200, 200, 200, 200,
    ]);
    expect(await stop(servers)).toEqual([0, 0, 0, 0]);
  }, 300_000);
});
