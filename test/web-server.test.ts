// The browser simulator's web server (host/web/server.ts), in process on a free port over a temporary
// bank: the page and its security headers, the HTTP-level refusals (size, content type, origin, host),
// the bank's /v1 API with the login key the server made for itself, the admin key the administrator
// page needs, the outbox that lists mails to an admin key only, and that no secret reaches the log.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import type { BankStore } from "../host/bank/store.js";
import { openStore } from "../host/bank/open-store.js";
import { SimToken } from "../host/token/sim-token.js";
import { createWebServer, listen, MAX_BODY_BYTES } from "../host/web/server.js";

const PASSWORD = "Pass1234";
const MAIL = "taro.yamada@example.jp";

let dir: string;
let store: BankStore;
let server: FastifyInstance;
let base: string;
let loginKey: string;
let adminKey: string;
const logLines: string[] = [];
/** One virtual clock for the bank and the tokens: the bank reads the first token's board clock. */
let token: SimToken;
/** Every password, code and key sent during the run: none may appear in the log. */
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

const as = (key: string) => ({ Authorization: `Bearer ${key}` });
const post = (path: string, body: unknown, headers: Record<string, string> = as(loginKey)) => call("POST", path, body, headers);
const get = (path: string, key = loginKey) => call("GET", path, undefined, as(key));

function expectError(reply: Reply, status: number, error: string): void {
  expect({ status: reply.status, error: reply.body.error }).toEqual({ status, error });
  expect(typeof reply.body.message).toBe("string");
}

async function issue(password = PASSWORD): Promise<{ serviceId: string; userId: string; mailId: string }> {
  secretsSent.add(password);
  const reply = await post("/v1/issues", { mail: MAIL, mailConfirm: MAIL, password, passwordConfirm: password });
  expect(reply.status).toBe(201);
  return reply.body as { serviceId: string; userId: string; mailId: string };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const code = (t: SimToken) => {
  const shown = t.screen().code!;
  secretsSent.add(shown);
  return shown;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "otp-web-"));
  token = new SimToken();
  store = await openStore(join(dir, "bank.sqlite"), { create: true, thread: "worker" });
  const bank = await Bank.open(store, MasterKey.fromBytes(randomBytes(32)), {
    now: () => token.board.clock.now() / 1000,
    outboxDir: join(dir, "outbox"),
    lockoutThreshold: 3,
    throttleBaseSeconds: 0,
  });
  await bank.updateSettings({ serviceId: "10212083" });
  adminKey = (await bank.createApiKey("admin", "web test")).key;
  secretsSent.add(adminKey);
  server = await createWebServer({ bank, outboxDir: join(dir, "outbox"), log: (line) => logLines.push(line) });
  base = await listen(server, 0);
  loginKey = (await call("GET", "/web/session")).body.loginKey as string;
  secretsSent.add(loginKey);
});

afterAll(async () => {
  await server?.close();
  await store?.close();
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
  it("404 for an unknown path or method", async () => {
    expectError(await call("GET", "/v1/issues"), 404, "not-found");
    expectError(await call("DELETE", "/"), 404, "not-found");
    expectError(await call("GET", "/api/status"), 404, "not-found");
    expectError(await call("GET", "/../package.json"), 404, "not-found");
  });

  it("415 for a body that is not JSON, 400 for bad JSON or a non-object", async () => {
    expectError(
      await post("/v1/issues", "mail=x", { ...as(loginKey), "Content-Type": "application/x-www-form-urlencoded" }),
      415,
      "unsupported-media-type",
    );
    expectError(await post("/v1/issues", "{}", { ...as(loginKey), "Content-Type": "text/plain" }), 415, "unsupported-media-type");
    expectError(await post("/v1/issues", "{not json"), 400, "bad-request");
    expectError(await post("/v1/issues", "[1,2]"), 400, "bad-request");
    expectError(await post("/v1/issues", "null"), 400, "bad-request");
  });

  it(`413 for a body over ${MAX_BODY_BYTES} bytes, declared or streamed`, async () => {
    const big = JSON.stringify({ mail: "a".repeat(MAX_BODY_BYTES) });
    expectError(await post("/v1/issues", big), 413, "too-large");
    // Without a Content-Length (chunked): counted while it arrives.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(
        new URL("/v1/issues", base),
        { method: "POST", headers: { ...as(loginKey), "Content-Type": "application/json", "Transfer-Encoding": "chunked" } },
        (response) => {
          let body = "";
          response.on("data", (chunk: Buffer) => (body += chunk.toString()));
          response.on("end", () => resolve({ status: response.statusCode!, body }));
        },
      );
      request.on("error", reject);
      for (let i = 0; i < 5; i++) request.write("x".repeat(1024));
      request.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error).toBe("too-large");
  });

  it("403 for another site's Origin (CSRF) or a Host that is not this server (DNS rebinding), the session key included", async () => {
    expectError(await post("/v1/issues", {}, { ...as(loginKey), Origin: "http://evil.example" }), 403, "forbidden-origin");
    for (const path of ["/", "/web/session"]) {
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpRequest(new URL(path, base), { headers: { Host: "evil.example:80" } }, (response) => {
          let body = "";
          response.on("data", (chunk: Buffer) => (body += chunk.toString()));
          response.on("end", () => resolve({ status: response.statusCode!, body }));
        });
        request.on("error", reject);
        request.end();
      });
      expect(reply.status).toBe(403);
      expect(reply.body).not.toContain(loginKey);
    }
    // No CORS: another origin's script cannot read the session.
    expect(
      (await call("GET", "/web/session", undefined, { Origin: "http://evil.example" })).headers.get("access-control-allow-origin"),
    ).toBeNull();
  });

  it("nothing lists customers without a key: the API's reads and the outbox list need an admin key; a login key reads one mail by its id", async () => {
    const issued = await issue();
    for (const path of [`/v1/tokens/${issued.userId}`, "/v1/status", "/v1/audit", "/web/outbox"]) {
      expectError(await call("GET", path), 401, "unauthorized");
      expectError(await get(path, loginKey), 403, "forbidden");
      expect((await get(path, adminKey)).status).toBe(200);
    }
    expectError(await call("GET", `/web/outbox/${issued.mailId}`), 401, "unauthorized");
    const outbox = await get("/web/outbox?page=0", adminKey);
    expect(outbox.body).toMatchObject({ page: 0, pageSize: 20 });
    expect((outbox.body.mails as { id: string; to: string }[])[0]).toMatchObject({ id: issued.mailId, to: MAIL });
    const mail = await get(`/web/outbox/${issued.mailId}`);
    expect(mail.body.text).toContain(`サービスID　${issued.serviceId}`);
    expect(mail.body.text).toContain(issued.userId);
    expect(mail.body.text).not.toContain(PASSWORD);
    expectError(await get("/web/outbox/..%2Fbank.sqlite"), 404, "not-found");
    expectError(await get("/web/outbox/1-0123456789abcdef.eml"), 404, "not-found");
  });
});

describe("web server: the procedure over the /v1 API with the page's login key", () => {
  it("issue: one error per rule of the issue screen, then the IDs", async () => {
    const form = (over: Record<string, string>) => ({ mail: MAIL, mailConfirm: MAIL, password: "abcd", passwordConfirm: "abcd", ...over });
    expectError(await post("/v1/issues", form({ mail: "a@b", mailConfirm: "a@b" })), 400, "mail-length");
    expectError(
      await post("/v1/issues", form({ mail: "ｔａｒｏ@example.jp", mailConfirm: "ｔａｒｏ@example.jp" })),
      400,
      "mail-characters",
    );
    expectError(await post("/v1/issues", form({ mail: "taro.example.jp", mailConfirm: "taro.example.jp" })), 400, "mail-format");
    expectError(await post("/v1/issues", form({ mailConfirm: "other@example.jp" })), 400, "mail-mismatch");
    expectError(await post("/v1/issues", form({ password: "abc", passwordConfirm: "abc" })), 400, "password-length");
    expectError(await post("/v1/issues", form({ password: "ab-cd", passwordConfirm: "ab-cd" })), 400, "password-characters");
    expectError(await post("/v1/issues", form({ passwordConfirm: "abce" })), 400, "password-mismatch");
    const issued = await issue();
    expect(issued.serviceId).toBe("10212083");
    expect(issued.userId).toMatch(/^2083L\d{7}A001$/);
    expect(issued.mailId).toMatch(/^\d+-[0-9a-f]{16}\.eml$/);
  });

  it("activate -> confirm -> login -> replay -> lockout -> unlock (admin key), with each answer", async () => {
    const issued = await issue();
    const ids = { serviceId: issued.serviceId, userId: issued.userId };
    // Confirm before any token was activated.
    expectError(await post(`/v1/tokens/${issued.userId}/confirm`, { code: "123456" }), 409, "not-activated");

    // 送信: malformed, unknown, a wrong password (answered with the attempts left: only the token can
    // tell, at 登録), then the real one, its repetition (answered again), and the token's confirmation.
    expectError(await post("/v1/activations", { ...ids, request: "not base64!" }), 400, "bad-request");
    expectError(await post("/v1/activations", { ...ids, request: b64(new Uint8Array(10)) }), 400, "malformed");
    const stranger = new SimToken();
    expectError(
      await post("/v1/activations", {
        serviceId: "99999999",
        userId: issued.userId,
        request: b64(stranger.link.activateBegin("99999999", issued.userId, PASSWORD)),
      }),
      404,
      "unknown",
    );
    // The IDs the request carries must be the ones it is routed by.
    expectError(
      await post("/v1/activations", {
        serviceId: "99999999",
        userId: issued.userId,
        request: b64(stranger.link.activateBegin(issued.serviceId, issued.userId, PASSWORD)),
      }),
      400,
      "malformed",
    );
    const wrongPassword = await post("/v1/activations", {
      ...ids,
      request: b64(token.link.activateBegin(issued.serviceId, issued.userId, "Wrong999")),
    });
    expect(wrongPassword.status).toBe(200);
    expect(wrongPassword.body).toMatchObject({ attemptsLeft: 4 });
    expect(() => token.link.activateFinish(new Uint8Array(Buffer.from(wrongPassword.body.response as string, "base64")))).toThrow(
      /wrong activation password/,
    );
    const request = token.link.activateBegin(issued.serviceId, issued.userId, PASSWORD);
    const answered = await post("/v1/activations", { ...ids, request: b64(request) });
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ attemptsLeft: 3 });
    expect(answered.body.response).toMatch(/^[A-Za-z0-9+/]{156}$/);
    expect((await post("/v1/activations", { ...ids, request: b64(request) })).body).toEqual(answered.body);
    const forged = Uint8Array.from(request);
    forged[81] ^= 1;
    expectError(await post("/v1/activations", { ...ids, request: b64(forged) }), 409, "replayed");
    const { confirmation } = token.link.activateFinish(new Uint8Array(Buffer.from(answered.body.response as string, "base64")));
    // 登録: the token's confirmation (message 3) goes to the bank.
    expectError(await post(`/v1/tokens/${issued.userId}/confirm`, { code: code(token) }), 409, "not-activated");
    const damaged = Uint8Array.from(confirmation);
    damaged[105] ^= 1;
    expectError(await post("/v1/registrations", { ...ids, confirmation: b64(damaged) }), 422, "wrong-confirmation");
    expectError(await post("/v1/registrations", { ...ids, confirmation: b64(new Uint8Array(10)) }), 400, "malformed");
    expectError(
      await post("/v1/registrations", { serviceId: "99999999", userId: issued.userId, confirmation: b64(confirmation) }),
      400,
      "malformed",
    );
    expect((await post("/v1/registrations", { ...ids, confirmation: b64(confirmation) })).body).toEqual({ serial: token.info().serial });
    expect(token.screen().mode).toBe("otp");

    expectError(await post(`/v1/tokens/${issued.userId}/confirm`, { code: "12" }), 400, "invalid-code");
    const first = code(token);
    const wrong = first === "135790" ? "246801" : "135790";
    secretsSent.add(wrong);
    expect((await post(`/v1/tokens/${issued.userId}/confirm`, { code: wrong })).body).toMatchObject({
      accepted: false,
      reason: "wrong-code",
      attemptsLeft: 3,
    });
    expect((await post(`/v1/tokens/${issued.userId}/confirm`, { code: first })).body).toMatchObject({ accepted: true });

    token.advance(60_000);
    token.press();
    const later = code(token);
    expect((await post(`/v1/tokens/${issued.userId}/verify`, { code: later })).body).toMatchObject({ accepted: true });
    expect((await post(`/v1/tokens/${issued.userId}/verify`, { code: later })).body).toMatchObject({ accepted: false, reason: "replayed" });
    expectError(await post("/v1/tokens/2083L0000999A001/verify", { code: later }), 404, "unknown");

    // Lockout after 3 consecutive failures (this bank's threshold), then the administrator unlocks.
    token.advance(60_000);
    token.press();
    const next = code(token);
    const bad = next === "135790" ? "246801" : "135790";
    expect((await post(`/v1/tokens/${issued.userId}/verify`, { code: bad })).body).toMatchObject({ accepted: false, attemptsLeft: 1 });
    expect((await post(`/v1/tokens/${issued.userId}/verify`, { code: bad })).body).toMatchObject({ accepted: false, attemptsLeft: 0 });
    expectError(await post(`/v1/tokens/${issued.userId}/verify`, { code: next }), 423, "locked");
    expect((await get(`/v1/tokens/${issued.userId}`, adminKey)).body).toMatchObject({
      serviceId: issued.serviceId,
      token: { locked: true },
    });
    expectError(await post(`/v1/tokens/${issued.userId}/unlock`, {}), 403, "forbidden");
    expect((await post(`/v1/tokens/${issued.userId}/unlock`, {}, as(adminKey))).status).toBe(200);
    expect((await post(`/v1/tokens/${issued.userId}/verify`, { code: next })).body).toMatchObject({ accepted: true });
  });

  it("410 for an expired issue", async () => {
    const issued = await issue();
    token.advance(86_400_000);
    const fresh = new SimToken({ boardConfig: { startMs: token.board.clock.now() } });
    expectError(
      await post("/v1/activations", {
        serviceId: issued.serviceId,
        userId: issued.userId,
        request: b64(fresh.link.activateBegin(issued.serviceId, issued.userId, PASSWORD)),
      }),
      410,
      "expired",
    );
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
    expect(logLines.some((line) => / POST \/v1\/tokens\/2083L\d{7}A001\/verify 423 /.test(line))).toBe(true);
  });
});
