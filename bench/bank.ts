// Verifications per second of the bank (host/bank), synchronous = FULL (one fsync per commit):
//   - in process, the store on the calling thread and on its worker thread, with our wasm code check
//     and with otpauth's;
//   - through the HTTP API (host/bank/service.ts: fastify, API-key authentication, rate limit), one
//     and two server processes on one database file, 16 clients, with p50/p99 latency;
// and an activation soak: 20,000 CPace activations of one issue in one process, each registered (the
// token's half and the bank's: @noble/curves X25519 and Elligator 2, three transactions; a watchdog
// fails the bench if one activation takes over 30 s, as it once hung Node 20's X25519 key export).
// Each verification is a real login: one transaction that reads the token, opens its sealed seed,
// checks the code (±1 step) and commits the new last step.
//
//   npm run build:host && node dist/bench/bank.js [--tokens N] [--rounds N] [--activations N]
//
// Not part of npm test.
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as OTPAuth from "otpauth";
import { Bank, type CodeChecker, wasmCodeChecker } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { randomBytes } from "node:crypto";
import { finishAsToken, startAsToken } from "../host/bank/protocol.js";
import { createService } from "../host/bank/service.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import { openStore } from "../host/bank/open-store.js";
import { otpApi } from "../host/otp.js";
import { post } from "./http-client.js";

const KEY_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const BENCH_KEY = "otpw_bench-key-not-secret";
const START = 1_900_000_000;
const CLIENTS = 16;
const api = otpApi();

interface Holder {
  userId: string;
  seed: Uint8Array;
}

/** The otpauth package as the code check (validate() returns the matched offset or null). */
const otpauthChecker: CodeChecker = (seed, params, code, centerStep, window) => {
  const totp = new OTPAuth.TOTP({
    secret: new OTPAuth.Secret({ buffer: seed.slice().buffer }),
    algorithm: params.algorithm,
    digits: params.digits,
    period: params.period,
  });
  const delta = totp.validate({ token: code, timestamp: centerStep * params.period * 1000, window });
  return delta === null ? null : centerStep + delta;
};

const CHECKERS: Record<string, () => CodeChecker> = { wasm: () => wasmCodeChecker(api), otpauth: () => otpauthChecker };

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Issues, activates and confirms `count` tokens through the real procedure. */
async function populate(path: string, count: number): Promise<Holder[]> {
  const now = START;
  const store = await openStore(path, { create: true });
  const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => now });
  await bank.updateSettings({ serviceId: "10212083" });
  const holders: Holder[] = [];
  for (let i = 0; i < count; i++) {
    const { serviceId, userId } = await bank.issue({
      mail: `u${i}@example.jp`,
      mailConfirm: `u${i}@example.jp`,
      password: "bench123",
      passwordConfirm: "bench123",
    });
    const session = startAsToken({ serviceId, userId, serial: BigInt(i) }, "bench123", (n) => new Uint8Array(randomBytes(n)));
    const { seed, confirmation } = finishAsToken(session, (await bank.activate(session.request)).response);
    await bank.register(confirmation);
    await bank.confirm(userId, api.totp(seed, now));
    holders.push({ userId, seed });
  }
  await store.close();
  return holders;
}

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

/** Verifies every holder's code once per round (a fresh step each round), `CLIENTS` at a time. */
async function verifyInProcess(
  path: string,
  holders: Holder[],
  rounds: number,
  checker: string,
  thread: "inline" | "worker",
): Promise<Figures> {
  let now = START;
  const store = await openStore(path, { thread });
  const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => now, codeChecker: CHECKERS[checker]() });
  const latencies: number[] = [];
  let ms = 0;
  for (let round = 1; round <= rounds; round++) {
    now = START + round * 60;
    const codes = holders.map((h) => api.totp(h.seed, now));
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: thread === "inline" ? 1 : CLIENTS }, async () => {
        while (next < holders.length) {
          const i = next++;
          const t = performance.now();
          if (!(await bank.verify(holders[i].userId, codes[i])).ok) throw new Error("verification failed");
          latencies.push(performance.now() - t);
        }
      }),
    );
    ms += performance.now() - started;
  }
  await store.close();
  latencies.sort((a, b) => a - b);
  return { perSecond: latencies.length / (ms / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** A server process (this file with --server): the real service over the database, its clock set by the bench. */
async function serverProcess(path: string): Promise<void> {
  let now = START;
  const store = await openStore(path, { thread: "worker" });
  const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => now });
  const app = await createService({ bank, rateLimit: 10_000_000, memoryKeys: [{ key: BENCH_KEY, scope: "login", actor: "bench" }] });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  process.on("message", (message: { now?: number; stop?: boolean }) => {
    if (message.stop) {
      void app
        .close()
        .then(() => store.close())
        .then(() => process.exit(0));
      return;
    }
    now = message.now!;
    process.send!({ now });
  });
  process.send!({ port: typeof address === "object" && address ? address.port : 0 });
}

function startServer(path: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ["--server", path], { execArgv: [] });
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`bench server exited with status ${code}`)));
  });
}

const tell = (child: ChildProcess, now: number) =>
  new Promise<void>((resolve) => {
    child.once("message", () => resolve());
    child.send({ now });
  });

/** Verifications through the HTTP API on `servers` processes sharing one database file. */
async function verifyOverHttp(path: string, holders: Holder[], rounds: number, servers: number): Promise<Figures> {
  const started = await Promise.all(Array.from({ length: servers }, () => startServer(path)));
  const latencies: number[] = [];
  let ms = 0;
  try {
    for (let round = 1; round <= rounds; round++) {
      const now = START + round * 60;
      await Promise.all(started.map((s) => tell(s.child, now)));
      const codes = holders.map((h) => api.totp(h.seed, now));
      const begun = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          const { port } = started[client % servers];
          while (next < holders.length) {
            const i = next++;
            const t = performance.now();
            const response = await post(port, `/v1/tokens/${holders[i].userId}/verify`, BENCH_KEY, { code: codes[i] });
            if (!(response.body as { accepted?: boolean }).accepted)
              throw new Error(`verification over HTTP failed: ${response.status} ${JSON.stringify(response.body)}`);
            latencies.push(performance.now() - t);
          }
        }),
      );
      ms += performance.now() - begun;
    }
  } finally {
    for (const s of started) s.child.send({ stop: true });
    await Promise.all(
      started.map((s) => new Promise((resolve) => (s.child.exitCode !== null ? resolve(null) : s.child.once("exit", resolve)))),
    );
  }
  latencies.sort((a, b) => a - b);
  return { perSecond: latencies.length / (ms / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** The code check alone, no database: the same checker on the same seeds. */
function checkOnly(holders: Holder[], rounds: number, checker: string): number {
  const check = CHECKERS[checker]();
  const params = { algorithm: "SHA1" as const, digits: 6, period: 60, label: "BANK" };
  let count = 0;
  const started = performance.now();
  for (let round = 1; round <= rounds; round++) {
    const step = Math.floor(START / 60) + round;
    for (const h of holders) {
      if (check(h.seed, params, api.totp(h.seed, step * 60), step, 1) !== step) throw new Error("check failed");
      count++;
    }
  }
  return count / ((performance.now() - started) / 1000);
}

/** A copy of the template database (WAL checkpointed, VACUUM INTO). */
async function copyDb(from: string, to: string): Promise<void> {
  const store = (await openStore(from)) as SqliteStore;
  store.engine!.db.pragma("wal_checkpoint(TRUNCATE)");
  store.engine!.db.exec(`VACUUM INTO '${to.replaceAll("'", "''")}'`);
  await store.close();
}

/**
 * `count` activations of one issue in one process (each a fresh CPace run: a retry replaces the
 * pending token), through Bank.activate and Bank.register, the token's half by protocol.ts's
 * startAsToken/finishAsToken. A watchdog fails the run if one activation takes more than 30 s.
 */
async function activationSoak(count: number): Promise<{ count: number; seconds: number }> {
  let now = START;
  const store = await openStore(":memory:", { create: true });
  const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => now, issueTtlSeconds: 30 * 86400 });
  await bank.updateSettings({ serviceId: "10212083" });
  const { serviceId, userId } = await bank.issue({
    mail: "soak@example.jp",
    mailConfirm: "soak@example.jp",
    password: "soak1234",
    passwordConfirm: "soak1234",
  });
  let last = performance.now();
  const watchdog = setInterval(() => {
    if (performance.now() - last > 30_000) {
      console.error("activation soak: one activation took more than 30 s: the process hangs");
      process.exit(1);
    }
  }, 1000);
  const started = performance.now();
  try {
    for (let i = 0; i < count; i++) {
      const session = startAsToken({ serviceId, userId, serial: BigInt(i) }, "soak1234", (n) => new Uint8Array(randomBytes(n)));
      const { seed, confirmation } = finishAsToken(session, (await bank.activate(session.request)).response);
      seed.fill(0);
      // The token's confirmation takes the counted attempt back (else the issue is void after 5).
      await bank.register(confirmation);
      last = performance.now();
      if (i % 1000 === 999) now += 1;
    }
  } finally {
    clearInterval(watchdog);
    await store.close();
  }
  return { count, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tokens: { type: "string" }, rounds: { type: "string" }, activations: { type: "string" } } });
  const tokens = Number(values.tokens ?? 1000);
  const rounds = Number(values.rounds ?? 3);
  const activations = Number(values.activations ?? 20_000);
  const dir = mkdtempSync(join(tmpdir(), "otp-bank-bench-"));
  try {
    const template = join(dir, "template.sqlite");
    console.log(`populating ${tokens} tokens through issue/activate/confirm ...`);
    const holders = await populate(template, tokens);
    console.log(
      `node ${process.versions.node}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}; SQLite WAL, synchronous=FULL, ${tokens} tokens x ${rounds} rounds, ${CLIENTS} concurrent clients\n`,
    );
    const rows: string[][] = [];
    const row = (name: string, f: Figures, note = "") =>
      rows.push([name, f.perSecond.toFixed(0), f.p50.toFixed(2), f.p99.toFixed(2), note]);
    let n = 0;
    const fresh = async () => {
      const path = join(dir, `run-${n++}.sqlite`);
      await copyDb(template, path);
      return path;
    };
    for (const checker of Object.keys(CHECKERS)) {
      row(
        `in process, ${checker}, calling thread`,
        await verifyInProcess(await fresh(), holders, rounds, checker, "inline"),
        `code check alone ${checkOnly(holders, rounds, checker).toFixed(0)}/s`,
      );
    }
    row("in process, wasm, worker thread", await verifyInProcess(await fresh(), holders, rounds, "wasm", "worker"));
    row("HTTP API, 1 process", await verifyOverHttp(await fresh(), holders, rounds, 1));
    row("HTTP API, 2 processes, one file", await verifyOverHttp(await fresh(), holders, rounds, 2));
    const widths = [34, 12, 10, 10, 30];
    const line = (cells: string[]) =>
      cells.map((c, i) => (i === 0 || i === 4 ? `  ${c}`.padEnd(widths[i]) : c.padStart(widths[i]))).join("");
    console.log(line(["verifications", "per second", "p50 ms", "p99 ms", ""]));
    for (const r of rows) console.log(line(r));
    console.log(`\nactivation soak: ${activations} activations in one process ...`);
    const soak = await activationSoak(activations);
    console.log(
      `activation soak: ${soak.count} activations in ${soak.seconds.toFixed(1)} s (${(soak.count / soak.seconds).toFixed(0)}/s), no hang`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const serverAt = process.argv.indexOf("--server");
if (serverAt >= 0) await serverProcess(process.argv[serverAt + 1]);
else await main();
