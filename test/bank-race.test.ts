// Two PROCESSES verifying the same code against one database file: exactly one may succeed
// (DESIGN.md, "Verifier": "a code is never accepted twice, also when two requests race").
// The workers run the compiled bank (dist/host/bank, built by `npm run build` before `npm test`;
// rebuilt here when older than its sources) so both sides run the real Bank and the real SQL.
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { finishAsToken, startAsToken } from "../host/bank/protocol.js";
import { BankStore } from "../host/bank/store.js";
import { otpApi } from "../host/otp.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST_BANK = join(ROOT, "dist/host/bank");
const KEY_HEX = "8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677";
const ROUNDS = 50;
const START = 1_900_000_000;

/** The compiled bank, rebuilt when any host/bank source is newer (as `npm test` would have). */
function ensureDist(): void {
  const stale = () => {
    const built = join(DIST_BANK, "bank.js");
    if (!existsSync(built)) return true;
    const builtAt = Math.min(...readdirSync(DIST_BANK).filter((f) => f.endsWith(".js")).map((f) => statSync(join(DIST_BANK, f)).mtimeMs));
    return readdirSync(join(ROOT, "host/bank")).some((f) => statSync(join(ROOT, "host/bank", f)).mtimeMs > builtAt);
  };
  if (!stale()) return;
  try {
    execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.build.json")], { stdio: "pipe" });
  } catch {
    // Type errors elsewhere in the tree still emit; what matters is that dist/host/bank is fresh.
  }
  if (stale()) throw new Error("dist/host/bank is missing or older than host/bank: run `npm run build:host`");
}

// Waits for its go-file with a busy loop, so that both workers are released within microseconds.
const WORKER = `
import { existsSync } from "node:fs";
const { Bank, BankStore, MasterKey } = await import(process.env.BANK_MODULE);
const store = BankStore.open(process.env.BANK_DB);
let now = 0;
const bank = new Bank(store, MasterKey.fromHex(process.env.BANK_KEY), { now: () => now });
process.on("message", (message) => {
  if (message.stop) { store.close(); process.disconnect(); return; }
  now = message.now;
  process.send({ ready: message.round });
  while (!existsSync(message.go)) {}
  const started = performance.timeOrigin + performance.now();
  let outcome;
  try {
    const result = bank.verify(message.serviceId, message.userId, message.code);
    outcome = { ok: result.ok, step: result.step };
  } catch (error) {
    outcome = { ok: false, code: error.code ?? String(error) };
  }
  const ended = performance.timeOrigin + performance.now();
  process.send({ round: message.round, started, ended, ...outcome });
});
process.send({ up: true });
`;

describe("bank: two processes racing on one database file", () => {
  let dir: string;
  let workers: ChildProcess[] = [];

  beforeAll(() => {
    ensureDist();
    dir = mkdtempSync(join(tmpdir(), "otp-bank-race-"));
  }, 120_000);

  afterAll(() => {
    for (const worker of workers) if (worker.connected) worker.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`accepts each of ${ROUNDS} codes exactly once when two processes verify it at the same moment`, async () => {
    const dbPath = join(dir, "bank.sqlite");
    const masterKey = MasterKey.fromHex(KEY_HEX);
    let now = START;
    const store = BankStore.open(dbPath);
    const bank = new Bank(store, masterKey, { now: () => now });

    // Set up one active token with the protocol's token half (the independent token reference is in bank.test.ts).
    const issued = bank.issue({ mail: "race@example.jp", mailConfirm: "race@example.jp", password: "race1234", passwordConfirm: "race1234" });
    const session = startAsToken({ serviceId: issued.serviceId, userId: issued.userId, serial: 7n }, "race1234", (n) => new Uint8Array(randomBytes(n)));
    const { seed, confirmation } = finishAsToken(session, bank.activate(session.request));
    bank.register(confirmation);
    const api = otpApi();
    bank.confirm(issued.serviceId, issued.userId, api.totp(seed, now));

    const workerFile = join(dir, "worker.mjs");
    writeFileSync(workerFile, WORKER);
    const env = { ...process.env, BANK_MODULE: pathToFileURL(join(DIST_BANK, "index.js")).href, BANK_DB: dbPath, BANK_KEY: KEY_HEX };
    workers = [0, 1].map(() => fork(workerFile, [], { env, execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] }));
    const next = (worker: ChildProcess) => new Promise<Record<string, unknown>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`race worker exited with ${code}`));
      worker.once("exit", onExit);
      worker.once("message", (message) => {
        worker.off("exit", onExit);
        resolve(message as Record<string, unknown>);
      });
    });
    await Promise.all(workers.map(next));

    let overlapping = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      now = START + round * 60;
      const go = join(dir, `go-${round}`);
      const message = { round, now, go, serviceId: issued.serviceId, userId: issued.userId, code: api.totp(seed, now) };
      const ready = workers.map(next);
      for (const worker of workers) worker.send(message);
      await Promise.all(ready);
      const results = workers.map(next);
      writeFileSync(go, "");
      const [a, b] = (await Promise.all(results)) as { ok: boolean; code?: string; step?: number; started: number; ended: number }[];
      if (a.started < b.ended && b.started < a.ended) overlapping++;
      const winners = [a, b].filter((r) => r.ok);
      expect(winners, `round ${round}: ${JSON.stringify([a, b])}`).toHaveLength(1);
      expect([a, b].find((r) => !r.ok)!.code).toBe("replayed");
      expect(winners[0].step).toBe(Math.floor(now / 60));
    }
    for (const worker of workers) worker.send({ stop: true });
    expect(bank.status(issued.serviceId, issued.userId).token).toMatchObject({ lastStep: Math.floor((START + ROUNDS * 60) / 60), locked: false });
    // How often the two calls really ran at the same time (the lock serialised them; both waited on it).
    console.log(`bank race: ${overlapping}/${ROUNDS} rounds had the two verifications overlapping in time`);
    store.close();
  }, 120_000);
});
