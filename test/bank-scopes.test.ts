// Least privilege (issue 19, item 4): API keys of scope verify (confirm, verify, resync), enroll
// (issues, activations, registrations) and admin (administration only); a login key, made before the
// split, is verify+enroll. The takeover the issue measured (POST /v1/issues with the victim's User ID,
// activate, confirm: 4 requests) needs an enroll key; a verify key is refused at the first. A re-set-up
// also mails the customer's address on record.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank, scopeLabel } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { listOutbox, NEW_TOKEN_NOTICE_SUBJECT, readOutboxMail, SETUP_MAIL_SUBJECT } from "../host/bank/mail.js";
import { openStore } from "../host/bank/open-store.js";
import { migrate } from "../host/bank/postgres/migrate.js";
import { MIGRATIONS as PG_MIGRATIONS } from "../host/bank/postgres/schema.js";
import { MIGRATIONS as SQLITE_MIGRATIONS } from "../host/bank/sqlite/schema.js";
import { createService } from "../host/bank/service.js";
import type { ApiScope, BankStore } from "../host/bank/store.js";
import { makeBankCommand } from "../host/cli/bank.js";
import type { Terminal } from "../host/cli/prompt.js";
import { type Io, UsageError } from "../host/usage.js";
import { codeAt, otherThan, type TokenProfile, tokenFinish, tokenRequest } from "./bank-helpers.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const START = 1_900_000_020;
const PASSWORD = "Pass1234";
const SERVICE_ID = "10212083";
let dir: string;
let store: BankStore;
let bank: Bank;
let app: FastifyInstance;
const clock = { now: START };
const keys: Record<ApiScope, string> = { verify: "", enroll: "", admin: "", login: "" };
const postgres = usePostgres();
const STORES = POSTGRES_SKIP === null ? (["sqlite", "postgresql"] as const) : (["sqlite"] as const);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "otp-scopes-"));
  store = await openStore(join(dir, "bank.sqlite"), { create: true });
  bank = await Bank.open(store, MasterKey.fromBytes(new Uint8Array(32).fill(7)), { now: () => clock.now, outboxDir: join(dir, "outbox") });
  await bank.updateSettings({ serviceId: SERVICE_ID });
  for (const scope of Object.keys(keys) as ApiScope[]) keys[scope] = (await bank.createApiKey(scope, `${scope} key`)).key;
  app = await createService({ bank, rateLimit: 100_000 });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(
  method: "GET" | "POST",
  url: string,
  body: unknown,
  key: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

const auditCount = async () => (await bank.auditEvents(0, 100000)).length;

/** The takeover's (or a customer's) requests: issue, 送信, 登録, 認証確認; each step's key given. */
async function setUp(
  mail: string,
  enrollKey: string,
  verifyKey: string,
  userId?: string,
): Promise<{ userId: string; token: TokenProfile }> {
  const issued = await call(
    "POST",
    "/v1/issues",
    { mail, mailConfirm: mail, password: PASSWORD, passwordConfirm: PASSWORD, userId },
    enrollKey,
  );
  expect(issued.status, JSON.stringify(issued.body)).toBe(201);
  const newUserId = issued.body.userId as string;
  const session = tokenRequest(SERVICE_ID, newUserId, PASSWORD);
  const relayed = await call(
    "POST",
    "/v1/activations",
    { serviceId: SERVICE_ID, userId: newUserId, request: session.request.toString("base64") },
    enrollKey,
  );
  expect(relayed.status).toBe(200);
  const token = tokenFinish(session, Buffer.from(relayed.body.response as string, "base64"));
  const registered = await call(
    "POST",
    "/v1/registrations",
    { serviceId: SERVICE_ID, userId: newUserId, confirmation: token.confirmation.toString("base64") },
    enrollKey,
  );
  expect(registered.status).toBe(200);
  const confirmed = await call("POST", `/v1/tokens/${newUserId}/confirm`, { code: codeAt(token, clock.now) }, verifyKey);
  expect(confirmed.body.accepted).toBe(true);
  return { userId: newUserId, token };
}

describe("API key scopes", () => {
  it("a verify key cannot issue, activate or register (403, nothing done): the takeover by re-set-up is impossible with it", async () => {
    const victim = await setUp("victim@example.jp", keys.enroll, keys.verify);
    const before = await auditCount();
    const mails = listOutbox(join(dir, "outbox")).total;
    const takeover = await call(
      "POST",
      "/v1/issues",
      { mail: "thief@example.jp", mailConfirm: "thief@example.jp", password: PASSWORD, passwordConfirm: PASSWORD, userId: victim.userId },
      keys.verify,
    );
    expect(takeover.status).toBe(403);
    expect(takeover.body).toMatchObject({ error: "forbidden", message: expect.stringMatching(/scope enroll; this key has scope verify/) });
    const session = tokenRequest(SERVICE_ID, victim.userId, PASSWORD);
    expect(
      (
        await call(
          "POST",
          "/v1/activations",
          { serviceId: SERVICE_ID, userId: victim.userId, request: session.request.toString("base64") },
          keys.verify,
        )
      ).status,
    ).toBe(403);
    expect(
      (
        await call(
          "POST",
          "/v1/registrations",
          { serviceId: SERVICE_ID, userId: victim.userId, confirmation: Buffer.alloc(32).toString("base64") },
          keys.verify,
        )
      ).status,
    ).toBe(403);
    expect(await auditCount()).toBe(before);
    expect(listOutbox(join(dir, "outbox")).total).toBe(mails);
    // The victim's User ID still answers, with the victim's token.
    clock.now += 60;
    expect(
      (await call("POST", `/v1/tokens/${victim.userId}/verify`, { code: codeAt(victim.token, clock.now) }, keys.verify)).body,
    ).toMatchObject({
      accepted: true,
    });
  });

  it("an enroll key cannot confirm, verify or resync (403, nothing counted); a verify key can", async () => {
    const issued = await call(
      "POST",
      "/v1/issues",
      { mail: "e@example.jp", mailConfirm: "e@example.jp", password: PASSWORD, passwordConfirm: PASSWORD },
      keys.enroll,
    );
    expect(issued.status).toBe(201);
    const customer = await setUp("c@example.jp", keys.enroll, keys.verify);
    clock.now += 60;
    const before = await auditCount();
    for (const [action, body] of [
      ["confirm", { code: "123456" }],
      ["verify", { code: otherThan(codeAt(customer.token, clock.now)) }],
      ["resync", { code1: "123456", code2: "654321" }],
    ] as const) {
      const reply = await call("POST", `/v1/tokens/${customer.userId}/${action}`, body, keys.enroll);
      expect(reply.status, action).toBe(403);
      expect(reply.body.message).toMatch(/scope verify; this key has scope enroll/);
    }
    expect(await auditCount()).toBe(before);
    expect(
      (await call("POST", `/v1/tokens/${customer.userId}/verify`, { code: codeAt(customer.token, clock.now) }, keys.verify)).body,
    ).toMatchObject({
      accepted: true,
    });
  });

  it("a login key (made before the split) still does both: the whole procedure and logins", async () => {
    const customer = await setUp("l@example.jp", keys.login, keys.login);
    clock.now += 60;
    expect(
      (await call("POST", `/v1/tokens/${customer.userId}/verify`, { code: codeAt(customer.token, clock.now) }, keys.login)).body,
    ).toMatchObject({
      accepted: true,
    });
    expect((await call("GET", `/v1/tokens/${customer.userId}`, undefined, keys.login)).status).toBe(403);
    expect(scopeLabel("login")).toBe("verify+enroll");
  });

  it("an admin key reaches the administration routes only", async () => {
    const customer = await setUp("a@example.jp", keys.enroll, keys.verify);
    expect((await call("GET", `/v1/tokens/${customer.userId}`, undefined, keys.admin)).status).toBe(200);
    expect((await call("GET", "/v1/status", undefined, keys.admin)).status).toBe(200);
    const issue = await call(
      "POST",
      "/v1/issues",
      { mail: "a@example.jp", mailConfirm: "a@example.jp", password: PASSWORD, passwordConfirm: PASSWORD, userId: customer.userId },
      keys.admin,
    );
    expect(issue.status).toBe(403);
    expect(issue.body.message).toMatch(/scope enroll; this key has scope admin/);
    expect((await call("POST", `/v1/tokens/${customer.userId}/verify`, { code: "123456" }, keys.admin)).status).toBe(403);
    for (const scope of ["verify", "enroll"] as const) {
      expect((await call("GET", `/v1/tokens/${customer.userId}`, undefined, keys[scope])).status).toBe(403);
    }
  });

  it("a re-set-up mails the set-up to the new address and a notice to the address on record", async () => {
    const customer = await setUp("owner@example.jp", keys.enroll, keys.verify);
    clock.now += 60;
    const outbox = join(dir, "outbox");
    const before = listOutbox(outbox, 0, 10000).mails.map((m) => m.id);
    const again = await setUp("new-address@example.jp", keys.enroll, keys.verify, customer.userId);
    expect(again.userId).not.toBe(customer.userId);
    const added = listOutbox(outbox, 0, 10000).mails.filter((m) => !before.includes(m.id));
    expect(added.map((m) => [m.to, m.subject]).sort()).toEqual(
      [
        ["new-address@example.jp", SETUP_MAIL_SUBJECT],
        ["owner@example.jp", NEW_TOKEN_NOTICE_SUBJECT],
      ].sort(),
    );
    const notice = readOutboxMail(outbox, added.find((m) => m.to === "owner@example.jp")!.id)!;
    expect(notice.text).toContain(customer.userId);
    expect(notice.text).toMatch(/新しいトークン/);
    expect(notice.text).toMatch(/A new one-time password token was issued/);
    expect(notice.text).not.toContain("new-address@example.jp");
    // A second re-set-up notifies the address of the token now on record (the new one's).
    clock.now += 60; // the outbox lists by the second, newest first
    const third = await call(
      "POST",
      "/v1/issues",
      { mail: "x@example.jp", mailConfirm: "x@example.jp", password: PASSWORD, passwordConfirm: PASSWORD, userId: again.userId },
      keys.enroll,
    );
    expect(third.status).toBe(201);
    const latest = listOutbox(outbox, 0, 2).mails;
    expect(latest.map((m) => m.to).sort()).toEqual(["new-address@example.jp", "x@example.jp"]);
    // A new customer's issue sends no notice.
    const count = listOutbox(outbox).total;
    await call(
      "POST",
      "/v1/issues",
      { mail: "n@example.jp", mailConfirm: "n@example.jp", password: PASSWORD, passwordConfirm: PASSWORD },
      keys.enroll,
    );
    expect(listOutbox(outbox).total).toBe(count + 1);
  });
});

describe("API key authentication with a cached row", () => {
  it("a key proven once is recognised by its digest (no second read, no second hash); a wrong secret or digest under its id is still refused; a revoked key at once", async () => {
    const cached = await Bank.open(store, MasterKey.fromBytes(new Uint8Array(32).fill(7)), {
      now: () => clock.now,
      apiKeyCacheSeconds: 60,
    });
    const made = await cached.createApiKey("verify", "cached key");
    const digest = createHash("sha256").update(made.key).digest();
    const wrong = `${made.key.slice(0, -1)}${made.key.endsWith("A") ? "B" : "A"}`;
    const original = store.getApiKey;
    let reads = 0;
    store.getApiKey = (keyId: string) => {
      reads++;
      return original.call(store, keyId);
    };
    try {
      expect(await cached.authenticate(made.key, digest)).toMatchObject({ keyId: made.keyId, scope: "verify", name: "cached key" });
      expect(reads).toBe(1);
      // Proven: the same key (with or without the caller's digest) from the cached row, the same answer.
      expect(await cached.authenticate(made.key, digest)).toMatchObject({ keyId: made.keyId, scope: "verify" });
      expect(await cached.authenticate(made.key)).toMatchObject({ keyId: made.keyId, scope: "verify" });
      // Another secret under the proven id, or a digest that is not the proven key's: refused.
      expect(await cached.authenticate(wrong)).toBeNull();
      expect(await cached.authenticate(made.key, createHash("sha256").update(wrong).digest())).toBeNull();
      expect(reads).toBe(1);
      // What a caller gets cannot change what the next caller gets.
      const info = (await cached.authenticate(made.key, digest))!;
      expect(() => Object.assign(info, { scope: "admin" })).toThrow(TypeError);
      expect((await cached.authenticate(made.key, digest))!.scope).toBe("verify");
      // Revoked on this instance: refused at once (the row is read again, revoked).
      await cached.revokeApiKey(made.keyId);
      expect(await cached.authenticate(made.key, digest)).toBeNull();
      expect(reads).toBe(2);
    } finally {
      store.getApiKey = original;
    }
  });
});

describe("bank api-key create and list", () => {
  async function cli(args: string[], answers: string[] = []): Promise<{ status: number; out: string; err: string }> {
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
    const stdin: Terminal = {
      isTTY: false,
      readAll: () => answers.map((a) => `${a}\n`).join(""),
      readSecret: async () => "",
      ask: async () => "",
    };
    try {
      return { status: await makeBankCommand(stdin)(args, io), out, err };
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      return { status: 2, out, err: err + error.message };
    }
  }

  it("creates verify, enroll, admin and (the older name) login keys; lists a login key as verify+enroll; refuses other scopes", async () => {
    const c = ["--db", join(dir, "cli.sqlite"), "--master-key-file", join(dir, "cli.key")];
    writeFileSync(c[3], "11".repeat(32), { mode: 0o600 });
    expect((await cli(["init", ...c, "--service-id", SERVICE_ID])).status).toBe(0);
    for (const scope of ["verify", "enroll", "admin", "login"]) {
      clock.now += 1; // listed by creation time
      const made = await cli(["api-key", "create", ...c, "--scope", scope, "--name", `k-${scope}`]);
      expect(made.status, made.err).toBe(0);
      expect(made.err).toMatch(new RegExp(`\\(scope ${scope === "login" ? "verify\\+enroll" : scope}\\)`));
    }
    const listed = (await cli(["api-key", "list", ...c])).out.split("\n").filter(Boolean);
    expect(listed.map((line) => line.split(/ {2}/)[1])).toEqual(["verify", "enroll", "admin", "verify+enroll"]);
    expect(listed[3]).toMatch(/k-login$/);
    const refused = await cli(["api-key", "create", ...c, "--scope", "root"]);
    expect(refused.status).toBe(2);
    expect(refused.err).toMatch(/--scope must be verify, enroll or admin/);
  });

  it("bank issue --user-id (a re-set-up) prints the notice mailed to the address on record", async () => {
    const c = ["--db", join(dir, "cli-issue.sqlite"), "--master-key-file", join(dir, "cli.key")];
    expect((await cli(["init", ...c, "--service-id", SERVICE_ID])).status).toBe(0);
    const outbox = join(dir, "cli-outbox");
    const first = await cli(["issue", ...c, "--outbox", outbox, "--mail", "old@example.jp"], ["old@example.jp", PASSWORD, PASSWORD]);
    expect(first.status, first.err).toBe(0);
    expect(first.out).not.toMatch(/Notice mail/);
    const userId = /User ID: +(\S+)/.exec(first.out)![1];
    const again = await cli(
      ["issue", ...c, "--outbox", outbox, "--mail", "new@example.jp", "--user-id", userId],
      ["new@example.jp", PASSWORD, PASSWORD],
    );
    expect(again.status, again.err).toBe(0);
    const notice = /Notice mail: +(\S+) \(to the address on record\)/.exec(again.out)![1];
    const id = notice.slice(outbox.length + 1);
    expect(readOutboxMail(outbox, id)).toMatchObject({ to: "old@example.jp", subject: NEW_TOKEN_NOTICE_SUBJECT });
  });
});

describe.each(STORES)("migration 5 (%s): the scope CHECK widened, keys made before it kept", (kind) => {
  it("a login key stored by schema 4 authenticates as login (verify+enroll) after the upgrade; verify and enroll keys can be made", async () => {
    const secret = "A".repeat(43);
    const row = ["00000000000000aa", "old backend", "login", createHash("sha256").update(secret).digest(), START, null];
    let location: string;
    if (kind === "sqlite") {
      location = join(dir, "schema4.sqlite");
      const Database = (await import("better-sqlite3")).default;
      const db = new Database(location);
      for (const migration of SQLITE_MIGRATIONS.slice(0, 4)) db.exec(migration);
      db.pragma("user_version = 4");
      expect(() =>
        db.prepare("INSERT INTO api_keys VALUES (?, ?, 'verify', ?, ?, ?)").run("00000000000000bb", "x", Buffer.alloc(32), START, null),
      ).toThrow(/CHECK constraint/);
      db.prepare("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?)").run(...row);
      db.close();
    } else {
      location = postgres.freshUrl();
      const pg = (await import("pg")).default;
      const pool = new pg.Pool({ connectionString: location });
      try {
        await migrate(pool, "test", true, PG_MIGRATIONS.slice(0, 4));
        await expect(
          pool.query("INSERT INTO api_keys VALUES ($1, $2, 'verify', $3, $4, $5)", [
            "00000000000000bb",
            "x",
            Buffer.alloc(32),
            START,
            null,
          ]),
        ).rejects.toThrow(/check constraint/);
        await pool.query("INSERT INTO api_keys VALUES ($1, $2, $3, $4, $5, $6)", row);
      } finally {
        await pool.end();
      }
    }
    const upgraded = await openStore(location);
    try {
      const opened = await Bank.open(upgraded, MasterKey.fromBytes(new Uint8Array(32).fill(9)), { now: () => clock.now });
      expect(await opened.authenticate(`otpk_00000000000000aa_${secret}`)).toMatchObject({ scope: "login", name: "old backend" });
      expect((await opened.createApiKey("verify", "radius")).scope).toBe("verify");
      expect((await opened.createApiKey("enroll", "backend")).scope).toBe("enroll");
    } finally {
      await upgraded.close();
    }
  }, 120_000);
});
