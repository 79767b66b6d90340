// What the operators' tests (RADIUS, metrics, logs) share: a bank on an SQLite file with confirmed
// tokens whose seeds the test knows, and `bank serve` on that file with its standard output and
// error kept (the "listening on" and "metrics on" lines, the request log).
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Bank } from "../host/bank/bank.js";
import { codeAt, tokenFinish, tokenRequest, type TokenProfile } from "./bank-helpers.js";

export const now = () => Math.floor(Date.now() / 1000);

/** Issues, activates and confirms a token (confirmed with the previous step's code, so the current one is unused). */
export async function confirmedToken(bank: Bank, name: string, serial: bigint): Promise<{ userId: string; token: TokenProfile }> {
  const mail = `${name}@example.jp`;
  const issued = await bank.issue({ mail, mailConfirm: mail, password: "Pass1234", passwordConfirm: "Pass1234" });
  const session = tokenRequest(issued.serviceId, issued.userId, "Pass1234", serial);
  const token = tokenFinish(session, await bank.activate(session.request));
  await bank.register(token.confirmation);
  await bank.confirm(issued.userId, codeAt(token, now() - token.period));
  return { userId: issued.userId, token };
}

/** A code of none of the token's steps within ±15 of now: wrong, and no drifted token's either. */
export function wrongCode(token: TokenProfile): string {
  const near = new Set(Array.from({ length: 31 }, (_, i) => codeAt(token, now() + (i - 15) * token.period)));
  for (let n = 100_000; ; n += 7919) if (!near.has(String(n))) return String(n);
}

export interface Served {
  child: ChildProcess;
  base: string;
  /** Everything the service wrote so far. */
  out: () => string;
  err: () => string;
  stop: () => Promise<void>;
}

/** `otp-token bank serve --port 0 ...args` (dist/host/cli.js); resolves once it listens (and, when asked, serves metrics). */
export function serve(args: string[], children: ChildProcess[]): Promise<Served> {
  const cli = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "bank", "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    let err = "";
    const wantsMetrics = args.includes("--metrics-port");
    const stop = () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", () => done()).kill("SIGTERM");
      });
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const base = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/m.exec(out)?.[1];
      if (base && (!wantsMetrics || /^metrics on /m.test(out))) resolve({ child, base, out: () => out, err: () => err, stop });
    });
    child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("exit", (code, signal) => reject(new Error(`bank serve exited (${code ?? signal}): ${err}`)));
  });
}

/** Stops every child still running (afterAll, and at exit should the test process end first). */
export async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map((child) => new Promise((resolve) => child.once("exit", resolve).kill("SIGTERM"))),
  );
}
