// The bank's transactions room (issue 23, steps 4 and 5): a transfer is created with a fresh nonce and
// its frame; the token's code for exactly that transfer is accepted once, before the expiry; a wrong
// code counts toward the token's lock like a wrong login code; the audit trail names the transfer by
// its digest. The attacks: a changed amount or payee, replay, another transfer's code, an expired
// transfer, a login code. A wrong code throttles the token's next check (429 + Retry-After over the
// API) as a wrong login code does. On SQLite and on PostgreSQL (where installed).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { makeBankCommand } from "../host/cli/bank.js";
import type { Io } from "../host/usage.js";
import { MasterKey } from "../host/bank/crypto.js";
import { BankError, type BankErrorCode } from "../host/bank/errors.js";
import { openStore } from "../host/bank/open-store.js";
import { createService } from "../host/bank/service.js";
import { TRANSACTION_LIFETIME_SECONDS } from "../host/bank/rooms/transactions.js";
import type { BankStore } from "../host/bank/store.js";
import { parseFrameText } from "../host/optical/frame.js";
import { decodeTransfer, encodeTransfer, transferCode } from "../host/transaction.js";
import { activateToken, codeAt } from "./bank-helpers.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PASSWORD = "Pass1234";
const START = 1_900_000_020;
const PAYEE = { bankCode: "0001", branch: "001", account: "1234567", name: "ﾔﾏﾀﾞ ﾀﾛｳ" };
const KINDS = POSTGRES_SKIP === null ? (["sqlite", "postgresql"] as const) : (["sqlite"] as const);
const postgres = usePostgres();

let dir: string;
let stores: BankStore[];
let clock: { now: number };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-transactions-"));
  stores = [];
  clock = { now: START };
});
afterEach(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(run: () => Promise<unknown>, code: BankErrorCode): Promise<BankError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(BankError);
    expect((error as BankError).code, (error as Error).message).toBe(code);
    return error as BankError;
  }
  throw new Error(`expected a refusal (${code})`);
}

describe.each(KINDS)("transactions [%s]", (kind) => {
  /** A bank with one customer whose token is active: the bank and the token's seed. */
  async function bankWithToken() {
    const store = await openStore(kind === "sqlite" ? join(dir, "bank.sqlite") : postgres.freshUrl(), { create: true });
    stores.push(store);
    const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => clock.now, outboxDir: join(dir, "outbox") });
    const issued = await bank.issue({
      mail: "holder@example.jp",
      mailConfirm: "holder@example.jp",
      password: PASSWORD,
      passwordConfirm: PASSWORD,
    });
    const token = await activateToken(bank, issued.serviceId, issued.userId, PASSWORD);
    await bank.confirm(issued.userId, codeAt(token, clock.now));
    return { bank, userId: issued.userId, seed: token.seed, token };
  }

  it("creates a transfer with a fresh nonce and its frame, and accepts the token's code for it once", async () => {
    const { bank, userId, seed } = await bankWithToken();
    const created = await bank.createTransaction({ userId, payee: PAYEE, amount: 1_234_567, reference: "PAY-0001" });
    expect(created.expiresAt).toBe(START + TRANSACTION_LIFETIME_SECONDS);
    const payload = parseFrameText(created.frame);
    expect(Buffer.from(payload).toString("hex")).toBe(created.payload);
    expect(decodeTransfer(payload)).toMatchObject({ ...PAYEE, amount: 1_234_567 });
    // Another transfer of the same payee and amount has another nonce.
    const again = await bank.createTransaction({ userId, payee: PAYEE, amount: 1_234_567, reference: "PAY-0002" });
    expect(again.payload).not.toBe(created.payload);

    clock.now += 30;
    const verified = await bank.verifyTransaction(created.transactionId, transferCode(seed, payload));
    expect(verified).toEqual({ ok: true, transactionId: created.transactionId, digest: created.digest, reference: "PAY-0001" });
    // Replay: accepted once.
    await refusal(() => bank.verifyTransaction(created.transactionId, transferCode(seed, payload)), "replayed");
    // The audit trail names the transfer by its digest, created and accepted.
    const kinds = (await bank.auditEvents(0, 1000)).filter((e) => e.detail?.includes(`digest ${created.digest}`)).map((e) => e.kind);
    expect(kinds).toEqual(["transaction-created", "transaction-accepted", "transaction-replayed"]);
  });

  it("refuses a changed amount or payee, another transfer's code, an expired transfer and a login code", async () => {
    const { bank, userId, seed, token } = await bankWithToken();
    const held = await bank.createTransaction({ userId, payee: PAYEE, amount: 3_000_000, reference: "MALWARE" });
    const heldPayload = parseFrameText(held.frame);
    // The page (malware) drew the customer's original transfer: 30,000 yen; the token signed that.
    const shown = encodeTransfer({ ...PAYEE, amount: 30_000, nonce: decodeTransfer(heldPayload).nonce });
    // Each wrong code throttles the next check (1, 2, 4 s): the clock waits that long before the next one.
    const wrong = async (code: string) => {
      const error = await refusal(() => bank.verifyTransaction(held.transactionId, code), "wrong-code");
      clock.now += error.details.retryAfterSeconds ?? 0;
    };
    await wrong(transferCode(seed, shown));
    const otherPayee = encodeTransfer({ ...PAYEE, account: "7654321", amount: 3_000_000, nonce: decodeTransfer(heldPayload).nonce });
    await wrong(transferCode(seed, otherPayee));
    // Another transfer's code.
    const other = await bank.createTransaction({ userId, payee: PAYEE, amount: 3_000_000, reference: "OTHER" });
    await wrong(transferCode(seed, parseFrameText(other.frame)));
    // A login code (8 digits would be needed; the token's login codes have 6: padded, still refused).
    await wrong(codeAt(token, clock.now).padStart(8, "0"));
    // Four wrong codes counted on the token, as wrong login codes are.
    const status = await bank.status(userId);
    expect(status.token?.consecutiveFailures).toBe(4);
    // Expired: even the right code is refused after the expiry.
    clock.now += TRANSACTION_LIFETIME_SECONDS;
    await refusal(() => bank.verifyTransaction(other.transactionId, transferCode(seed, parseFrameText(other.frame))), "expired");
    await refusal(() => bank.verifyTransaction(other.transactionId, transferCode(seed, parseFrameText(other.frame))), "replayed");
  });

  it("throttles after a wrong transfer code as after a wrong login code: refused while throttled, the right code too, then accepted", async () => {
    const { bank, userId, seed, token } = await bankWithToken();
    const created = await bank.createTransaction({ userId, payee: PAYEE, amount: 10_000, reference: "THROTTLE" });
    const right = transferCode(seed, parseFrameText(created.frame));
    const wrongCode = right === "00000000" ? "00000001" : "00000000";
    const first = await refusal(() => bank.verifyTransaction(created.transactionId, wrongCode), "wrong-code");
    expect(first.details.retryAfterSeconds).toBe(bank.throttleDelay(1));
    expect(first.attemptsLeft).toBe(bank.config.lockoutThreshold - 1);
    // Within the delay even the right code is not checked, and nothing is counted or settled.
    const throttled = await refusal(() => bank.verifyTransaction(created.transactionId, right), "throttled");
    expect(throttled.details.retryAfterSeconds).toBe(bank.throttleDelay(1));
    expect((await bank.status(userId)).token?.consecutiveFailures).toBe(1);
    // A wrong transfer code throttles the login codes too (one counter per token), and the other way round.
    await refusal(() => bank.verify(userId, codeAt(token, clock.now)), "throttled");
    clock.now += bank.throttleDelay(1);
    const second = await refusal(() => bank.verifyTransaction(created.transactionId, wrongCode), "wrong-code");
    expect(second.details.retryAfterSeconds).toBe(bank.throttleDelay(2));
    clock.now += bank.throttleDelay(2) - 1;
    await refusal(() => bank.verifyTransaction(created.transactionId, right), "throttled");
    clock.now += 1;
    await expect(bank.verifyTransaction(created.transactionId, right)).resolves.toMatchObject({ ok: true, reference: "THROTTLE" });
    const kinds = (await bank.auditEvents(0, 1000)).filter((event) => event.userId === userId).map((event) => event.kind);
    expect(kinds.filter((kind) => kind === "throttled").length).toBe(3);
    expect(kinds.filter((kind) => kind === "transaction-wrong-code").length).toBe(2);
  });

  it("over the API: a wrong transfer code answers its delay, a check within it is 429 with Retry-After", async () => {
    const { bank, userId, seed } = await bankWithToken();
    const app = await createService({ bank, rateLimit: 100_000 });
    try {
      const key = (await bank.createApiKey("verify", "backend")).key;
      const post = async (url: string, body: unknown) => {
        const response = await app.inject({
          method: "POST",
          url,
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          payload: JSON.stringify(body),
        });
        return {
          status: response.statusCode,
          body: response.json() as Record<string, unknown>,
          retryAfter: response.headers["retry-after"],
        };
      };
      const created = await post("/v1/transactions", { userId, payee: PAYEE, amount: 5_000, reference: "API-1" });
      expect(created.status).toBe(200);
      const id = String(created.body.transactionId);
      const right = transferCode(seed, parseFrameText(String(created.body.frame)));
      const wrongCode = right === "00000000" ? "00000001" : "00000000";
      expect(await post(`/v1/transactions/${id}/verify`, { code: wrongCode })).toMatchObject({
        status: 200,
        body: { accepted: false, reason: "wrong-code", attemptsLeft: bank.config.lockoutThreshold - 1, retryAfterSeconds: 1 },
      });
      const early = await post(`/v1/transactions/${id}/verify`, { code: right });
      expect(early).toMatchObject({ status: 429, retryAfter: "1", body: { error: "throttled", retryAfterSeconds: 1 } });
      clock.now += 1;
      expect(await post(`/v1/transactions/${id}/verify`, { code: right })).toMatchObject({ status: 200, body: { accepted: true } });
    } finally {
      await app.close();
    }
  });

  it("refuses a transfer for a User ID without an active token, an unknown transfer and a code of the wrong form", async () => {
    const { bank, userId } = await bankWithToken();
    await refusal(() => bank.createTransaction({ userId: "A".repeat(16), payee: PAYEE, amount: 1, reference: "X" }), "unknown");
    await refusal(() => bank.verifyTransaction("00".repeat(16), "12345678"), "unknown");
    const created = await bank.createTransaction({ userId, payee: PAYEE, amount: 1, reference: "X" });
    await refusal(() => bank.verifyTransaction(created.transactionId, "1234567"), "invalid-code");
    await expect(bank.createTransaction({ userId, payee: { ...PAYEE, bankCode: "01" }, amount: 1, reference: "X" })).rejects.toThrow(
      /bankCode must be exactly 4 digits/,
    );
  });
});

describe("otp-token bank transaction create|verify", () => {
  async function cli(args: string[]) {
    let out = "";
    let err = "";
    const io: Io = {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
      now: () => clock.now,
    };
    const status = await makeBankCommand()(["transaction", ...args], io);
    return { status, out, err };
  }

  it("creates a transfer (its frame as text) and verifies the token's code once", async () => {
    const db = join(dir, "cli.sqlite");
    const keyFile = join(dir, "master.key");
    writeFileSync(keyFile, KEY_HEX, { mode: 0o600 });
    const store = await openStore(db, { create: true });
    const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => clock.now, outboxDir: join(dir, "outbox") });
    const issued = await bank.issue({
      mail: "cli@example.jp",
      mailConfirm: "cli@example.jp",
      password: PASSWORD,
      passwordConfirm: PASSWORD,
    });
    const token = await activateToken(bank, issued.serviceId, issued.userId, PASSWORD);
    await bank.confirm(issued.userId, codeAt(token, clock.now));
    await store.close();
    const common = ["--db", db, "--master-key-file", keyFile];

    const created = await cli([
      "create",
      "--user-id",
      issued.userId,
      "--to",
      "0001-001-1234567",
      "--amount",
      "50000",
      "--reference",
      "INV-9",
      "--name",
      "ﾔﾏﾀﾞ",
      ...common,
    ]);
    expect(created.status, created.err).toBe(0);
    const id = /^transaction ([0-9a-f]{32})$/m.exec(created.out)?.[1] ?? "";
    const frame = /^frame ([0-9A-F ]+)$/m.exec(created.out)?.[1] ?? "";
    const payload = parseFrameText(frame);
    expect(decodeTransfer(payload)).toMatchObject({ bankCode: "0001", branch: "001", account: "1234567", amount: 50_000, name: "ﾔﾏﾀﾞ" });
    const code = transferCode(token.seed, payload);
    expect(await cli(["verify", id, code, ...common])).toMatchObject({ status: 0, out: expect.stringContaining("accepted: INV-9") });
    const replay = await cli(["verify", id, code, ...common]);
    expect(replay.status).toBe(1);
    expect(replay.err).toContain("[replayed]");
    const badTo = ["create", "--user-id", issued.userId, "--to", "0001-01-1234567", "--amount", "1", "--reference", "X", ...common];
    await expect(cli(badTo)).rejects.toThrow(/--to must be BANK-BRANCH-ACCOUNT/);
  });
});
