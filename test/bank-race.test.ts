// Two PROCESSES verifying the same code against one database file: exactly one may succeed (a code is
// never accepted twice, also when two requests race). First two processes running the Bank itself,
// released within microseconds of each other; then two real `otp-token bank serve` processes, with
// several clients each sending the same code to both at once.
// The child processes run the compiled code (dist/, built by `npm run build` before `npm test`;
// rebuilt here when older than its sources) so they run the real Bank, the real SQL and the real CLI.
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { finishAsToken, startAsToken } from "../host/bank/protocol.js";
import { openStore } from "../host/bank/open-store.js";
import { otpApi } from "../host/otp.js";
import { startBankServe } from "./bank-helpers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const KEY_HEX = "8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677";
const ROUNDS = 50;
const SERVE_ROUNDS = 30;
const START = 1_900_000_000;
const api = otpApi();

/** Every host/**.ts with its dist/ .js; true when one is missing or older. */
function distStale(): boolean {
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? walk(join(folder, entry.name))
        : entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")
          ? [join(folder, entry.name)]
          : [],
    );
  return walk(join(ROOT, "host")).some((source) => {
    const built = join(ROOT, "dist", relative(ROOT, source)).replace(/\.ts$/, ".js");
    return !existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs;
  });
}

/** The compiled host/, rebuilt when any source is newer (as `npm test` would have). */
function ensureDist(): void {
  if (!distStale()) return;
  try {
    execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.build.json")], {
      stdio: "pipe",
    });
  } catch {
    // Type errors elsewhere in the tree still emit; what matters is that dist/host is fresh.
  }
  if (distStale()) throw new Error("dist/host is missing or older than host/: run `npm run build:host`");
}

/** Issues, activates and confirms `count` tokens; returns their User IDs and seeds. */
async function tokens(bank: Bank, count: number, now: () => number): Promise<{ userId: string; seed: Uint8Array }[]> {
  const out: { userId: string; seed: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const issued = await bank.issue({
      mail: `race${i}@example.jp`,
      mailConfirm: `race${i}@example.jp`,
      password: "race1234",
      passwordConfirm: "race1234",
    });
    // The protocol's own token half (the independent token reference is in bank.test.ts).
    const session = startAsToken(
      { serviceId: issued.serviceId, userId: issued.userId, serial: BigInt(i) },
      "race1234",
      (n) => new Uint8Array(randomBytes(n)),
    );
    const { seed, confirmation } = finishAsToken(session, (await bank.activate(session.request)).response);
    await bank.register(confirmation);
    await bank.confirm(issued.userId, api.totp(seed, now()));
    out.push({ userId: issued.userId, seed });
  }
  return out;
}

// Waits for its go-file with a busy loop, so that both workers are released within microseconds.
const WORKER = `
import { existsSync } from "node:fs";
const { Bank, MasterKey, openStore } = await import(process.env.BANK_MODULE);
const store = await openStore(process.env.BANK_DB);
let now = 0;
const bank = await Bank.open(store, MasterKey.fromHex(process.env.BANK_KEY), { now: () => now });
process.on("message", async (message) => {
  if (message.stop) { await store.close(); process.disconnect(); return; }
  now = message.now;
  process.send({ ready: message.round });
  while (!existsSync(message.go)) {}
  const started = performance.timeOrigin + performance.now();
  let outcome;
  try {
    const result = await bank.verify(message.userId, message.code);
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
  const children: ChildProcess[] = [];

  beforeAll(() => {
    ensureDist();
    dir = mkdtempSync(join(tmpdir(), "otp-bank-race-"));
  }, 180_000);

  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it(`accepts each of ${ROUNDS} codes exactly once when two processes verify it at the same moment`, async () => {
    const dbPath = join(dir, "bank.sqlite");
    let now = START;
    const store = await openStore(dbPath, { create: true });
    const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => now });
    const [token] = await tokens(bank, 1, () => now);

    const workerFile = join(dir, "worker.mjs");
    writeFileSync(workerFile, WORKER);
    const env = {
      ...process.env,
      BANK_MODULE: pathToFileURL(join(ROOT, "dist/host/bank/index.js")).href,
      BANK_DB: dbPath,
      BANK_KEY: KEY_HEX,
    };
    const workers = [0, 1].map(() => fork(workerFile, [], { env, execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] }));
    children.push(...workers);
    const next = (worker: ChildProcess) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
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
      const message = { round, now, go, userId: token.userId, code: api.totp(token.seed, now) };
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
    expect((await bank.status(token.userId)).token).toMatchObject({ lastStep: Math.floor((START + ROUNDS * 60) / 60), locked: false });
    // How often the two calls really ran at the same time (the lock serialised them; both waited on it).
    console.log(`bank race: ${overlapping}/${ROUNDS} rounds had the two verifications overlapping in time`);
    // Without one such round nothing raced, and the rounds above proved only sequential replays (46 of 50 overlapped at load 10 on 2 cores).
    expect(overlapping, "rounds with the two verifications overlapping in time").toBeGreaterThan(0);
    await store.close();
  }, 120_000);

  it(`two 'otp-token bank serve' processes on one file, several clients sending each of ${SERVE_ROUNDS} codes to both at once: exactly one accepted per round`, async () => {
    const dbPath = join(dir, "serve.sqlite");
    const keyFile = join(dir, "bank.key");
    writeFileSync(keyFile, KEY_HEX, { mode: 0o600 });
    // The servers run on the wall clock: one token per round, each verified at its next step.
    const store = await openStore(dbPath, { create: true });
    const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX));
    const held = await tokens(bank, SERVE_ROUNDS, () => Math.floor(Date.now() / 1000));
    const { key } = await bank.createApiKey("login", "race test");
    await store.close();

    const servers = await Promise.all([0, 1].map(() => startBankServe(["--db", dbPath, "--master-key-file", keyFile], children)));
    try {
      const verify = (url: string, userId: string, code: string) =>
        fetch(`${url}/v1/tokens/${userId}/verify`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
          body: JSON.stringify({ code }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { accepted?: boolean; reason?: string; error?: string } }));
      for (let round = 0; round < SERVE_ROUNDS; round++) {
        const { userId, seed } = held[round];
        const code = api.totp(seed, Math.floor(Date.now() / 1000) + 60);
        const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => verify(servers[i % 2].base, userId, code)));
        const accepted = answers.filter((a) => a.status === 200 && a.body.accepted === true);
        expect(accepted, `round ${round}: ${JSON.stringify(answers)}`).toHaveLength(1);
        // The others: the code was already used, or the token is throttled after that failure.
        for (const a of answers.filter((x) => x !== accepted[0])) {
          expect(a.status === 200 ? a.body.reason : a.body.error, JSON.stringify(a)).toMatch(/^(replayed|throttled)$/);
        }
      }
    } finally {
      for (const { child } of servers) child.kill("SIGTERM");
      await Promise.all(
        servers.map(({ child }) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)))),
      );
    }
    expect(servers.map(({ child }) => child.exitCode)).toEqual([0, 0]);
  }, 180_000);
});
