// The gateway route (issue 22, item 1) in process: POST /v1/tokens/{userId}/authenticate never answers
// a refusal with 2xx. 204 accepts; 401 wrong or replayed code (and no key); 404 unknown; 423 locked or
// suspended; 429 throttled with Retry-After; 400 a code of the wrong form; the reason in X-OTP-Reason;
// replyMessage in the language of Accept-Language; rlm_rest's attributes only when asked; the
// resync state of a drifted token's code, bound to its User ID, sealed, and expiring.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResyncStates } from "../host/bank/api/gateway.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import { createService } from "../host/bank/service.js";
import type { BankStore } from "../host/bank/store.js";
import { codeAt, type TokenProfile, tokenFinish, tokenRequest } from "./bank-helpers.js";

const START = 1_900_000_020;
const clock = { now: START };
let dir: string;
let store: BankStore;
let bank: Bank;
let app: FastifyInstance;
let key = "";
const tokens: Record<string, { userId: string; token: TokenProfile }> = {};

async function newToken(name: string, serial: bigint): Promise<void> {
  const mail = `${name}@example.jp`;
  const issued = await bank.issue({ mail, mailConfirm: mail, password: "Pass1234", passwordConfirm: "Pass1234" });
  const session = tokenRequest(issued.serviceId, issued.userId, "Pass1234", serial);
  const token = tokenFinish(session, await bank.activate(session.request));
  await bank.register(token.confirmation);
  await bank.confirm(issued.userId, codeAt(token, clock.now - 60));
  tokens[name] = { userId: issued.userId, token };
}

/** A code of none of the token's steps within ±15 of now. */
function wrong(token: TokenProfile): string {
  const near = new Set(Array.from({ length: 31 }, (_, i) => codeAt(token, clock.now + (i - 15) * 60)));
  for (let n = 100_000; ; n += 7919) if (!near.has(String(n))) return String(n);
}

async function authenticate(userId: string, body: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await app.inject({
    method: "POST",
    url: `/v1/tokens/${userId}/authenticate`,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    payload: JSON.stringify(body),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: response.body === "" ? null : (response.json() as Record<string, unknown>),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "otp-gateway-"));
  store = await openStore(join(dir, "bank.sqlite"), { create: true });
  bank = await Bank.open(store, MasterKey.fromBytes(new Uint8Array(32).fill(5)), { now: () => clock.now, outboxDir: join(dir, "outbox") });
  key = (await bank.createApiKey("verify", "gateway")).key;
  let serial = 1n;
  for (const name of ["a", "b", "c", "d", "e"]) await newToken(name, serial++);
  app = await createService({ bank, rateLimit: 100_000 });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("POST /v1/tokens/{userId}/authenticate", () => {
  it("204 for the right code; 401 for the same again and for a wrong one; 429 + Retry-After while throttled", async () => {
    const { userId, token } = tokens.a;
    const code = codeAt(token, clock.now);
    const accepted = await authenticate(userId, { code });
    expect(accepted).toMatchObject({ status: 204, body: null });
    expect(accepted.headers["x-otp-reason"]).toBe("accepted");
    const replayed = await authenticate(userId, { code });
    expect(replayed.status).toBe(401);
    expect(replayed.headers["x-otp-reason"]).toBe("replayed");
    expect(replayed.headers["x-otp-attempts-left"]).toBe("9");
    expect(replayed.body).toMatchObject({ error: "replayed", attemptsLeft: 9, replyMessage: expect.stringMatching(/already used/) });
    const throttled = await authenticate(userId, { code: codeAt(token, clock.now + 60) });
    expect(throttled.status).toBe(429);
    expect(throttled.headers["retry-after"]).toBe("1");
    expect(throttled.headers["x-otp-reason"]).toBe("throttled");
    clock.now += 2;
    const wrongCode = await authenticate(userId, { code: wrong(token) });
    expect(wrongCode).toMatchObject({ status: 401, body: { error: "wrong-code", attemptsLeft: 8 } });
    expect(wrongCode.body).not.toHaveProperty("resyncState");
    expect(wrongCode.body).not.toHaveProperty("reply:Reply-Message");
  });

  it("404 unknown, 423 locked or suspended, 400 a code of the wrong form, 401 without a key: no refusal is 2xx", async () => {
    expect((await authenticate("2083L0999999A001", { code: "123456" })).status).toBe(404);
    const { userId, token } = tokens.b;
    for (let i = 0; i < 10; i++) {
      clock.now += 1000;
      expect((await authenticate(userId, { code: wrong(token) })).status).toBe(401);
    }
    const locked = await authenticate(userId, { code: codeAt(token, clock.now) });
    expect(locked).toMatchObject({ status: 423, body: { error: "locked" } });
    await bank.suspend(tokens.c.userId);
    const suspended = await authenticate(tokens.c.userId, { code: codeAt(tokens.c.token, clock.now) });
    expect(suspended).toMatchObject({ status: 423, body: { error: "suspended" } });
    expect((await authenticate(tokens.d.userId, { code: "12ab56" })).status).toBe(400);
    const noKey = await app.inject({
      method: "POST",
      url: `/v1/tokens/${tokens.d.userId}/authenticate`,
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ code: codeAt(tokens.d.token, clock.now) }),
    });
    expect(noKey.statusCode).toBe(401);
  });

  it("words replyMessage in Japanese for Accept-Language: ja, and adds rlm_rest's attributes for X-OTP-Gateway: freeradius-rest", async () => {
    const { userId, token } = tokens.d;
    clock.now += 1000;
    const ja = await authenticate(userId, { code: wrong(token) }, { "accept-language": "ja", "x-otp-gateway": "freeradius-rest" });
    expect(ja.status).toBe(401);
    expect(ja.body?.replyMessage).toMatch(/ワンタイムパスワードが違います/);
    expect(ja.body?.["reply:Reply-Message"]).toEqual({ value: ja.body?.replyMessage, do_xlat: false, op: ":=" });
  });

  it("a drifted token's code: 401 with a resync state; the next code with it: 204; the state is bound to its User ID", async () => {
    const { userId, token } = tokens.e;
    clock.now += 1000;
    const ahead = clock.now + 5 * 60;
    const first = await authenticate(userId, { code: codeAt(token, ahead) }, { "x-otp-gateway": "freeradius-rest" });
    expect(first.status).toBe(401);
    const state = first.body?.resyncState as string;
    expect(state).toMatch(/^0x[0-9a-f]+$/);
    expect(first.headers["x-otp-resync-state"]).toBe(state);
    expect(first.body?.["reply:State"]).toEqual({ value: state, do_xlat: false, op: ":=" });
    // Another User ID cannot use it.
    const elsewhere = await authenticate(tokens.d.userId, { code: codeAt(tokens.d.token, clock.now), resyncState: state });
    expect(elsewhere).toMatchObject({ status: 401, body: { error: "resync-state" } });
    clock.now += 2;
    const second = await authenticate(userId, { code: codeAt(token, ahead + 60), resyncState: state });
    expect(second.status).toBe(204);
    // The drift recorded: the second code's step against the bank's (the same minute): 6 ahead.
    expect((await bank.status(userId)).token?.driftSteps).toBe(6);
  });

  it("the resync state: sealed (a changed byte fails), for one User ID, for 5 minutes", () => {
    const time = { now: 1000 };
    const states = new ResyncStates(new Uint8Array(32).fill(1), () => time.now);
    const state = states.seal("2083L0000001A001", "123456");
    expect(states.open(state, "2083L0000001A001")).toBe("123456");
    expect(states.open(state, "2083L0000002A001")).toBeNull();
    const flipped = `${state.slice(0, 20)}${state[20] === "0" ? "1" : "0"}${state.slice(21)}`;
    expect(states.open(flipped, "2083L0000001A001")).toBeNull();
    expect(new ResyncStates(new Uint8Array(32).fill(2), () => time.now).open(state, "2083L0000001A001")).toBeNull();
    time.now += 300;
    expect(states.open(state, "2083L0000001A001")).toBe("123456");
    time.now += 1;
    expect(states.open(state, "2083L0000001A001")).toBeNull();
  });
});
