// Verifications through the HTTP API (host/bank/service.ts, a stored API key checked on every request)
// with durable commits on both stores: SQLite synchronous=FULL, one instance; PostgreSQL
// synchronous_commit=on (its default, fsync on) with 1, 2 and 4 instances; 1, 8 and 32 concurrent
// clients; 10,000 and 1,000,000 tokens in the table. PostgreSQL is started by the bench
// (bench/postgres-server.ts) and stopped at its end.
//
// Each verification is a real login of a distinct token: one transaction that reads and locks the
// token, opens its sealed seed, checks the code (±1 step), records the success and appends the audit
// event. Every cell runs at its own bank time (a fresh step), so no code is a replay.
//
// The big tables are written directly (customers by generate_series, tokens in batches of sealed seeds
// through unnest), not through issue/activate/confirm: the rows are the ones the procedure writes.
//
//   npm run build:host && node dist/bench/bank-instances.js [--tokens 10000,1000000] [--seconds 2.5] [--key-cache-seconds 2]
//   BENCH_CPU_PROF=DIR (environment): each server process writes a V8 CPU profile into DIR at its exit
//   (also the servers of bench/bank-capacity.ts); `node dist/bench/cpu-profile.js FILE` summarises one.
//
// Not part of npm test.
import { type ChildProcess, fork } from "node:child_process";
import { createHmac } from "node:crypto";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Bank } from "../host/bank/bank.js";
import { aad, MasterKey } from "../host/bank/crypto.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import { createService } from "../host/bank/service.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import type { BankStore } from "../host/bank/store.js";
import { openStore } from "../host/bank/open-store.js";
import { makeUserId } from "../host/identity.js";
import { otpApi } from "../host/otp.js";
import { post } from "./http-client.js";
import { type PgServer, postgresMissing, startPostgres } from "./postgres-server.js";

const KEY_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const SEED_KEY = "bench seeds, not secret";
const SERVICE_ID = "10212083";
export const START = 1_900_000_020;
export const PERIOD = 60;
const BATCH = 20_000;
/** Verifications/s of SQLite FULL at 32 clients when issue 21 was filed (one fsync per verification): its goal is 3x. */
const ISSUE_21_SQLITE_RATE = 900;
const api = otpApi();

/** The bench's token i: its User ID, serial and (derived, so 1,000,000 need not be kept) seed. */
export const userIdOf = (i: number) => makeUserId(SERVICE_ID, String(i + 1).padStart(7, "0"), 1);
const serialOf = (i: number) => (i + 1).toString(16).toUpperCase().padStart(16, "0");
export const seedOf = (i: number) => createHmac("sha1", SEED_KEY).update(String(i)).digest();

export interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
  count: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `count` tokens written directly: customers 1..count, token i for customer i + 1, its seed sealed as the bank seals it. */
async function seedTokens(store: BankStore, masterKey: MasterKey, count: number): Promise<void> {
  const lastStep = Math.floor(START / PERIOD) - 1;
  const expires = START + 10 * 365 * 86400;
  if (store.kind === "postgres") {
    const pool = (store as PgStore).pool;
    await pool.query(
      "INSERT INTO customers (customer_id, customer_number, issues_made, created_at) SELECT g, lpad(g::text, 7, '0'), 1, $2 FROM generate_series(1, $1) g",
      [count, START],
    );
    await pool.query(`ALTER TABLE customers ALTER COLUMN customer_id RESTART WITH ${count + 1}`);
    for (let from = 0; from < count; from += BATCH) {
      const ids: number[] = [];
      const users: string[] = [];
      const serials: string[] = [];
      const seeds: Buffer[] = [];
      for (let i = from; i < Math.min(from + BATCH, count); i++) {
        ids.push(i + 1);
        users.push(userIdOf(i));
        serials.push(serialOf(i));
        seeds.push(Buffer.from(masterKey.seal(seedOf(i), aad.seed(SERVICE_ID, userIdOf(i), serialOf(i)))));
      }
      await pool.query(
        `INSERT INTO tokens (user_id, customer_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, activated_at, expires_at)
         SELECT u, c, $5, s, k, 'SHA1', 6, ${PERIOD}, 'BANK', 0, $6, $7, $8 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bytea[]) AS t(u, c, s, k)`,
        [users, ids, serials, seeds, SERVICE_ID, lastStep, START, expires],
      );
    }
    await pool.query("VACUUM ANALYZE customers");
    await pool.query("VACUUM ANALYZE tokens");
    return;
  }
  const db = (store as SqliteStore).engine!.db;
  const customer = db.prepare("INSERT INTO customers (customer_id, customer_number, issues_made, created_at) VALUES (?, ?, 1, ?)");
  const token = db.prepare(
    `INSERT INTO tokens (user_id, customer_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, activated_at, expires_at)
     VALUES (?, ?, ?, ?, ?, 'SHA1', 6, ${PERIOD}, 'BANK', 0, ?, ?, ?)`,
  );
  for (let from = 0; from < count; from += BATCH) {
    db.transaction(() => {
      for (let i = from; i < Math.min(from + BATCH, count); i++) {
        customer.run(i + 1, String(i + 1).padStart(7, "0"), START);
        token.run(
          userIdOf(i),
          i + 1,
          SERVICE_ID,
          serialOf(i),
          masterKey.seal(seedOf(i), aad.seed(SERVICE_ID, userIdOf(i), serialOf(i))),
          lastStep,
          START,
          expires,
        );
      }
    })();
  }
  db.exec("ANALYZE");
}

/** A server process (this file with --server): the real service over the store, its clock set by the bench, a stored API key. */
async function serverProcess(db: string, keyCacheSeconds: number, poolSize: number | undefined, groupCommit: boolean): Promise<void> {
  let now = START;
  const store = await openStore(db, { thread: "worker", poolSize, groupCommit });
  const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => now, actor: "bench", apiKeyCacheSeconds: keyCacheSeconds });
  const app = await createService({ bank, rateLimit: 100_000_000 });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  process.on("message", (message: { now?: number; stop?: boolean; groupStats?: boolean }) => {
    if (message.groupStats) {
      const stats = store.kind === "sqlite" ? (store as SqliteStore).groupCommitStats() : (store as PgStore).groupCommitStats();
      void stats.then((group) => process.send!({ group }));
      return;
    }
    if (message.stop) {
      const sealing = store.kind === "postgres" ? (store as PgStore).sealing : null;
      void app
        .close()
        .then(() => (store.kind === "sqlite" ? (store as SqliteStore).groupCommitStats() : (store as PgStore).groupCommitStats()))
        .then(async (group) => {
          await store.close();
          process.send!({ sealing, group }, () => process.exit(0));
        });
      return;
    }
    now = message.now!;
    process.send!({ now });
  });
  process.send!({ port: typeof address === "object" && address ? address.port : 0 });
}

export interface Server {
  child: ChildProcess;
  port: number;
}

/**
 * The server's node options: none, or with BENCH_CPU_PROF=DIR in the environment a V8 CPU profile of
 * each server process written into DIR when it exits (a .cpuprofile: open it in Chrome's DevTools, or
 * summarise it with `node dist/bench/cpu-profile.js DIR/*.cpuprofile`).
 */
export function serverExecArgv(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

export function startServer(db: string, keyCacheSeconds: number, poolSize?: number, groupCommit = true): Promise<Server> {
  const child = fork(
    fileURLToPath(import.meta.url),
    ["--server", db, String(keyCacheSeconds), String(poolSize ?? ""), groupCommit ? "group" : "single"],
    { execArgv: serverExecArgv() },
  );
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`bench server exited with status ${code}`)));
  });
}

/** The SQLite server's group-commit figures so far (COMMITs, answers they held). */
const groupStats = (child: ChildProcess) =>
  new Promise<{ commits: number; held: number; messages?: number }>((resolve) => {
    child.once("message", (m) => resolve((m as { group: { commits: number; held: number; messages?: number } }).group));
    child.send({ groupStats: true });
  });

const tell = (child: ChildProcess, now: number) =>
  new Promise<void>((resolve) => {
    child.once("message", () => resolve());
    child.send({ now });
  });

export async function stopServers(servers: Server[]): Promise<{ sealed: number; batches: number; commits: number; held: number }> {
  const totals = { sealed: 0, batches: 0, commits: 0, held: 0 };
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.child.once("message", (m) => {
            const { sealing, group } = m as {
              sealing?: { sealed: number; batches: number } | null;
              group?: { commits: number; held: number } | null;
            };
            if (group) {
              totals.commits += group.commits;
              totals.held += group.held;
            }
            if (sealing) {
              totals.sealed += sealing.sealed;
              totals.batches += sealing.batches;
            }
          });
          s.child.once("exit", () => resolve());
          s.child.send({ stop: true });
        }),
    ),
  );
  return totals;
}

let cellNumber = 0;

/**
 * `clients` concurrent clients spread over the servers, each verifying distinct tokens (a stride
 * through the whole table from a random start) for `seconds`, at a bank time of its own.
 */
export async function runCell(servers: Server[], apiKey: string, tokens: number, clients: number, seconds: number): Promise<Figures> {
  const now = START + ++cellNumber * PERIOD;
  await Promise.all(servers.map((s) => tell(s.child, now)));
  const stride = 7919; // prime, so i * stride covers every token once before repeating
  const offset = Math.floor(Math.random() * tokens);
  const latencies: number[] = [];
  let next = 0;
  const begun = performance.now();
  const deadline = begun + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const { port } = servers[client % servers.length];
      while (performance.now() < deadline && next < tokens) {
        const i = (offset + next++ * stride) % tokens;
        const code = api.totp(seedOf(i), now);
        const t = performance.now();
        const response = await post(port, `/v1/tokens/${userIdOf(i)}/verify`, apiKey, { code });
        if (!(response.body as { accepted?: boolean }).accepted)
          throw new Error(`verification over HTTP failed: ${response.status} ${JSON.stringify(response.body)}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const ms = performance.now() - begun;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / (ms / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    count: latencies.length,
  };
}

interface Row {
  store: string;
  instances: number;
  clients: number;
  tokens: number;
  figures: Figures;
  /** The 1-minute load average when the cell ended (other work on the machine shows here). */
  load: number;
  note: string;
}

const HEADER = ["store", "instances", "clients", "tokens", "verif./s", "p50 ms", "p99 ms", "load", ""];
const WIDTHS = [14, 10, 9, 11, 10, 9, 9, 6, 40];
const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 8 ? `  ${c}`.padEnd(WIDTHS[i]) : c.padStart(WIDTHS[i]))).join("");
const rowLine = (r: Row) =>
  line([
    r.store,
    String(r.instances),
    String(r.clients),
    r.tokens.toLocaleString("en"),
    r.figures.perSecond.toFixed(0),
    r.figures.p50.toFixed(2),
    r.figures.p99.toFixed(2),
    r.load.toFixed(1),
    r.note,
  ]);

export async function prepare(db: string, tokens: number): Promise<{ apiKey: string; depth: string }> {
  const masterKey = MasterKey.fromHex(KEY_HEX);
  const store = await openStore(db, { create: true });
  try {
    const bank = await Bank.open(store, masterKey, { now: () => START });
    await bank.updateSettings({ serviceId: SERVICE_ID });
    const started = performance.now();
    await seedTokens(store, masterKey, tokens);
    const { key } = await bank.createApiKey("login", "bench");
    let depth = "";
    if (store.kind === "postgres") {
      const pool = (store as PgStore).pool;
      await pool.query("CREATE EXTENSION IF NOT EXISTS pageinspect");
      const { rows } = await pool.query<{ level: number }>("SELECT level FROM bt_metap('tokens_pkey')");
      depth = `tokens_pkey depth ${rows[0].level + 1}`;
    } else {
      // SQLite's B-tree depth is not exposed; its pages per level follow from the row count.
      depth = "";
    }
    console.log(
      `  ${store.kind}: ${tokens.toLocaleString("en")} tokens written in ${((performance.now() - started) / 1000).toFixed(1)} s${depth ? `; ${depth}` : ""}`,
    );
    return { apiKey: key, depth };
  } finally {
    await store.close();
  }
}

/** Median milliseconds of a 4 KiB write and its fsync in `dir` (the disk under SQLite's COMMITs). */
function fsyncLatency(dir: string, times = 200): number {
  const path = join(dir, "fsync-probe");
  const fd = openSync(path, "w");
  const block = Buffer.alloc(4096, 1);
  const took: number[] = [];
  try {
    for (let i = 0; i < times; i++) {
      const t = performance.now();
      writeSync(fd, block, 0, block.length, (i % 16) * block.length);
      fsyncSync(fd);
      took.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  took.sort((a, b) => a - b);
  return took[Math.floor(took.length / 2)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tokens: { type: "string" },
      seconds: { type: "string" },
      "key-cache-seconds": { type: "string" },
      instances: { type: "string" },
      clients: { type: "string" },
      pool: { type: "string" },
      stores: { type: "string" },
      repeat: { type: "string" },
    },
  });
  // SQLite cells run this many times each, alternating with and without group commit (the goal compares medians).
  const repeat = Number(values.repeat ?? 3);
  const stores = (values.stores ?? "sqlite,postgres").split(",");
  const list = (text: string | undefined, fallback: string) => (text ?? fallback).split(",").map(Number);
  const tokenCounts = list(values.tokens, "10000,1000000");
  const instanceCounts = list(values.instances, "1,2,4");
  const clientCounts = list(values.clients, "1,8,32");
  const seconds = Number(values.seconds ?? 2.5);
  const keyCache = Number(values["key-cache-seconds"] ?? 2);
  const pool = values.pool === undefined ? undefined : Number(values.pool);
  const missing = stores.includes("postgres") ? postgresMissing() : null;
  if (missing) {
    console.log(`bank instances bench: skipped, ${missing}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "otp-bank-instances-"));
  const fsyncMs = fsyncLatency(dir);
  let pg: PgServer | null = null;
  const rows: Row[] = [];
  const record = (row: Row) => {
    rows.push(row);
    console.log(rowLine(row));
  };
  try {
    if (stores.includes("postgres")) {
      console.log("starting PostgreSQL (fsync on, synchronous_commit on) ...");
      pg = await startPostgres({ durable: true, settings: { max_wal_size: "4GB", shared_buffers: "256MB" } });
    }
    console.log(
      `node ${process.versions.node}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}; ${seconds} s per cell; API-key rows cached ${keyCache} s; ` +
        `PostgreSQL pool ${pool ?? "default"} per instance; every server, PostgreSQL and the clients on this machine\n`,
    );
    for (const tokens of tokenCounts) {
      const sqlitePath = join(dir, `bank-${tokens}.sqlite`);
      console.log(line(HEADER));
      if (stores.includes("sqlite")) {
        const sqlite = await prepare(sqlitePath, tokens);
        // Side by side, each client count: one COMMIT (fsync) per transaction as before group commit, then grouped.
        const single = [await startServer(sqlitePath, keyCache, undefined, false)];
        const grouped = [await startServer(sqlitePath, keyCache)];
        try {
          // One unrecorded second each first: a server's first cell ran at a third to a half of its later ones (JIT, caches).
          for (const servers of [single, grouped]) await runCell(servers, sqlite.apiKey, tokens, Math.max(...clientCounts), 1);
          for (const clients of clientCounts)
            for (let round = 0; round < repeat; round++)
              for (const [store, servers] of [
                ["SQLite FULL 1/tx", single],
                ["SQLite FULL", grouped],
              ] as const) {
                const before = await groupStats(servers[0].child);
                const figures = await runCell(servers, sqlite.apiKey, tokens, clients, seconds);
                const after = await groupStats(servers[0].child);
                const commits = after.commits - before.commits;
                const answers = after.held - before.held;
                const messages = (after.messages ?? 0) - (before.messages ?? 0);
                const note =
                  commits > 0
                    ? `${(answers / commits).toFixed(1)} answers per COMMIT, ${(messages / answers).toFixed(2)} worker messages per answer`
                    : "";
                record({ store, instances: 1, clients, tokens, figures, load: loadavg()[0], note });
              }
        } finally {
          await stopServers(single);
          const group = await stopServers(grouped);
          if (group.commits > 0)
            console.log(`  (SQLite group commit: ${(group.held / group.commits).toFixed(1)} answers per COMMIT, ${group.commits} COMMITs)`);
        }
        rmSync(sqlitePath, { force: true });
      }
      if (!pg) continue;
      const database = `bench_${tokens}`;
      pg.createDatabase(database);
      const url = pg.url(database);
      const postgres = await prepare(url, tokens);
      for (const instances of instanceCounts) {
        const servers = await Promise.all(Array.from({ length: instances }, () => startServer(url, keyCache, pool)));
        try {
          for (const clients of clientCounts) {
            const figures = await runCell(servers, postgres.apiKey, tokens, clients, seconds);
            const note = instances === 1 && clients === clientCounts[0] && postgres.depth ? postgres.depth : "";
            record({ store: "PostgreSQL", instances, clients, tokens, figures, load: loadavg()[0], note });
          }
        } finally {
          const sealing = await stopServers(servers);
          if (sealing.batches > 0)
            console.log(
              `  (audit sealer of these ${instances} instance${instances === 1 ? "" : "s"}: ${(sealing.sealed / sealing.batches).toFixed(1)} rows per sealing transaction)`,
            );
        }
      }
    }
  } finally {
    pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log("\nGoals");
  const find = (store: string, instances: number, clients: number, tokens: number) =>
    rows.find((r) => r.store === store && r.instances === instances && r.clients === clients && r.tokens === tokens)?.figures;
  for (const tokens of tokenCounts) {
    const median = (store: string, clients: number) => {
      const rates = rows
        .filter((r) => r.store === store && r.clients === clients && r.tokens === tokens)
        .map((r) => r.figures.perSecond)
        .sort((a, b) => a - b);
      return rates.length === 0 ? null : { rate: rates[Math.floor(rates.length / 2)], of: rates.length };
    };
    if (rows.some((r) => r.store === "SQLite FULL 1/tx" && r.tokens === tokens))
      console.log(
        `  (one 4 KiB write + fsync in the bench's directory: ${fsyncMs.toFixed(3)} ms median: what one COMMIT per transaction pays at least; ` +
          `where it is this short, the path's CPU bounds one COMMIT per transaction as much as its fsync does)`,
      );
    for (const clients of [...new Set(clientCounts)].filter((c) => c >= 32)) {
      const before = median("SQLite FULL 1/tx", clients);
      const after = median("SQLite FULL", clients);
      if (!before || !after) continue;
      const ratio = after.rate / before.rate;
      console.log(
        `  ${tokens.toLocaleString("en")} tokens: SQLite FULL group commit, ${clients} clients: ${after.rate.toFixed(0)}/s = ${ratio.toFixed(2)}x ` +
          `one COMMIT per transaction (${before.rate.toFixed(0)}/s; medians of ${after.of}, alternating, same run): ${ratio >= 3 ? "PASS" : "FAIL"} (goal >= 3x)`,
      );
      const issue = after.rate / ISSUE_21_SQLITE_RATE;
      console.log(
        `  ${tokens.toLocaleString("en")} tokens: SQLite FULL, ${clients} clients: ${after.rate.toFixed(0)}/s = ${issue.toFixed(2)}x the ${ISSUE_21_SQLITE_RATE}/s ` +
          `issue 21 measured (one fsync per verification): ${issue >= 3 ? "PASS" : "FAIL"} (goal >= 3x)`,
      );
    }
    const sqlite = rows.filter((r) => r.store === "SQLite FULL" && r.tokens === tokens);
    if (sqlite.length === 0) continue;
    const best = sqlite.reduce((a, b) => (b.figures.perSecond > a.figures.perSecond ? b : a));
    const wide = find("PostgreSQL", Math.max(...instanceCounts), Math.max(...clientCounts), tokens);
    const single = find("PostgreSQL", 1, Math.max(...clientCounts), tokens);
    if (!wide || !single) continue;
    const ratio = wide.perSecond / best.figures.perSecond;
    console.log(
      `  ${tokens.toLocaleString("en")} tokens: PostgreSQL ${Math.max(...instanceCounts)} instances x ${Math.max(...clientCounts)} clients ${wide.perSecond.toFixed(0)}/s = ` +
        `${ratio.toFixed(2)}x SQLite FULL's best single instance (${best.figures.perSecond.toFixed(0)}/s at ${best.clients} clients): ${ratio >= 5 ? "PASS" : "MISS"} (goal >= 5x); ` +
        `PostgreSQL 1 instance x ${Math.max(...clientCounts)} clients ${(single.perSecond / best.figures.perSecond).toFixed(2)}x`,
    );
  }
  if (tokenCounts.length >= 2 && pg) {
    const [small, big] = [Math.min(...tokenCounts), Math.max(...tokenCounts)];
    for (const clients of clientCounts) {
      const at = (tokens: number) => find("PostgreSQL", 1, clients, tokens)!.p50;
      console.log(
        `  PostgreSQL 1 instance, ${clients} client${clients === 1 ? "" : "s"}: p50 ${at(small).toFixed(2)} ms at ${small.toLocaleString("en")} tokens, ` +
          `${at(big).toFixed(2)} ms at ${big.toLocaleString("en")} (${(at(big) / at(small)).toFixed(2)}x)`,
      );
    }
  }
}

const serverAt = process.argv.indexOf("--server");
const imported = process.argv[1] !== fileURLToPath(import.meta.url); // bench/bank-capacity.ts uses the servers and cells
if (serverAt >= 0)
  await serverProcess(
    process.argv[serverAt + 1],
    Number(process.argv[serverAt + 2]),
    Number(process.argv[serverAt + 3]) || undefined,
    process.argv[serverAt + 4] !== "single",
  );
else if (!imported) await main();
