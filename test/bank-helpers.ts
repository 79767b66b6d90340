// The token side of activation (docs/activation.md, protocol v2: CPace) for the bank's, the service's
// and the CLI's tests: test/reference-cpace.ts, written from the document, the CFRG draft and RFC 9380
// with node:crypto, not from host/bank (whose half uses @noble/curves) nor from the firmware.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll } from "vitest";
import type { ActivationAnswer, Bank } from "../host/bank/bank.js";
import { aad, type MasterKey } from "../host/bank/crypto.js";
import type { BankStore, NewToken } from "../host/bank/store.js";
import { otpApi } from "../host/otp.js";
import { referenceFinish, referenceRequest, type ReferenceResult, type ReferenceSession } from "./reference-cpace.js";

export type TokenSession = ReferenceSession;
export type TokenProfile = Pick<ReferenceResult, "seed" | "algorithm" | "digits" | "period" | "label"> & Partial<ReferenceResult>;

/** 送信 on a token with this serial: message 1 (`request`) and what the token keeps for 登録. */
export function tokenRequest(serviceId: string, userId: string, password: string, serial = 0x0123456789abcdefn): TokenSession {
  return referenceRequest(serviceId, userId, password, serial);
}

/** 登録: the token checks the bank's answer (throws where the token refuses it) and derives the seed and message 3. */
export function tokenFinish(session: TokenSession, answer: Uint8Array | ActivationAnswer): ReferenceResult {
  return referenceFinish(session, answer instanceof Uint8Array ? answer : answer.response);
}

/** 送信 and 登録 with the right password: the token's profile, its confirmation accepted by the bank. */
export async function activateToken(
  bank: Bank,
  serviceId: string,
  userId: string,
  password: string,
  serial?: bigint,
): Promise<ReferenceResult> {
  const session = tokenRequest(serviceId, userId, password, serial);
  const token = tokenFinish(session, await bank.activate(session.request));
  await bank.register(token.confirmation);
  return token;
}

const api = otpApi();
export const codeAt = (token: TokenProfile, t: number) =>
  api.totp(token.seed, t, { algorithm: token.algorithm, digits: token.digits, period: token.period });
export const otherThan = (code: string) => (code === "999999" ? "999998" : "999999");

/** A token row for the store tests (SHA-1, 6 digits, 60 s; a placeholder seed: stores keep what they are given). */
export function tokenRow(customerId: number, userId: string): NewToken {
  return {
    user_id: userId,
    customer_id: customerId,
    issue_id: null,
    service_id: "10212083",
    serial: "00000000000000AA",
    seed: new Uint8Array([1, 2, 3]),
    algorithm: "SHA1",
    digits: 6,
    period: 60,
    label: "BANK",
    drift_steps: 0,
    last_step: 100,
    activated_at: 1000,
    expires_at: 999_999,
  };
}

/**
 * `count` active tokens at User IDs `userIdOf(1..count)` of `serviceId` (SHA-1, 6 digits, 60 s; the
 * last accepted step the one before `now`'s; each with a customer of its own), their seeds (derived
 * from `n` and `mix`) sealed under `master` as the bank seals them: the profiles by User ID.
 */
export async function seedTokens(
  store: BankStore,
  master: MasterKey,
  options: { count: number; serviceId: string; now: number; userIdOf: (n: number) => string; mix?: [number, number] },
): Promise<Map<string, TokenProfile>> {
  const { count, serviceId, now, userIdOf } = options;
  const [a, b] = options.mix ?? [31, 7];
  const profiles = new Map<string, TokenProfile>();
  for (let n = 1; n <= count; n++) {
    const userId = userIdOf(n);
    const seed = Buffer.from(Array.from({ length: 20 }, (_, i) => (n * a + i * b) & 0xff));
    const serial = n.toString(16).toUpperCase().padStart(16, "0");
    await store.transaction(async (tx) => {
      const customer = (await tx.insertCustomer(now, String(n).padStart(7, "0")))!;
      await tx.replaceToken({
        user_id: userId,
        customer_id: customer.customer_id,
        issue_id: null,
        service_id: serviceId,
        serial,
        seed: master.seal(seed, aad.seed(serviceId, userId, serial)),
        algorithm: "SHA1",
        digits: 6,
        period: 60,
        label: "BANK",
        drift_steps: 0,
        last_step: Math.floor(now / 60) - 1,
        activated_at: now - 600,
        expires_at: now + 86_400,
      });
    });
    profiles.set(userId, { seed, algorithm: "SHA1", digits: 6, period: 60, label: "BANK" });
  }
  return profiles;
}

/**
 * `otp-token bank serve --port 0 ...args` (the built dist/host/cli.js), pushed on `children` for the
 * caller to stop; resolves with its base URL once it listens, rejects with its stderr if it exits first.
 */
export function startBankServe(args: string[], children: ChildProcess[]): Promise<{ child: ChildProcess; base: string }> {
  const cli = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "bank", "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    let err = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/m.exec(out);
      if (match) resolve({ child, base: match[1] });
    });
    child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("exit", (code, signal) => reject(new Error(`bank serve exited (${code ?? signal}): ${err}`)));
  });
}

/** One `bank serve` process started by startBankServe: the child and its base URL. */
export interface BankServe {
  child: ChildProcess;
  base: string;
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/**
 * The `bank serve` instances of one test file (call at the file's top level): `start` and `startMany`
 * start them (startBankServe), `stop` ends them as an operator would (SIGTERM) and gives their exit
 * codes. On every other exit path none outlives its test: any still running is killed (SIGKILL) after
 * each test, after the file, and at the test process's exit should it end before its hooks ran.
 */
export function useBankServe(): {
  start(args: string[]): Promise<BankServe>;
  startMany(count: number, args: string[]): Promise<BankServe[]>;
  stop(servers: BankServe[]): Promise<(number | null)[]>;
} {
  const children: ChildProcess[] = [];
  const killAll = () => {
    for (const child of children.splice(0)) if (running(child)) child.kill("SIGKILL");
  };
  beforeAll(() => {
    process.on("exit", killAll);
  });
  afterEach(killAll);
  afterAll(() => {
    killAll();
    process.off("exit", killAll);
  });
  const start = (args: string[]) => startBankServe(args, children);
  return {
    start,
    startMany: (count, args) => Promise.all(Array.from({ length: count }, () => start(args))),
    async stop(servers) {
      for (const { child } of servers) if (running(child)) child.kill("SIGTERM");
      await Promise.all(
        servers.map(({ child }) => new Promise((resolve) => (running(child) ? child.once("exit", resolve) : resolve(null)))),
      );
      return servers.map(({ child }) => child.exitCode);
    },
  };
}
