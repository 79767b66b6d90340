// The crash test (issue 19, "Exactly-once that survives the database"): four `otp-token bank serve`
// processes (the built dist/host/cli.js), 16 clients, and crashes in the middle of the load. Every
// client sends a fresh token's current code to two instances at once, and a wrong code now and then
// to a token of its own; an answer of 503 or a dropped connection is sent again (the same code) a few
// times, as a front end would. Then, read from the database:
// - every `accepted: true` a client saw is durable: the token's login event is there once and its
//   last_step is the step of that code;
// - no code accepted twice: at most one `accepted: true` per token (each token gets one code), and at
//   most one login event;
// - every counted failure a client saw is durable: the token's failure count is at least the number of
//   `wrong-code` answers, each answer's attemptsLeft was different (a failure answered but not stored
//   would show the same count twice), and each counted failure has its audit event.
// On PostgreSQL the crashes are `pg_ctl restart -m immediate` and kills of the server process serving
// a verification (pg_terminate_backend, and kill -9, after which PostgreSQL restarts every process); on
// SQLite, kill -9 of an instance (started again at once). The counts are printed.
//
// Durability here: every crash is of processes, not of the machine. WAL written at COMMIT sits in the
// operating system's page cache, which an immediate restart or a killed process does not lose, so with
// synchronous_commit on a commit answered is a commit recovered even with fsync off; fsync decides only
// what survives a power cut, which this test cannot cause. (The other tests' synchronous_commit=off
// answers COMMIT before its WAL is written: a restart then loses answered commits, so not here.) The
// server runs with PostgreSQL's durable defaults (fsync on) nevertheless, for one reason: commit_delay (10 ms
// before a commit's WAL flush while another transaction is open, 0 by default; PostgreSQL applies it
// only with fsync on) widens the moment a crash can meet a COMMIT in flight, and the test counts those
// (each instance warns, OTP_TOKEN_LOST_COMMIT, with the commit id's verdict) and needs some.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import { openStore } from "../host/bank/open-store.js";
import type { BankStore } from "../host/bank/store.js";
import { otpApi } from "../host/otp.js";
import { otherThan, useBankServe } from "./bank-helpers.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const KEY_HEX = "00ff11ee22dd33cc44bb55aa66998877665544332211ffeeddccbbaa99887766";
const INSTANCES = 4;
const CLIENTS = 16;
/** Tokens for codes (one code each) and for wrong codes (at most GUESSES_PER_TOKEN each: under the lockout at 10). */
const TOKENS = 3000;
const GUESS_TOKENS = 4 * CLIENTS;
const GUESSES_PER_TOKEN = 8;
/** Sends of one request at most (the first and the repeats after a 503 or a dropped connection). */
const SENDS = 4;
const api = otpApi();
const postgres = usePostgres({ durable: true, settings: { commit_delay: 10_000, commit_siblings: 1 } });
const agent = new Agent({ keepAlive: true, maxSockets: 128 });
/** Requests sent to each instance (its base URL) and not answered yet. */
const inFlight = new Map<string, number>();
const bankServe = useBankServe();
let dir: string;
let keyFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-crash-"));
  keyFile = join(dir, "bank.key");
  writeFileSync(keyFile, KEY_HEX, { mode: 0o600 });
});

afterAll(() => {
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Held {
  userId: string;
  seed: Uint8Array;
}

interface Answer {
  status: number;
  body: { accepted?: boolean; reason?: string; error?: string; attemptsLeft?: number };
  /** The connection failed (the instance gone): the outcome is unknown to this client. */
  lost?: string;
}

/** A bank with TOKENS + GUESS_TOKENS tokens (imported, seeds sealed) and a login key, on `store` (closed after). */
async function makeBank(store: BankStore): Promise<{ held: Held[]; guessed: Held[]; key: string }> {
  const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX));
  await bank.updateSettings({ serviceId: "10212083" });
  // Seeds from the token's number: the same every run.
  const seeds = Array.from(
    { length: TOKENS + GUESS_TOKENS },
    (_, i) => new Uint8Array(createHash("sha1").update(`crash test token ${i}`).digest()),
  );
  const imported = await bank.importSecrets(
    seeds.map((seed, i) => ({
      serial: (i + 1).toString(16).toUpperCase().padStart(16, "0"),
      seed,
      params: { algorithm: "SHA1" as const, digits: 6, period: 60, label: "BANK" },
    })),
  );
  const { key } = await bank.createApiKey("login", "crash test");
  const all = imported.map((t, i) => ({ userId: t.userId, seed: seeds[i] }));
  await store.close();
  return { held: all.slice(0, TOKENS), guessed: all.slice(TOKENS), key };
}

function verify(base: string, key: string, userId: string, code: string): Promise<Answer> {
  const body = JSON.stringify({ code });
  const target = new URL(`/v1/tokens/${userId}/verify`, base);
  inFlight.set(base, (inFlight.get(base) ?? 0) + 1);
  return new Promise<Answer>((resolve) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        agent,
        timeout: 30_000,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), Authorization: `Bearer ${key}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") });
          } catch {
            resolve({ status: 0, body: {}, lost: "a cut answer" });
          }
        });
        res.on("error", (error) => resolve({ status: 0, body: {}, lost: error.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (error) => resolve({ status: 0, body: {}, lost: (error as NodeJS.ErrnoException).code ?? error.message }));
    req.end(body);
  }).finally(() => inFlight.set(base, (inFlight.get(base) ?? 1) - 1));
}

interface Sent {
  userId: string;
  code: string;
  /** The step the code is of, as the client computed it. */
  step: number;
  answers: Answer[];
}

interface Run {
  codes: Sent[];
  guesses: Sent[];
  requests: number;
  busy: number;
  lost: number;
}

/**
 * The load: CLIENTS clients until `until` resolves. `live()` is the instances' base URLs now (a
 * killed instance's replacement appears there).
 */
async function load(live: () => string[], key: string, held: Held[], guessed: Held[], until: Promise<unknown>): Promise<Run> {
  const run: Run = { codes: [], guesses: [], requests: 0, busy: 0, lost: 0 };
  let done = false;
  void until.finally(() => (done = true));
  let nextToken = 0;
  // One request and its repeats: until an answer other than 503 or a dropped connection, SENDS at most.
  const send = async (userId: string, code: string, first: number): Promise<Answer[]> => {
    const answers: Answer[] = [];
    for (let i = 0; i < SENDS; i++) {
      const bases = live();
      const answer = await verify(bases[(first + i) % bases.length], key, userId, code);
      run.requests++;
      answers.push(answer);
      if (answer.lost) run.lost++;
      else if (answer.status === 503) run.busy++;
      else break;
      await sleep(300);
    }
    return answers;
  };
  const client = async (c: number) => {
    let guessToken = c * (GUESS_TOKENS / CLIENTS);
    let guessesOfToken = 0;
    for (let item = 0; !done; item++) {
      if (item % 5 === 4 && guessToken < (c + 1) * (GUESS_TOKENS / CLIENTS)) {
        const token = guessed[guessToken];
        const now = Math.floor(Date.now() / 1000);
        const code = otherThan(api.totp(token.seed, now));
        const sent: Sent = { userId: token.userId, code, step: Math.floor(now / 60), answers: [] };
        run.guesses.push(sent);
        sent.answers = await send(token.userId, code, c + item);
        guessesOfToken += sent.answers.length;
        // The next send could reach the lockout (10): the next token.
        if (guessesOfToken + SENDS > GUESSES_PER_TOKEN) {
          guessToken++;
          guessesOfToken = 0;
        }
      } else {
        if (nextToken >= held.length) {
          // Out of fresh tokens (a fast machine): load goes on with wrong codes to used ones (their logins and steps unchanged).
          const token = held[(c * 131 + item) % held.length];
          await send(token.userId, otherThan(api.totp(token.seed, Math.floor(Date.now() / 1000))), c + item);
          await sleep(80);
          continue;
        }
        const token = held[nextToken++];
        const now = Math.floor(Date.now() / 1000);
        const code = api.totp(token.seed, now);
        const sent: Sent = { userId: token.userId, code, step: Math.floor(now / 60), answers: [] };
        run.codes.push(sent);
        // The same code to two instances at once.
        const both = await Promise.all([send(token.userId, code, c + item), send(token.userId, code, c + item + 1)]);
        sent.answers = both.flat();
      }
      await sleep(80);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  await until;
  return run;
}

interface Stored {
  /** Per User ID: login events, counted-failure events (wrong-code, replayed, locked). */
  events: Map<string, { logins: number; failures: number }>;
  tokens: Map<string, { last_step: number; consecutive_failures: number; last_success_at: number | null }>;
}

/** The promises, checked against what the clients saw; returns the numbers to report. */
function check(run: Run, stored: Stored, held: Held[], guessed: Held[]) {
  const seedOf = new Map([...held, ...guessed].map((t) => [t.userId, t.seed]));
  let accepted = 0;
  for (const sent of run.codes) {
    const yes = sent.answers.filter((a) => a.status === 200 && a.body.accepted === true).length;
    const events = stored.events.get(sent.userId) ?? { logins: 0, failures: 0 };
    const token = stored.tokens.get(sent.userId)!;
    const what = `${sent.userId}: ${JSON.stringify(sent.answers)}, stored ${JSON.stringify({ events, token })}`;
    expect(yes, `accepted twice: ${what}`).toBeLessThanOrEqual(1);
    expect(events.logins, `more than one login: ${what}`).toBeLessThanOrEqual(1);
    if (yes === 1) {
      accepted++;
      expect(events.logins, `accepted, no login stored: ${what}`).toBe(1);
      expect(token.last_success_at, `accepted, no success stored: ${what}`).not.toBeNull();
      // The step recorded is one whose code is the code sent (the step the client computed, or a neighbour showing the same code).
      const seed = seedOf.get(sent.userId)!;
      const steps = [-2, -1, 0, 1, 2].map((d) => sent.step + d).filter((s) => api.totp(seed, s * 60) === sent.code);
      expect(steps, `accepted, step not stored: ${what}`).toContain(token.last_step);
    }
  }
  let counted = 0;
  const guessesPer = new Map<string, Sent[]>();
  for (const sent of run.guesses) guessesPer.set(sent.userId, [...(guessesPer.get(sent.userId) ?? []), sent]);
  for (const [userId, sents] of guessesPer) {
    const answers = sents.flatMap((s) => s.answers);
    const wrong = answers.filter((a) => a.status === 200 && a.body.reason === "wrong-code");
    const token = stored.tokens.get(userId)!;
    const events = stored.events.get(userId) ?? { logins: 0, failures: 0 };
    const what = `${userId}: ${JSON.stringify(answers)}, stored ${JSON.stringify({ events, token })}`;
    counted += wrong.length;
    expect(
      answers.every((a) => a.lost || [200, 503].includes(a.status)),
      what,
    ).toBe(true);
    expect(token.consecutive_failures, `a counted failure lost: ${what}`).toBeGreaterThanOrEqual(wrong.length);
    expect(token.consecutive_failures, `more failures than sent: ${what}`).toBeLessThanOrEqual(answers.length);
    expect(new Set(wrong.map((a) => a.body.attemptsLeft)).size, `a failure count answered twice: ${what}`).toBe(wrong.length);
    expect(events.failures, `a failure without its event: ${what}`).toBe(token.consecutive_failures);
  }
  return { accepted, counted, codes: run.codes.length, guesses: run.guesses.length };
}

const summary = (name: string, run: Run, checked: ReturnType<typeof check>, crashes: string) =>
  console.log(
    `crash test ${name}: ${crashes}; ${run.requests} requests (${run.busy} answered 503, ${run.lost} connections dropped); ` +
      `${checked.codes} codes sent, ${checked.accepted} accepted, every one durable and none twice; ` +
      `${checked.guesses} wrong codes sent, ${checked.counted} answered as counted, every one durable`,
  );

const skip = POSTGRES_SKIP;
if (skip !== null) it.skip(`the crash test on PostgreSQL skipped: ${skip}`, () => undefined);

describe("the crash test: every accepted code and counted failure durable, none twice", () => {
  it.skipIf(skip !== null)(
    `PostgreSQL: ${INSTANCES} instances, ${CLIENTS} clients, 10 immediate restarts and 10 kills of the server process serving a verification`,
    async () => {
      const url = postgres.freshUrl();
      const { held, guessed, key } = await makeBank(await openStore(url, { create: true }));
      const args = ["--db", url, "--master-key-file", keyFile, "--throttle-base-seconds", "0", "--rate-limit", "10000000"];
      const servers = await bankServe.startMany(INSTANCES, args);
      const bases = servers.map((s) => s.base);
      // The instances' warnings for each COMMIT whose answer was lost, by outcome.
      const lostCommits = { committed: 0, "not committed": 0, "not known": 0 };
      for (const { child } of servers) {
        let err = "";
        child.stderr!.on("data", (chunk: Buffer) => {
          err += chunk.toString();
          for (let end = err.indexOf("\n"); end >= 0; end = err.indexOf("\n")) {
            const match = /OTP_TOKEN_LOST_COMMIT.*transaction is (committed|not committed|not known)/.exec(err.slice(0, end));
            if (match) lostCommits[match[1] as keyof typeof lostCommits]++;
            err = err.slice(end + 1);
          }
        });
      }
      const counts = { restarts: 0, terminated: 0, killed: 0 };
      /** A backend of the bank's in a transaction on a token, one sending its COMMIT first; null if none within 3 s. */
      const serving = async (): Promise<number | null> => {
        const deadline = Date.now() + 3000;
        while (Date.now() < deadline) {
          const client = new pg.Client({ connectionString: url });
          client.on("error", () => undefined);
          try {
            await client.connect();
            const { rows } = await client.query<{ pid: number }>(
              `SELECT pid FROM pg_stat_activity
                WHERE application_name = 'otp-token bank' AND state IN ('active', 'idle in transaction') AND query LIKE '%tokens%'
                ORDER BY (query LIKE '%commit_ids%' OR query LIKE '%audit_queue%' OR query = 'COMMIT') DESC LIMIT 1`,
            );
            if (rows.length > 0) return rows[0].pid;
          } catch {
            // Recovering from the last crash.
          } finally {
            await client.end().catch(() => undefined);
          }
          await sleep(10);
        }
        return null;
      };
      const chaos = (async () => {
        await sleep(1000);
        // Ten restarts and ten kills, in turn (a kill finds no verification in a transaction now and then: try again).
        for (let i = 0; i < 20 && (counts.restarts < 10 || counts.terminated + counts.killed < 10); i++) {
          if (counts.restarts < 10) {
            await postgres.server.restartImmediate();
            counts.restarts++;
            await sleep(700);
          }
          const pid = await serving();
          if (pid !== null) {
            if ((counts.terminated + counts.killed) % 2 === 0) {
              const admin = new pg.Client({ connectionString: url });
              admin.on("error", () => undefined);
              await admin.connect();
              await admin.query("SELECT pg_terminate_backend($1)", [pid]);
              await admin.end();
              counts.terminated++;
            } else {
              // A server process killed outright: PostgreSQL ends every other one and recovers, as after a crash.
              execFileSync("kill", ["-9", String(pid)]);
              counts.killed++;
            }
          }
          await sleep(700);
        }
        // Recovered: the load goes on a while.
        await sleep(1500);
      })();
      const run = await load(() => bases, key, held, guessed, chaos);
      const store = (await openStore(url)) as PgStore;
      try {
        await store.sealAudit();
        const events = new Map<string, { logins: number; failures: number }>();
        for (const row of (
          await store.pool.query<{ user_id: string; logins: number; failures: number }>(
            `SELECT user_id, count(*) FILTER (WHERE kind = 'login')::int AS logins,
                    count(*) FILTER (WHERE kind IN ('wrong-code', 'replayed', 'locked'))::int AS failures
               FROM events WHERE user_id IS NOT NULL GROUP BY user_id`,
          )
        ).rows)
          events.set(row.user_id, row);
        const tokens = new Map(
          (await store.pool.query("SELECT user_id, last_step, consecutive_failures, last_success_at FROM tokens")).rows.map((r) => [
            r.user_id,
            r,
          ]),
        );
        const checked = check(run, { events, tokens }, held, guessed);
        summary(
          "on PostgreSQL",
          run,
          checked,
          `${counts.restarts} immediate restarts, ${counts.terminated} server processes terminated and ${counts.killed} killed (-9) while serving a verification; ` +
            `COMMIT answers lost ${lostCommits.committed + lostCommits["not committed"] + lostCommits["not known"]} (by the commit id: ` +
            `${lostCommits.committed} committed, ${lostCommits["not committed"]} not committed and run again, ${lostCommits["not known"]} not known, 503)`,
        );
        expect(counts.restarts).toBe(10);
        expect(counts.terminated + counts.killed).toBe(10);
        // The crashes met commits in flight, and the commit id decided them.
        expect(lostCommits.committed + lostCommits["not committed"]).toBeGreaterThan(0);
        expect(checked.accepted).toBeGreaterThan(100);
        expect(checked.counted).toBeGreaterThan(20);
      } finally {
        await store.close();
      }
    },
    300_000,
  );

  it(`SQLite: ${INSTANCES} instances on one file, ${CLIENTS} clients, 10 kills (-9) of an instance under load, each started again`, async () => {
    const file = join(dir, "crash.sqlite");
    const { held, guessed, key } = await makeBank(await openStore(file, { create: true }));
    const args = ["--db", file, "--master-key-file", keyFile, "--throttle-base-seconds", "0", "--rate-limit", "10000000"];
    const servers = await bankServe.startMany(INSTANCES, args);
    let live = servers.map((s) => s.base);
    let killed = 0;
    // Requests the victims had not answered when they were killed (the kills meet requests in flight:
    // each waits, 5 s at most, for one; the clients' own work between requests leaves an instance idle
    // for moments, and a kill then meets only idle keep-alive sockets, which drop nothing).
    let metInFlight = 0;
    const chaos = (async () => {
      await sleep(1000);
      for (let i = 0; i < 10; i++) {
        const victim = servers[i % INSTANCES];
        const exited = new Promise((resolve) => victim.child.once("exit", resolve));
        for (const until = Date.now() + 5000; (inFlight.get(victim.base) ?? 0) === 0 && Date.now() < until; ) await sleep(1);
        metInFlight += inFlight.get(victim.base) ?? 0;
        live = live.filter((base) => base !== victim.base);
        victim.child.kill("SIGKILL");
        await exited;
        killed++;
        servers[i % INSTANCES] = await bankServe.start(args);
        live = servers.map((s) => s.base);
        await sleep(800);
      }
      await sleep(1500);
    })();
    const run = await load(() => live, key, held, guessed, chaos);
    const store = (await openStore(file)) as SqliteStore;
    try {
      const db = store.engine!.db;
      const events = new Map(
        (
          db
            .prepare(
              `SELECT user_id, count(*) FILTER (WHERE kind = 'login') AS logins,
                      count(*) FILTER (WHERE kind IN ('wrong-code', 'replayed', 'locked')) AS failures
                 FROM events WHERE user_id IS NOT NULL GROUP BY user_id`,
            )
            .all() as { user_id: string; logins: number; failures: number }[]
        ).map((r) => [r.user_id, r]),
      );
      const tokens = new Map(
        (
          db.prepare("SELECT user_id, last_step, consecutive_failures, last_success_at FROM tokens").all() as {
            user_id: string;
            last_step: number;
            consecutive_failures: number;
            last_success_at: number | null;
          }[]
        ).map((r) => [r.user_id, r]),
      );
      const checked = check(run, { events, tokens }, held, guessed);
      summary(
        "on SQLite",
        run,
        checked,
        `${killed} instances killed (-9) under load and started again, meeting ${metInFlight} requests in flight`,
      );
      expect(killed).toBe(10);
      // The kills met requests in flight (those not answered before the kill took effect were dropped
      // and sent again elsewhere: run.lost, printed above; check() holds every answer durable).
      expect(metInFlight).toBeGreaterThan(0);
      expect(checked.accepted).toBeGreaterThan(100);
      expect(checked.counted).toBeGreaterThan(20);
    } finally {
      await store.close();
    }
  }, 300_000);
});
