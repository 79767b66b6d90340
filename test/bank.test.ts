// The bank side (host/bank): issue with the manual's IDs, activation (docs/activation.md) against an
// independent token-side reference written here with node:crypto, confirmation, the verifier
// (replay, throttling, lockout, resync, drift), the token's lifecycle, secrets at rest, and the
// schema-1 database migrated without losing a token.
import { createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Bank, type BankOptions } from "../host/bank/bank.js";
import { aad, MasterKey } from "../host/bank/crypto.js";
import { BankError, type BankErrorCode } from "../host/bank/errors.js";
import { ACTIVATION_ITERATIONS, REQUEST_CONTEXT, RESPONSE_CONTEXT, SEED_CONTEXT } from "../host/bank/protocol.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../host/bank/sqlite/schema.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import { openStore } from "../host/bank/store.js";
import { USER_ID_FORM } from "../host/identity.js";
import { codeAt, otherThan, tokenFinish, tokenRequest, type TokenProfile } from "./bank-helpers.js";

const START = 1_900_000_020; // 20 s into a 60 s step
const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PASSWORD = "Pass1234";
const SERVICE_ID = "10212083";


// ---- fixtures ----

let dir: string;
let clock: { now: number };
let stores: SqliteStore[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-bank-"));
  clock = { now: START };
  stores = [];
});

afterEach(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openBank(options: BankOptions = {}, file = "bank.sqlite", key = MasterKey.fromHex(KEY_HEX)): Promise<Bank> {
  const store = (await openStore(join(dir, file), { create: true })) as SqliteStore;
  stores.push(store);
  const bank = await Bank.open(store, key, { now: () => clock.now, outboxDir: join(dir, "outbox"), ...options });
  if (bank.serviceId !== SERVICE_ID) await bank.updateSettings({ serviceId: SERVICE_ID });
  return bank;
}

const db = (bank: Bank) => (bank.store as SqliteStore).engine!.db;

const issueInput = (overrides: Record<string, unknown> = {}) => ({
  mail: "holder@example.jp",
  mailConfirm: "holder@example.jp",
  password: PASSWORD,
  passwordConfirm: PASSWORD,
  ...overrides,
});

async function refusal(run: () => Promise<unknown>): Promise<BankError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof BankError) return error;
    throw error;
  }
  throw new Error("expected a BankError, but it succeeded");
}

async function expectCode(run: () => Promise<unknown>, code: BankErrorCode): Promise<BankError> {
  const error = await refusal(run);
  expect(error.code, error.message).toBe(code);
  return error;
}

/** issue -> activate -> token derives the seed -> confirm with its first code. */
async function setUp(bank: Bank, overrides: Record<string, unknown> = {}, serial?: bigint) {
  const issued = await bank.issue(issueInput(overrides));
  const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD, serial);
  const token = tokenFinish(session, await bank.activate(session.request));
  const confirmed = await bank.confirm(issued.userId, codeAt(token, clock.now));
  return { ...issued, token, confirmed };
}

const issueRow = (bank: Bank, userId: string) => db(bank).prepare("SELECT * FROM issues WHERE user_id = ? ORDER BY issue_id DESC").get(userId) as Record<string, unknown>;

/** A wrong code, after waiting out the throttling delay the previous failure set. */
async function wrongLogin(bank: Bank, userId: string, token: TokenProfile): Promise<BankError> {
  const status = await bank.status(userId);
  if (status.token && status.token.nextCheckAt > clock.now) clock.now = status.token.nextCheckAt;
  return refusal(() => bank.verify(userId, otherThan(codeAt(token, clock.now))));
}

describe("protocol constants", () => {
  it("are the ones docs/activation.md fixes", () => {
    expect(ACTIVATION_ITERATIONS).toBe(1000);
    expect([REQUEST_CONTEXT, RESPONSE_CONTEXT, SEED_CONTEXT]).toEqual(["otp-token activation request v1", "otp-token activation response v1", "otp-token seed v1"]);
  });
});

describe("bank: the manual's Service ID and User ID", () => {
  it("the Service ID is the bank's; the User ID is <last 4 of it> L <customer number> A <issue number>", async () => {
    const bank = await openBank();
    const first = await bank.issue(issueInput());
    expect(first.serviceId).toBe(SERVICE_ID);
    expect(first.userId).toBe("2083L0000001A001");
    const second = await bank.issue(issueInput({ mail: "b@example.jp", mailConfirm: "b@example.jp" }));
    expect(second).toMatchObject({ serviceId: SERVICE_ID, userId: "2083L0000002A001" });
    // A re-set-up: the same customer's next issue number.
    const again = await bank.issue(issueInput({ userId: first.userId }));
    expect(again.userId).toBe("2083L0000001A002");
    for (const id of [first.userId, second.userId, again.userId]) expect(id).toMatch(USER_ID_FORM);
    // No confusable letters: digits only apart from the fixed L and A.
    expect(again.userId.replace(/^(\d{4})L(\d{7})A(\d{3})$/, "$1$2$3")).toMatch(/^\d{14}$/);
    // A changed Service ID names new issues; issued User IDs keep working.
    await bank.updateSettings({ serviceId: "55501234" });
    expect((await bank.issue(issueInput({ mail: "c@example.jp", mailConfirm: "c@example.jp" }))).userId).toBe("1234L0000003A001");
    await expectCode(() => bank.updateSettings({ serviceId: "1234" }), "settings");
    await expectCode(() => bank.issue(issueInput({ userId: "2083L9999999A001" })), "unknown");
  });
});

describe("bank: issue, activate, confirm, verify", () => {
  it("runs the whole procedure against the token-side reference", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    expect(issued.expiresAt).toBe(START + 86400);
    expect(issued.tokenExpiresAt).toBe(START + 1826 * 86400);

    // The set-up mail: MIME, UTF-8, RFC 2047 encoded Japanese subject, the IDs, never the password.
    const raw = readFileSync(issued.mailFile!, "utf8");
    const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
    for (const header of ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"]) expect(head).toMatch(new RegExp(`^${header}: `, "m"));
    expect(head).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    expect(head).toMatch(/^Content-Type: text\/plain; charset=utf-8$/m);
    expect(head).toMatch(/<no-reply@bank\.example>/);
    const { readOutboxMail } = await import("../host/bank/mail.js");
    const mail = readOutboxMail(join(dir, "outbox"), issued.mailId!)!;
    expect(mail.subject).toContain("トークン発行");
    for (const words of [issued.serviceId, issued.userId, "サービスID", "ユーザID", "利用開始パスワード", "同意する", "送信", "登録", "認証確認"]) expect(mail.text).toContain(words);
    expect(mail.text).not.toMatch(/URL/);
    expect(raw + mail.text).not.toContain(PASSWORD);

    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const token = tokenFinish(session, await bank.activate(session.request));
    expect(token).toMatchObject({ algorithm: "SHA1", digits: 6, period: 60, label: "BANK" });
    expect(token.seed.length).toBe(20);
    // Not active until the first code is confirmed.
    await expectCode(() => bank.verify(issued.userId, codeAt(token, clock.now)), "unknown");
    expect(await bank.confirm(issued.userId, codeAt(token, clock.now))).toMatchObject({ ok: true, offset: 0, driftSteps: 0 });
    expect(issueRow(bank, issued.userId)).toMatchObject({ state: "completed", activation_key: null, pending_seed: null });
    // Confirming again says so, distinctly.
    const again = await expectCode(() => bank.confirm(issued.userId, codeAt(token, clock.now)), "already-confirmed");
    expect(again.ja).toContain("認証確認が完了");
    // The confirmation code itself is used up; a later code logs in.
    await expectCode(() => bank.verify(issued.userId, codeAt(token, clock.now)), "replayed");
    clock.now += 120;
    expect(await bank.verify(issued.userId, codeAt(token, clock.now))).toMatchObject({ ok: true, offset: 0 });
    expect((await bank.status(issued.userId)).token).toMatchObject({ serial: "0123456789ABCDEF", locked: false, consecutiveFailures: 0, state: "active" });
  });

  it("gives the token the OTP parameters of the issue (SHA-256, 8 digits, 30 s, label)", async () => {
    const bank = await openBank({ otp: { algorithm: "SHA512", digits: 7, period: 60, label: "CREDIT UNION" } });
    const plain = await setUp(bank);
    expect(plain.token).toMatchObject({ algorithm: "SHA512", digits: 7, label: "CREDIT UNION" });
    expect(plain.token.seed.length).toBe(64);
    const custom = await setUp(bank, { mail: "b@c.jp", mailConfirm: "b@c.jp", otp: { algorithm: "sha-256", digits: 8, period: 30, label: "ACME-2" } });
    expect(custom.token).toMatchObject({ algorithm: "SHA256", digits: 8, period: 30, label: "ACME-2" });
    expect(custom.token.seed.length).toBe(32);
    clock.now += 90;
    expect((await bank.verify(custom.userId, codeAt(custom.token, clock.now))).ok).toBe(true);
    await expectCode(() => bank.issue(issueInput({ otp: { label: "lower" } })), "otp-parameters");
    await expectCode(() => bank.issue(issueInput({ otp: { digits: 9 } })), "otp-parameters");
    await expectCode(() => bank.issue(issueInput({ otp: { algorithm: "MD5" } })), "otp-parameters");
  });

  it("re-set-up: the old token works until the new token's first code is confirmed, then only the new one", async () => {
    const bank = await openBank();
    const old = await setUp(bank, {}, 1n);
    clock.now += 3600;
    const again = await bank.issue(issueInput({ userId: old.userId }));
    expect(again.userId).toBe("2083L0000001A002");
    const session = tokenRequest(again.serviceId, again.userId, PASSWORD, 2n);
    const fresh = tokenFinish(session, await bank.activate(session.request));
    // Activated but not confirmed: the old token still logs in, the new one does not yet.
    expect((await bank.verify(old.userId, codeAt(old.token, clock.now))).ok).toBe(true);
    await expectCode(() => bank.verify(again.userId, codeAt(fresh, clock.now)), "unknown");
    clock.now += 60;
    await bank.confirm(again.userId, codeAt(fresh, clock.now));
    clock.now += 60;
    await expectCode(() => bank.verify(old.userId, codeAt(old.token, clock.now)), "unknown");
    expect((await bank.verify(again.userId, codeAt(fresh, clock.now))).ok).toBe(true);
    expect((await bank.status(old.userId)).events.map((e) => e.kind)).toContain("token-replaced");
  });

  it("an abandoned re-set-up locks nobody out; a newer issue supersedes an older pending one", async () => {
    const bank = await openBank();
    const old = await setUp(bank);
    const first = await bank.issue(issueInput({ userId: old.userId }));
    const second = await bank.issue(issueInput({ userId: old.userId }));
    const session = tokenRequest(first.serviceId, first.userId, PASSWORD);
    const error = await expectCode(() => bank.activate(session.request), "issue-void");
    expect(error.ja).toContain("新しいトークン発行");
    expect(issueRow(bank, first.userId)).toMatchObject({ state: "void", void_reason: "superseded", activation_key: null });
    expect(issueRow(bank, second.userId)).toMatchObject({ state: "pending" });
    clock.now += 2 * 86400; // the second one expires unused
    expect((await bank.verify(old.userId, codeAt(old.token, clock.now))).ok).toBe(true);
  });

  it("confirm: refused before activation; a wrong code says the attempts left (あと N 回); the 5th voids the issue, plainly, in Japanese too", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    await expectCode(() => bank.confirm(issued.userId, "123456"), "not-activated");
    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const token = tokenFinish(session, await bank.activate(session.request));
    const right = codeAt(token, clock.now);
    await expectCode(() => bank.confirm(issued.userId, "12345"), "invalid-code");
    for (let i = 1; i <= 4; i++) {
      const error = await expectCode(() => bank.confirm(issued.userId, otherThan(right)), "wrong-code");
      expect(error.attemptsLeft).toBe(5 - i);
      expect(error.message).toContain(`${5 - i} attempt`);
      expect(error.ja).toBe(`ワンタイムパスワードが違います。あと ${5 - i} 回間違えると、このトークン発行は無効になります。`);
    }
    const last = await expectCode(() => bank.confirm(issued.userId, otherThan(right)), "issue-void");
    expect(last.attemptsLeft).toBe(0);
    expect(last.message).toMatch(/now void: issue a new token/);
    expect(last.ja).toBe("ワンタイムパスワードが違います。このトークン発行は無効になりました。もう一度「トークン発行」からやり直してください。");
    await expectCode(() => bank.confirm(issued.userId, right), "issue-void");
  });
});

describe("bank: the issue screen's rules, one error each", () => {
  it.each([
    [{ mail: "a@b", mailConfirm: "a@b" }, "mail-length", /4-64 characters/],
    [{ mail: `${"a".repeat(60)}@b.jp`, mailConfirm: `${"a".repeat(60)}@b.jp` }, "mail-length", /4-64 characters/],
    [{ mail: "ａｂ@example.jp", mailConfirm: "ａｂ@example.jp" }, "mail-characters", /half-width/],
    [{ mail: "a b@example.jp", mailConfirm: "a b@example.jp" }, "mail-characters", /no spaces/],
    [{ mail: "holder.example.jp", mailConfirm: "holder.example.jp" }, "mail-format", /one '@'/],
    [{ mail: "a@b@example.jp", mailConfirm: "a@b@example.jp" }, "mail-format", /one '@'/],
    [{ mail: "@example.jp", mailConfirm: "@example.jp" }, "mail-format", /one '@'/],
    [{ mail: "holder@", mailConfirm: "holder@" }, "mail-format", /one '@'/],
    [{ mail: "a<b>@example.jp", mailConfirm: "a<b>@example.jp" }, "mail-format", /one '@'/],
    [{ mailConfirm: "holder@example.com" }, "mail-mismatch", /differ/],
    [{ password: "abc", passwordConfirm: "abc" }, "password-length", /4-8 characters/],
    [{ password: "abcdefghi", passwordConfirm: "abcdefghi" }, "password-length", /4-8 characters/],
    [{ password: "abc!1", passwordConfirm: "abc!1" }, "password-characters", /letters and digits/],
    [{ password: "ｐａｓｓ", passwordConfirm: "ｐａｓｓ" }, "password-characters", /letters and digits/],
    [{ passwordConfirm: "Pass1235" }, "password-mismatch", /differ/],
  ] as const)("%j -> %s", async (overrides, code, message) => {
    const bank = await openBank();
    const error = await expectCode(() => bank.issue(issueInput(overrides)), code);
    expect(error.message).toMatch(message);
    expect(db(bank).prepare("SELECT count(*) AS n FROM issues").get()).toEqual({ n: 0 });
    expect(db(bank).prepare("SELECT count(*) AS n FROM customers").get()).toEqual({ n: 0 });
  });

  it("accepts the edges: 4 and 64 characters, 4 and 8 character passwords, dots anywhere before the '@'", async () => {
    const bank = await openBank();
    for (const mail of ["a@jp", `${"a".repeat(58)}@ab.jp`, "a..b.@docomo.ne.jp", "x+y!#$%&'*/=?^_`{|}~-@mail.example"]) {
      expect((await bank.issue(issueInput({ mail, mailConfirm: mail }))).mail).toBe(mail);
    }
    for (const password of ["abcd", "ABCD1234"]) await bank.issue(issueInput({ password, passwordConfirm: password }));
    // Stored as K_AC, never the password: the password's bytes are nowhere in the database file.
    db(bank).pragma("wal_checkpoint(TRUNCATE)");
    expect(readFileSync(join(dir, "bank.sqlite")).includes(Buffer.from("ABCD1234"))).toBe(false);
  });
});

describe("bank: activation refusals (docs/activation.md, bank rules 1-5)", () => {
  it("counts a wrong password before checking it (committed), says the attempts left, and voids the issue at 5", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    for (let attempt = 1; attempt <= 5; attempt++) {
      const wrong = tokenRequest(issued.serviceId, issued.userId, "Wrong123");
      const error = await refusal(() => bank.activate(wrong.request));
      expect(error.code).toBe(attempt < 5 ? "wrong-password" : "issue-void");
      // Read from a second connection, as a process started after a crash would.
      const reopened = (await openStore(join(dir, "bank.sqlite"))) as SqliteStore;
      const row = reopened.engine!.db.prepare("SELECT failed_attempts, state FROM issues WHERE user_id = ?").get(issued.userId);
      await reopened.close();
      expect(row).toEqual({ failed_attempts: attempt, state: attempt < 5 ? "pending" : "void" });
      expect(error.attemptsLeft).toBe(5 - attempt);
      if (attempt < 5) expect(error.ja).toBe(`利用開始パスワードが違います。あと ${5 - attempt} 回間違えると、このトークン発行は無効になります。`);
      else expect(error.ja).toBe("利用開始パスワードが違います。このトークン発行は無効になりました。もう一度「トークン発行」からやり直してください。");
    }
    const right = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    await expectCode(() => bank.activate(right.request), "issue-void");
  });

  it("takes the count back on success: 4 wrong, then the right one works", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    for (let i = 0; i < 4; i++) await expectCode(() => bank.activate(tokenRequest(issued.serviceId, issued.userId, "nope").request), "wrong-password");
    const right = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    tokenFinish(right, await bank.activate(right.request));
    expect(issueRow(bank, issued.userId)).toMatchObject({ failed_attempts: 4, state: "pending" });
  });

  it("leaves the attempt counted when the process dies between counting and the tag check", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    // Simulate the crash: the sealed key cannot be opened right after the count was committed.
    db(bank).prepare("UPDATE issues SET activation_key = zeroblob(40) WHERE user_id = ?").run(issued.userId);
    await expectCode(() => bank.activate(tokenRequest(issued.serviceId, issued.userId, PASSWORD).request), "master-key");
    expect(issueRow(bank, issued.userId)).toMatchObject({ failed_attempts: 1 });
  });

  it("refuses an expired issue", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    expect(issueRow(bank, issued.userId).activation_key).not.toBeNull();
    clock.now += 86400;
    await expectCode(() => bank.activate(tokenRequest(issued.serviceId, issued.userId, PASSWORD).request), "expired");
    // What was kept to check the tag is gone once the issue expired (the password never was kept).
    expect(issueRow(bank, issued.userId)).toMatchObject({ failed_attempts: 0, activation_key: null, pending_seed: null });
  });

  it("refuses a replayed request (the same bytes twice)", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const first = tokenFinish(session, await bank.activate(session.request));
    await expectCode(() => bank.activate(session.request), "replayed");
    // A retry with a fresh nonce (the first response was lost) replaces the pending token.
    const retry = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const second = tokenFinish(retry, await bank.activate(retry.request));
    expect(second.seed.equals(first.seed)).toBe(false);
    if (codeAt(first, clock.now) !== codeAt(second, clock.now)) await expectCode(() => bank.confirm(issued.userId, codeAt(first, clock.now)), "wrong-code");
    expect((await bank.confirm(issued.userId, codeAt(second, clock.now))).ok).toBe(true);
    // After completion the issue takes no activation.
    await expectCode(() => bank.activate(tokenRequest(issued.serviceId, issued.userId, PASSWORD).request), "already-confirmed");
  });

  it("refuses a request for an unknown issue and a low-order public key", async () => {
    const bank = await openBank();
    await expectCode(() => bank.activate(tokenRequest("12345678", "ABCDEFGHIJKLMNOP", PASSWORD).request), "unknown");
    const issued = await bank.issue(issueInput());
    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    // Public key u = 0 (low order) with a valid tag: the shared secret would be all zero (RFC 7748 §6.1).
    session.request.fill(0, 33, 65);
    const key = pbkdf2Sync(PASSWORD, issued.serviceId + issued.userId, 1000, 32, "sha256");
    createHmac("sha256", key).update(REQUEST_CONTEXT).update(session.request.subarray(0, 81)).digest().copy(session.request, 81);
    await expectCode(() => bank.activate(session.request), "malformed");
    expect(issueRow(bank, issued.userId)).toMatchObject({ pending_seed: null });
  });

  it("refuses every truncation and every single-bit flip of a valid request, changing nothing but the counted attempt", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    const valid = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const d = db(bank);
    const snapshot = () => ({
      issues: d.prepare("SELECT * FROM issues ORDER BY issue_id").all() as Record<string, unknown>[],
      nonces: d.prepare("SELECT * FROM issue_nonces").all(),
      tokens: d.prepare("SELECT * FROM tokens").all(),
      customers: d.prepare("SELECT * FROM customers").all(),
      meta: d.prepare("SELECT * FROM meta").all(),
    });
    const before = snapshot();
    const seen = new Map<string, number>();
    const attempt = async (bytes: Uint8Array) => {
      const error = await refusal(() => bank.activate(bytes));
      seen.set(error.code, (seen.get(error.code) ?? 0) + 1);
      expect(error.message.length).toBeGreaterThan(10);
      const after = snapshot();
      const counted = error.code === "wrong-password" ? 1 : 0;
      expect(after.issues[0].failed_attempts).toBe(counted);
      expect({ ...after, issues: after.issues.map((row) => ({ ...row, failed_attempts: 0 })) }).toEqual(before);
      // Put the count back so that the next mutation meets the same state (else 5 would void the issue).
      d.prepare("UPDATE issues SET failed_attempts = 0").run();
      return error.code;
    };
    for (let length = 0; length < 113; length++) expect(await attempt(valid.request.subarray(0, length))).toBe("malformed");
    expect(await attempt(Buffer.concat([valid.request, Buffer.from([0])]))).toBe("malformed");
    for (let bit = 0; bit < 113 * 8; bit++) {
      const flipped = Buffer.from(valid.request);
      flipped[bit >> 3] ^= 0x80 >> (bit & 7);
      const code = await attempt(flipped);
      const byte = bit >> 3;
      if (byte === 0) expect(code).toBe("malformed");
      else if (byte < 25) expect(["malformed", "unknown"]).toContain(code);
      else expect(code).toBe("wrong-password");
    }
    expect(seen.get("wrong-password")).toBe((113 - 25) * 8);
    // None of that burnt the real request's nonce: it still activates.
    tokenFinish(valid, await bank.activate(valid.request));
  }, 60_000);
});

describe("bank: the verifier", () => {
  it("accepts each step once: a replayed code and an earlier step after a later one are refused", async () => {
    const bank = await openBank({ throttleBaseSeconds: 0 });
    const { userId, token } = await setUp(bank);
    clock.now += 600;
    const now = codeAt(token, clock.now);
    const previous = codeAt(token, clock.now - 60);
    const next = codeAt(token, clock.now + 60);
    expect(await bank.verify(userId, next)).toMatchObject({ ok: true, offset: 1, driftSteps: 1 });
    await expectCode(() => bank.verify(userId, next), "replayed");
    // The window now centres on the drift (+1): the current step is its -1 side, and it is before the accepted step.
    if (now !== next) await expectCode(() => bank.verify(userId, now), "replayed");
    if (previous !== next && previous !== now) expect((await refusal(() => bank.verify(userId, previous))).code).toMatch(/replayed|wrong-code/);
    clock.now += 60;
    expect(await bank.verify(userId, codeAt(token, clock.now + 60))).toMatchObject({ ok: true, offset: 0, driftSteps: 1 });
    await expectCode(() => bank.verify(userId, "12345"), "invalid-code");
  });

  it("throttles: each failure delays the next check (1, 2, 4, ... s), refused with retryAfterSeconds and not counted; a success clears it", async () => {
    const bank = await openBank();
    const { userId, token } = await setUp(bank);
    clock.now += 120;
    const delays: number[] = [];
    for (let failure = 1; failure <= 5; failure++) {
      const error = await wrongLogin(bank, userId, token);
      expect(error.code).toBe("wrong-code");
      expect(error.attemptsLeft).toBe(10 - failure);
      expect(error.ja).toContain(`あと ${10 - failure} 回`);
      delays.push(error.details.retryAfterSeconds!);
      // At once: throttled, even with the right code, and not counted.
      const throttled = await expectCode(() => bank.verify(userId, codeAt(token, clock.now)), "throttled");
      expect(throttled.details.retryAfterSeconds).toBe(delays[failure - 1]);
      expect((await bank.status(userId)).token!.consecutiveFailures).toBe(failure);
    }
    expect(delays).toEqual([1, 2, 4, 8, 16]);
    clock.now += 16;
    expect((await bank.verify(userId, codeAt(token, clock.now))).ok).toBe(true);
    expect((await bank.status(userId)).token).toMatchObject({ consecutiveFailures: 0, nextCheckAt: 0 });
    expect((await bank.status(userId)).events.map((e) => e.kind)).toContain("throttled");
  });

  it("locks after 10 consecutive failures, never unlocks by time, and an administrator unlocks", async () => {
    const bank = await openBank();
    const { userId, token } = await setUp(bank);
    clock.now += 120;
    for (let i = 0; i < 9; i++) expect((await wrongLogin(bank, userId, token)).code).toBe("wrong-code");
    // A success resets the count.
    clock.now = (await bank.status(userId)).token!.nextCheckAt + 60;
    expect((await bank.verify(userId, codeAt(token, clock.now))).ok).toBe(true);
    clock.now += 60;
    for (let i = 1; i <= 9; i++) expect((await wrongLogin(bank, userId, token)).code).toBe("wrong-code");
    const locking = await wrongLogin(bank, userId, token);
    expect(locking.message).toMatch(/now locked/);
    expect(locking.attemptsLeft).toBe(0);
    expect(locking.ja).toContain("ロックされました");
    await expectCode(() => bank.verify(userId, codeAt(token, clock.now)), "locked");
    clock.now += 365 * 86400;
    await expectCode(() => bank.verify(userId, codeAt(token, clock.now)), "locked");
    await expectCode(() => bank.resync(userId, codeAt(token, clock.now), codeAt(token, clock.now + 60)), "locked");
    expect((await bank.status(userId)).token).toMatchObject({ locked: true, consecutiveFailures: 10 });
    await bank.unlock(userId);
    expect((await bank.status(userId)).token).toMatchObject({ locked: false, consecutiveFailures: 0, nextCheckAt: 0 });
    expect((await bank.status(userId)).events.map((e) => e.kind)).toEqual(expect.arrayContaining(["locked", "unlocked"]));
    expect((await bank.verify(userId, codeAt(token, clock.now))).ok).toBe(true);
    await expectCode(() => bank.unlock("2083L0000099A001"), "unknown");
  });

  it("resynchronises a token whose clock jumped, with two consecutive codes", async () => {
    const bank = await openBank({ throttleBaseSeconds: 0 });
    const { userId, token } = await setUp(bank);
    clock.now += 86400;
    const tokenTime = clock.now + 7 * 60; // the token runs 7 steps ahead
    await expectCode(() => bank.verify(userId, codeAt(token, tokenTime)), "wrong-code");
    // Not consecutive: refused, and counted.
    await expectCode(() => bank.resync(userId, codeAt(token, tokenTime), codeAt(token, tokenTime + 120)), "wrong-code");
    expect(await bank.resync(userId, codeAt(token, tokenTime), codeAt(token, tokenTime + 60))).toMatchObject({ ok: true, driftSteps: 8 });
    // The codes used are spent; the token's next code logs in with the learned drift.
    await expectCode(() => bank.resync(userId, codeAt(token, tokenTime), codeAt(token, tokenTime + 60)), "wrong-code");
    clock.now += 120;
    // Both codes were typed at one bank time, so the learned drift (+8, the second code's step) is one more than the token's +7.
    expect(await bank.verify(userId, codeAt(token, clock.now + 7 * 60))).toMatchObject({ ok: true, offset: -1, driftSteps: 7 });
    // Beyond ±10 steps resync cannot reach.
    clock.now += 600;
    await expectCode(() => bank.resync(userId, codeAt(token, clock.now + 7 * 60 + 12 * 60), codeAt(token, clock.now + 7 * 60 + 13 * 60)), "wrong-code");
    expect((await bank.status(userId)).token).toMatchObject({ consecutiveFailures: 1, driftSteps: 7 });
  });

  it("follows a crystal 20 ppm fast for 5 years of weekly use; without drift tracking it fails within the first year", async () => {
    const WEEK = 7 * 86400;
    const PPM = 20e-6;
    const run = async (trackDrift: boolean) => {
      clock.now = START;
      const bank = await openBank({ trackDrift, tokenLifetimeSeconds: 6 * 365 * 86400 }, `drift-${trackDrift}.sqlite`);
      const { userId, token } = await setUp(bank);
      const activatedAt = clock.now;
      const failures: number[] = [];
      let driftSteps = 0;
      for (let week = 1; week <= 5 * 52; week++) {
        // A different second of the step each week, so every phase of the boundary is met.
        clock.now = activatedAt + week * WEEK + ((week * 37) % 60);
        const tokenTime = Math.floor(activatedAt + (clock.now - activatedAt) * (1 + PPM));
        try {
          driftSteps = (await bank.verify(userId, codeAt(token, tokenTime))).driftSteps;
        } catch (error) {
          if (!(error instanceof BankError)) throw error;
          failures.push(week);
          if (error.code === "locked") break;
        }
      }
      return { failures, driftSteps, aheadSeconds: Math.round((clock.now - activatedAt) * PPM) };
    };
    const tracked = await run(true);
    expect(tracked.failures).toEqual([]);
    expect(tracked.aheadSeconds).toBeGreaterThan(3100); // ~52 steps after 5 years
    expect(tracked.driftSteps).toBeGreaterThanOrEqual(51);
    const untracked = await run(false);
    expect(untracked.failures.length).toBeGreaterThan(0);
    expect(untracked.failures[0]).toBeLessThan(52);
  }, 60_000);
});

describe("bank: the token's lifecycle", () => {
  it("suspend, resume and revoke; every transition that does not apply is refused and changes nothing", async () => {
    const bank = await openBank();
    const { userId, token } = await setUp(bank);
    const code = () => codeAt(token, clock.now);
    clock.now += 60;
    await expectCode(() => bank.resume(userId), "state");
    await bank.suspend(userId);
    expect((await bank.status(userId)).token!.state).toBe("suspended");
    await expectCode(() => bank.suspend(userId), "state");
    const suspended = await expectCode(() => bank.verify(userId, code()), "suspended");
    expect(suspended.ja).toContain("利用停止中");
    await expectCode(() => bank.resync(userId, code(), codeAt(token, clock.now + 60)), "suspended");
    await bank.resume(userId);
    expect((await bank.verify(userId, code())).ok).toBe(true);
    clock.now += 60;
    await bank.revoke(userId);
    for (const change of [bank.suspend, bank.resume, bank.revoke, bank.unlock]) await expectCode(() => change.call(bank, userId), "state");
    await expectCode(() => bank.verify(userId, code()), "revoked");
    expect((await bank.status(userId)).token!.state).toBe("revoked");
    // A revoked customer issues again and gets a working token.
    const again = await setUp(bank, { userId }, 7n);
    expect(again.userId).toBe("2083L0000001A002");
    clock.now += 60;
    expect((await bank.verify(again.userId, codeAt(again.token, clock.now))).ok).toBe(true);
    const kinds = (await bank.auditEvents(0, 1000)).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(["suspended", "resumed", "revoked", "token-replaced"]));
  });

  it("expires: refused after the expiry date set at issue; status lists the tokens due for renewal within 30 days", async () => {
    const bank = await openBank({ tokenLifetimeSeconds: 90 * 86400 });
    const first = await setUp(bank);
    clock.now += 40 * 86400;
    const second = await setUp(bank, { mail: "late@example.jp", mailConfirm: "late@example.jp" });
    expect((await bank.overview()).dueForRenewal).toEqual([]);
    clock.now += 30 * 86400; // first expires in 20 days, second in 60
    const overview = await bank.overview();
    expect(overview.dueForRenewal.map((d) => d.userId)).toEqual([first.userId]);
    expect(overview.tokens).toMatchObject({ active: 2, suspended: 0, revoked: 0, locked: 0 });
    expect((await bank.verify(first.userId, codeAt(first.token, clock.now))).ok).toBe(true);
    clock.now = first.tokenExpiresAt;
    const expired = await expectCode(() => bank.verify(first.userId, codeAt(first.token, clock.now)), "token-expired");
    expect(expired.ja).toContain("有効期限");
    expect((await bank.verify(second.userId, codeAt(second.token, clock.now))).ok).toBe(true);
  });
});

describe("bank: secrets at rest and the master key", () => {
  it("stores seeds and K_AC only sealed (AES-256-GCM), bound to their row", async () => {
    const bank = await openBank();
    const { userId, token } = await setUp(bank);
    db(bank).pragma("wal_checkpoint(TRUNCATE)");
    expect(readFileSync(join(dir, "bank.sqlite")).includes(token.seed)).toBe(false);
    const row = db(bank).prepare("SELECT seed FROM tokens WHERE user_id = ?").get(userId) as { seed: Buffer };
    expect(row.seed.length).toBe(1 + 12 + 20 + 16);
    // A sealed seed moved to another row does not open.
    const other = await setUp(bank, { mail: "z@z.jp", mailConfirm: "z@z.jp" });
    db(bank).prepare("UPDATE tokens SET seed = ? WHERE user_id = ?").run(row.seed, other.userId);
    clock.now += 60;
    await expectCode(() => bank.verify(other.userId, codeAt(other.token, clock.now)), "master-key");
    expect((await bank.verify(userId, codeAt(token, clock.now))).ok).toBe(true);
  });

  it("a wrong master key is refused at open, clearly", async () => {
    const bank = await openBank();
    await setUp(bank);
    const store = (await openStore(join(dir, "bank.sqlite"))) as SqliteStore;
    stores.push(store);
    const error = await expectCode(() => Bank.open(store, MasterKey.fromHex("ff".repeat(32))), "master-key");
    expect(error.message).toMatch(/not the one this bank database was created with/);
  });
});

describe("bank: a schema-1 database is migrated without losing a token", () => {
  /** A database as the previous version wrote it: random 8-digit Service ID per issue, random 16-character User ID per customer. */
  async function schemaOne(path: string, key: MasterKey): Promise<{ active: { userId: string; serviceId: string; seed: Buffer }; pending: { userId: string; serviceId: string } }> {
    const Database = (await import("better-sqlite3")).default;
    const d = new Database(path);
    d.pragma("journal_mode = WAL");
    d.exec(MIGRATIONS[0]);
    d.pragma("user_version = 1");
    d.prepare("INSERT INTO meta VALUES ('master-key-check', ?)").run(key.seal(new Uint8Array(16), aad.keyCheck()));
    const active = { userId: "K7Q2M9XW4ZB8T1RA", serviceId: "48213907", seed: randomBytes(20) };
    const pending = { userId: "P3N8V6H2C9J4L0DE", serviceId: "73950216" };
    for (const u of [active.userId, pending.userId]) d.prepare("INSERT INTO users VALUES (?, ?)").run(u, START - 1000);
    const insertIssue = d.prepare(
      `INSERT INTO issues (service_id, user_id, mail, created_at, expires_at, state, activation_key, algorithm, digits, period, label, completed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'SHA1', 6, 60, 'BANK', ?)`,
    );
    insertIssue.run(active.serviceId, active.userId, "old@example.jp", START - 900, START + 86400, "completed", null, START - 800);
    const kac = pbkdf2Sync(PASSWORD, pending.serviceId + pending.userId, 1000, 32, "sha256");
    insertIssue.run(pending.serviceId, pending.userId, "new@example.jp", START - 10, START + 86400, "pending", key.seal(kac, aad.activationKey(pending.serviceId, pending.userId)), null);
    d.prepare(
      `INSERT INTO tokens (user_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, activated_at)
       VALUES (?, ?, '00000000000000AA', ?, 'SHA1', 6, 60, 'BANK', 0, ?, ?)`,
    ).run(active.userId, active.serviceId, key.seal(active.seed, aad.seed(active.serviceId, active.userId, "00000000000000AA")), Math.floor((START - 800) / 60), START - 800);
    d.prepare("INSERT INTO events (at, kind, service_id, user_id, detail) VALUES (?, 'confirmed', ?, ?, 'serial 00000000000000AA active')").run(START - 800, active.serviceId, active.userId);
    d.close();
    return { active, pending };
  }

  it("the old token logs in by its old User ID alone; an old pending issue still activates and confirms; a re-set-up gets the new form", async () => {
    const key = MasterKey.fromHex(KEY_HEX);
    const { active, pending } = await schemaOne(join(dir, "bank.sqlite"), key);
    const bank = await openBank();
    expect(bank.store.schemaVersion).toBe(SCHEMA_VERSION);
    const old = { seed: active.seed, algorithm: "SHA1" as const, digits: 6, period: 60, label: "BANK" };
    expect(await bank.verify(active.userId, codeAt(old, clock.now))).toMatchObject({ ok: true });
    expect((await bank.status(active.userId)).token).toMatchObject({ serial: "00000000000000AA", state: "active", expiresAt: START - 800 + 1826 * 86400 });
    // The pending issue of schema 1: the token sends the old IDs; confirm finds it by User ID alone.
    const session = tokenRequest(pending.serviceId, pending.userId, PASSWORD);
    const fresh = tokenFinish(session, await bank.activate(session.request));
    expect((await bank.confirm(pending.userId, codeAt(fresh, clock.now))).ok).toBe(true);
    clock.now += 60;
    expect((await bank.verify(pending.userId, codeAt(fresh, clock.now))).ok).toBe(true);
    // The old customer's re-set-up is numbered in the new form; the old token works until it is confirmed.
    const again = await setUp(bank, { userId: active.userId }, 9n);
    expect(again.userId).toMatch(/^2083L\d{7}A001$/);
    await expectCode(() => bank.verify(active.userId, codeAt(old, clock.now + 60)), "unknown");
    // The migrated events were chained into the audit trail.
    expect(await bank.verifyAudit()).toMatchObject({ ok: true });
    expect((await bank.auditEvents(0, 1))[0]).toMatchObject({ kind: "confirmed", actor: "schema-1", userId: active.userId });
  });
});
