// The browser simulator's web server (host/web/server.ts), in process on a free port over a temporary
// bank: every endpoint's validation and error shape, the HTTP-level refusals (size, content type,
// method, origin, host), the security headers, and that no secret reaches the log.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { BankStore } from "../host/bank/store.js";
import { SimToken } from "../host/token/sim-token.js";
import { createWebServer, listen, MAX_BODY_BYTES } from "../host/web/server.js";

const PASSWORD = "Pass1234";
const MAIL = "taro.yamada@example.jp";

let dir: string;
let store: BankStore;
let server: Server;
let base: string;
const logLines: string[] = [];
/** One virtual clock for the bank and the tokens: the bank reads the first token's board clock. */
let token: SimToken;
/** Every password and code sent during the run: none may appear in the log. */
const secretsSent = new Set<string>();

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const init: RequestInit = { method, headers: { ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers } };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const response = await fetch(new URL(path, base), init);
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

const post = (path: string, body: unknown, headers?: Record<string, string>) => call("POST", path, body, headers);

function expectError(reply: Reply, status: number, error: string): void {
  expect({ status: reply.status, error: reply.body.error }).toEqual({ status, error });
  expect(typeof reply.body.message).toBe("string");
  expect(Object.keys(reply.body).sort()).toEqual(["error", "message"]);
}

async function issue(password = PASSWORD): Promise<{ serviceId: string; userId: string; mailId: string }> {
  secretsSent.add(password);
  const reply = await post("/api/issue", { mail: MAIL, mailConfirm: MAIL, password, passwordConfirm: password });
  expect(reply.status).toBe(201);
  return reply.body as { serviceId: string; userId: string; mailId: string };
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const code = (t: SimToken) => {
  const shown = t.screen().code!;
  secretsSent.add(shown);
  return shown;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "otp-web-"));
  token = new SimToken();
  store = BankStore.open(join(dir, "bank.sqlite"));
  const bank = new Bank(store, MasterKey.fromBytes(randomBytes(32)), {
    now: () => token.board.clock.now() / 1000,
    outboxDir: join(dir, "outbox"),
    lockoutThreshold: 3,
  });
  server = createWebServer({ bank, outboxDir: join(dir, "outbox"), log: (line) => logLines.push(line) });
  base = await listen(server, 0);
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("web server: the page and its headers", () => {
  it("listens on 127.0.0.1 only and serves the page, the bundle and the firmware with a strict policy", async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await call("GET", "/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toMatch(/^default-src 'self';/);
    expect(page.headers.get("content-security-policy")).not.toMatch(/unsafe-inline/);
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const html = String(page.body.text);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/); // no inline style or handler
    expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere
    const wasm = await fetch(new URL("/token.wasm", base));
    expect(wasm.headers.get("content-type")).toBe("application/wasm");
    expect(new Uint8Array(await wasm.arrayBuffer()).subarray(0, 4)).toEqual(Uint8Array.of(0, 0x61, 0x73, 0x6d));
    expect((await fetch(new URL("/app.js", base))).headers.get("content-type")).toBe("text/javascript; charset=utf-8");
  });
});

describe("web server: HTTP-level refusals", () => {
  it("405 with Allow for a wrong method, 404 for an unknown path", async () => {
    const wrong = await call("GET", "/api/issue");
    expectError(wrong, 405, "method-not-allowed");
    expect(wrong.headers.get("allow")).toBe("POST");
    expectError(await call("DELETE", "/"), 405, "method-not-allowed");
    expectError(await post("/api/status", {}), 405, "method-not-allowed");
    expectError(await call("GET", "/api/nothing"), 404, "not-found");
    expectError(await call("GET", "/../package.json"), 404, "not-found");
  });

  it("415 for a body that is not JSON, 400 for bad JSON or a non-object", async () => {
    expectError(await post("/api/issue", "mail=x", { "Content-Type": "application/x-www-form-urlencoded" }), 415, "unsupported-media-type");
    expectError(await post("/api/issue", "{}", { "Content-Type": "text/plain" }), 415, "unsupported-media-type");
    expectError(await post("/api/issue", "{not json"), 400, "bad-request");
    expectError(await post("/api/issue", "[1,2]"), 400, "bad-request");
    expectError(await post("/api/issue", "null"), 400, "bad-request");
  });

  it(`413 for a body over ${MAX_BODY_BYTES} bytes, declared or streamed`, async () => {
    const big = JSON.stringify({ mail: "a".repeat(MAX_BODY_BYTES) });
    expectError(await post("/api/issue", big), 413, "too-large");
    // Without a Content-Length (chunked): counted while it arrives.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(new URL("/api/issue", base), { method: "POST", headers: { "Content-Type": "application/json", "Transfer-Encoding": "chunked" } }, (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode!, body }));
      });
      request.on("error", reject);
      for (let i = 0; i < 5; i++) request.write("x".repeat(1024));
      request.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error).toBe("too-large");
  });

  it("403 for another site's Origin (CSRF) or a Host that is not this server (DNS rebinding)", async () => {
    expectError(await post("/api/issue", {}, { Origin: "http://evil.example" }), 403, "forbidden-origin");
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(new URL("/", base), { headers: { Host: "evil.example:80" } }, (response) => {
        response.resume();
        resolve(response.statusCode!);
      });
      request.on("error", reject);
      request.end();
    });
    expect(status).toBe(403);
  });

  it("refuses missing, extra, non-string and overlong fields", async () => {
    expectError(await post("/api/issue", { mail: MAIL }), 400, "bad-request");
    expectError(await post("/api/issue", { mail: MAIL, mailConfirm: MAIL, password: "abcd", passwordConfirm: "abcd", admin: "1" }), 400, "bad-request");
    expectError(await post("/api/issue", { mail: 5, mailConfirm: MAIL, password: "abcd", passwordConfirm: "abcd" }), 400, "bad-request");
    expectError(await post("/api/confirm", { serviceId: "1234567", userId: "2083L0000193A001", code: "123456" }), 400, "invalid-field");
    expectError(await post("/api/confirm", { serviceId: "12345678", userId: "2083l0000193a001", code: "123456" }), 400, "invalid-field");
    expectError(await post("/api/login", { userId: "2083L0000193A001", code: "1".repeat(9) }), 400, "invalid-field");
  });
});

describe("web server: the procedure's endpoints", () => {
  it("issue: one error per rule of the issue screen, then the IDs and the set-up mail", async () => {
    const form = (over: Record<string, string>) => ({ mail: MAIL, mailConfirm: MAIL, password: "abcd", passwordConfirm: "abcd", ...over });
    expectError(await post("/api/issue", form({ mail: "a@b", mailConfirm: "a@b" })), 400, "mail-length");
    expectError(await post("/api/issue", form({ mail: "ｔａｒｏ@example.jp", mailConfirm: "ｔａｒｏ@example.jp" })), 400, "mail-characters");
    expectError(await post("/api/issue", form({ mail: "taro.example.jp", mailConfirm: "taro.example.jp" })), 400, "mail-format");
    expectError(await post("/api/issue", form({ mailConfirm: "other@example.jp" })), 400, "mail-mismatch");
    expectError(await post("/api/issue", form({ password: "abc", passwordConfirm: "abc" })), 400, "password-length");
    expectError(await post("/api/issue", form({ password: "ab-cd", passwordConfirm: "ab-cd" })), 400, "password-characters");
    expectError(await post("/api/issue", form({ passwordConfirm: "abce" })), 400, "password-mismatch");
    const issued = await issue();
    expect(issued.serviceId).toMatch(/^[0-9]{8}$/);
    expect(issued.userId).toMatch(/^[0-9A-Z]{16}$/);
    const outbox = await call("GET", "/api/outbox");
    expect((outbox.body.messages as { id: string; to: string }[])[0]).toMatchObject({ id: issued.mailId, to: MAIL });
    const mail = await call("GET", `/api/outbox/${issued.mailId}`);
    expect(mail.body.text).toContain(`Service ID: ${issued.serviceId}`);
    expect(mail.body.text).not.toContain(PASSWORD);
    expectError(await call("GET", "/api/outbox/..%2Fbank.sqlite"), 404, "not-found");
    expectError(await call("GET", "/api/outbox/1-12345678.eml"), 404, "not-found");
  });

  it("activate -> confirm -> login -> replay -> lockout -> unlock, with the status code of each refusal", async () => {
    const issued = await issue();
    const ids = { serviceId: issued.serviceId, userId: issued.userId };
    // Confirm before any token was activated.
    expectError(await post("/api/confirm", { ...ids, code: "123456" }), 409, "not-activated");

    // Activation: malformed, unknown, a wrong password (answered: only the token can tell), then the real
    // one (hex and base64), its repetition (answered again), and the token's confirmation.
    expectError(await post("/api/activate", { request: "zz" }), 400, "malformed");
    expectError(await post("/api/activate", { request: "00".repeat(10) }), 400, "malformed");
    expectError(await post("/api/activate", {}), 400, "bad-request");
    const stranger = new SimToken();
    expectError(await post("/api/activate", { request: hex(stranger.link.activateBegin("99999999", issued.userId, PASSWORD)) }), 404, "unknown");
    const wrongAnswer = await post("/api/activate", { request: hex(token.link.activateBegin(issued.serviceId, issued.userId, "Wrong999")) });
    expect(wrongAnswer.status).toBe(200);
    expect(() => token.link.activateFinish(new Uint8Array(Buffer.from(wrongAnswer.body.response as string, "hex")))).toThrow(/wrong activation password/);
    const request = token.link.activateBegin(issued.serviceId, issued.userId, PASSWORD);
    const answered = await post("/api/activate", { request: Buffer.from(request).toString("base64") });
    expect(answered.status).toBe(200);
    expect(answered.body.response).toMatch(/^[0-9a-f]{234}$/);
    expect((await post("/api/activate", { request: hex(request) })).body).toEqual(answered.body);
    const forged = Uint8Array.from(request);
    forged[81] ^= 1;
    expectError(await post("/api/activate", { request: hex(forged) }), 409, "replayed");
    const { confirmation } = token.link.activateFinish(new Uint8Array(Buffer.from(answered.body.response as string, "hex")));
    expectError(await post("/api/confirm", { ...ids, code: code(token) }), 409, "not-activated");
    const damaged = Uint8Array.from(confirmation);
    damaged[105] ^= 1;
    expectError(await post("/api/register", { confirmation: hex(damaged) }), 401, "wrong-confirmation");
    expectError(await post("/api/register", { confirmation: "00".repeat(10) }), 400, "malformed");
    expect((await post("/api/register", { confirmation: hex(confirmation) })).body).toEqual({ ok: true, serial: token.info().serial });
    expect(token.screen().mode).toBe("otp");

    // Confirm: bad format (not counted), wrong code (counted), the token's code.
    expectError(await post("/api/confirm", { ...ids, code: "12" }), 400, "invalid-code");
    const first = code(token);
    const wrong = first === "000000" ? "111111" : "000000";
    secretsSent.add(wrong);
    expectError(await post("/api/confirm", { ...ids, code: wrong }), 401, "wrong-code");
    expect((await post("/api/confirm", { ...ids, code: first })).status).toBe(200);

    // Login with a later code (the User ID alone finds the Service ID); the same code again is a replay.
    token.advance(60_000);
    token.press();
    const later = code(token);
    const login = await post("/api/login", { userId: issued.userId, code: later });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ ok: true, serviceId: issued.serviceId });
    expectError(await post("/api/login", { userId: issued.userId, code: later }), 409, "replayed");
    expectError(await post("/api/login", { userId: "0000000000000000", code: later }), 404, "unknown");
    expectError(await post("/api/verify", { ...ids, code: "12" }), 400, "invalid-code");
    expectError(await post("/api/resync", { userId: issued.userId, code1: later }), 400, "bad-request");

    // Lockout after 3 consecutive failures (this bank's threshold), then the administrator unlocks.
    token.advance(60_000);
    token.press();
    const next = code(token);
    const bad = next === "000000" ? "111111" : "000000";
    expectError(await post("/api/login", { userId: issued.userId, code: bad }), 401, "wrong-code");
    expectError(await post("/api/login", { userId: issued.userId, code: bad }), 401, "wrong-code");
    expectError(await post("/api/login", { userId: issued.userId, code: next }), 403, "locked");
    const locked = await call("GET", `/api/status?userId=${issued.userId}`);
    expect(locked.body).toMatchObject({ serviceId: issued.serviceId, token: { locked: true } });
    expectError(await call("GET", "/api/status?userId=short"), 400, "invalid-field");
    expectError(await post("/api/admin/unlock", { userId: "0000000000000000" }), 404, "unknown");
    expect((await post("/api/admin/unlock", { userId: issued.userId })).status).toBe(200);
    expect((await post("/api/login", { userId: issued.userId, code: next })).status).toBe(200);
  });

  it("410 for an expired issue", async () => {
    const issued = await issue();
    token.advance(86_400_000);
    const fresh = new SimToken({ boardConfig: { startMs: token.board.clock.now() } });
    expectError(await post("/api/activate", { request: hex(fresh.link.activateBegin(issued.serviceId, issued.userId, PASSWORD)) }), 410, "expired");
  });
});

describe("web server: the log", () => {
  it("one line per request, with no body, query, password or code", () => {
    expect(logLines.length).toBeGreaterThan(40);
    for (const line of logLines) {
      expect(line).toMatch(/^\S+Z [A-Z]+ \/\S* \d{3} \d+B [\d.]+ms$/);
      expect(line).not.toContain("?");
      for (const secret of secretsSent) expect(line).not.toContain(secret);
    }
    expect(logLines.some((line) => / POST \/api\/login 409 /.test(line))).toBe(true);
  });
});
