// Verifications per second of the bank (host/bank) on its SQLite store: one process, two processes on
// one database file, and the same store with otpauth doing the code check instead of our wasm core.
// Each verification is a real login: one BEGIN IMMEDIATE transaction that reads the token, opens its
// sealed seed, checks the code (±1 step) and commits the new last step (synchronous = FULL: one fsync).
//
//   npm run build:host && node dist/bench/bank.js [--tokens N] [--rounds N]
//
// Not part of npm test.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as OTPAuth from "otpauth";
import { Bank, type CodeChecker, wasmCodeChecker } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { finishAsToken, startAsToken } from "../host/bank/protocol.js";
import { BankStore } from "../host/bank/store.js";
import { otpApi } from "../host/otp.js";

const KEY_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const START = 1_900_000_000;
const api = otpApi();

interface Holder {
  serviceId: string;
  userId: string;
  seed: Uint8Array;
}

/** The otpauth package as the code check (validate() returns the matched offset or null). */
const otpauthChecker: CodeChecker = (seed, params, code, centerStep, window) => {
  const totp = new OTPAuth.TOTP({ secret: new OTPAuth.Secret({ buffer: seed.slice().buffer }), algorithm: params.algorithm, digits: params.digits, period: params.period });
  const delta = totp.validate({ token: code, timestamp: centerStep * params.period * 1000, window });
  return delta === null ? null : centerStep + delta;
};

const CHECKERS: Record<string, () => CodeChecker> = { wasm: () => wasmCodeChecker(api), otpauth: () => otpauthChecker };

/** Issues, activates and confirms `count` tokens through the real procedure. */
function populate(path: string, count: number): Holder[] {
  let now = START;
  const store = BankStore.open(path);
  const bank = new Bank(store, MasterKey.fromHex(KEY_HEX), { now: () => now });
  const holders: Holder[] = [];
  for (let i = 0; i < count; i++) {
    const { serviceId, userId } = bank.issue({ mail: `u${i}@example.jp`, mailConfirm: `u${i}@example.jp`, password: "bench123", passwordConfirm: "bench123" });
    const session = startAsToken({ serviceId, userId, serial: BigInt(i) }, "bench123", (n) => new Uint8Array(randomBytes(n)));
    const { seed, confirmation } = finishAsToken(session, bank.activate(session.request));
    bank.register(confirmation);
    bank.confirm(serviceId, userId, api.totp(seed, now));
    holders.push({ serviceId, userId, seed });
  }
  store.close();
  return holders;
}

/** Verifies every holder's code once per round (a fresh step each round); returns verifications and ms. */
function verifyRounds(path: string, holders: Holder[], rounds: number, checker: string): { count: number; ms: number } {
  let now = START;
  const store = BankStore.open(path);
  const bank = new Bank(store, MasterKey.fromHex(KEY_HEX), { now: () => now, codeChecker: CHECKERS[checker]() });
  let count = 0;
  let ms = 0;
  for (let round = 1; round <= rounds; round++) {
    now = START + round * 60;
    const codes = holders.map((h) => api.totp(h.seed, now));
    const started = performance.now();
    for (let i = 0; i < holders.length; i++) {
      if (!bank.verify(holders[i].serviceId, holders[i].userId, codes[i]).ok) throw new Error("verification failed");
    }
    ms += performance.now() - started;
    count += holders.length;
  }
  store.close();
  return { count, ms };
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

function copyDb(from: string, to: string): void {
  const store = BankStore.open(from);
  store.db.pragma("wal_checkpoint(TRUNCATE)");
  store.db.exec(`VACUUM INTO '${to.replaceAll("'", "''")}'`);
  store.close();
}

async function twoProcesses(path: string, holders: Holder[], rounds: number, checker: string): Promise<{ loops: number; wall: number }> {
  const halves = [holders.filter((_, i) => i % 2 === 0), holders.filter((_, i) => i % 2 === 1)];
  const self = fileURLToPath(import.meta.url);
  const started = performance.now();
  const results = await Promise.all(
    halves.map(
      (half) =>
        new Promise<{ count: number; ms: number }>((resolve, reject) => {
          const child = fork(self, ["--worker"], { execArgv: [] });
          child.once("message", (m) => resolve(m as { count: number; ms: number }));
          child.once("error", reject);
          child.once("exit", (code) => reject(new Error(`bench worker exited with status ${code}`)));
          child.send({ path, rounds, checker, holders: half.map((h) => ({ ...h, seed: Buffer.from(h.seed).toString("hex") })) });
        }),
    ),
  );
  const wall = performance.now() - started;
  const count = results.reduce((n, r) => n + r.count, 0);
  // Both: per second of the slower worker's verify loops, and per second of wall time including process start.
  return { loops: count / (Math.max(...results.map((r) => r.ms)) / 1000), wall: count / (wall / 1000) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tokens: { type: "string" }, rounds: { type: "string" } } });
  const tokens = Number(values.tokens ?? 1000);
  const rounds = Number(values.rounds ?? 5);
  const dir = mkdtempSync(join(tmpdir(), "otp-bank-bench-"));
  try {
    const template = join(dir, "template.sqlite");
    console.log(`populating ${tokens} tokens through issue/activate/confirm ...`);
    const holders = populate(template, tokens);
    console.log(`node ${process.versions.node}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}; SQLite WAL, synchronous=FULL, ${tokens} tokens x ${rounds} rounds\n`);
    const rows: string[][] = [];
    for (const checker of Object.keys(CHECKERS)) {
      const one = join(dir, `one-${checker}.sqlite`);
      copyDb(template, one);
      const single = verifyRounds(one, holders, rounds, checker);
      const two = join(dir, `two-${checker}.sqlite`);
      copyDb(template, two);
      const parallel = await twoProcesses(two, holders, rounds, checker);
      rows.push([checker, (single.count / (single.ms / 1000)).toFixed(0), `${parallel.loops.toFixed(0)} (${parallel.wall.toFixed(0)} wall)`, checkOnly(holders, rounds, checker).toFixed(0)]);
    }
    const widths = [10, 22, 30, 26];
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("");
    console.log(line(["checker", "verify/s, 1 process", "verify/s, 2 processes", "code check only, per s"]));
    for (const row of rows) console.log(line(row));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes("--worker")) {
  process.once("message", (message) => {
    const { path, rounds, checker, holders } = message as { path: string; rounds: number; checker: string; holders: (Omit<Holder, "seed"> & { seed: string })[] };
    const result = verifyRounds(path, holders.map((h) => ({ ...h, seed: new Uint8Array(Buffer.from(h.seed, "hex")) })), rounds, checker);
    process.send!(result, () => process.exit(0));
  });
} else {
  await main();
}
