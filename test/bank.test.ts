// The bank side (host/bank): issue with the manual's IDs, activation (docs/activation.md, CPace) against
// an independent token-side reference (test/reference-cpace.ts, node:crypto), confirmation, the verifier
// (replay, throttling, lockout, resync, drift), the token's lifecycle, secrets at rest, and the
// schema-1 database migrated without losing a token. Every test about the store runs on both stores
// (describeStores): SQLite, and PostgreSQL on a server this file starts (test/pg-helpers.ts).
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Bank, type BankOptions } from "../host/bank/bank.js";
import { aad, MasterKey, pooledRandom, RANDOM_POOL_BYTES } from "../host/bank/crypto.js";
import { BankError, type BankErrorCode } from "../host/bank/errors.js";
import { CI_LABEL, CONFIRMATION_BYTES, PROTOCOL_VERSION, REQUEST_BYTES, RESPONSE_BYTES, SEED_INFO } from "../host/bank/protocol.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../host/bank/sqlite/schema.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import type { BankStore } from "../host/bank/store.js";
import { openStore } from "../host/bank/open-store.js";
import { USER_ID_FORM } from "../host/identity.js";
import { activateToken, codeAt, otherThan, tokenFinish, tokenRequest, type TokenProfile } from "./bank-helpers.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const START = 1_900_000_020; // 20 s into a 60 s step
const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PASSWORD = "Pass1234";
const SERVICE_ID = "10212083";

// ---- fixtures ----

type StoreKind = "sqlite" | "postgresql";
const KINDS: StoreKind[] = POSTGRES_SKIP === null ? ["sqlite", "postgresql"] : ["sqlite"];
const postgres = usePostgres();

let dir: string;
let clock: { now: number };
let stores: BankStore[];
let kind: StoreKind;
/** PostgreSQL: a database per file name a test opens (a fresh one per test). */
let databases: Map<string, string>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-bank-"));
  clock = { now: START };
  stores = [];
  kind = "sqlite";
  databases = new Map();
});

afterEach(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `body`'s tests once per store kind (PostgreSQL skipped, with the reason, where it is missing). */
function describeStores(name: string, body: () => void): void {
  describe.each(KINDS)(`${name} [%s]`, (storeKind) => {
    beforeEach(() => {
      kind = storeKind;
    });
    body();
  });
  if (POSTGRES_SKIP !== null) it.skip(`${name} [postgresql]: ${POSTGRES_SKIP}`, () => undefined);
}

/** The store `file` names in this test: an SQLite file, or a PostgreSQL database of its own. */
async function openAt(file: string, create: boolean): Promise<BankStore> {
  let store: BankStore;
  if (kind === "sqlite") {
    store = await openStore(join(dir, file), { create });
  } else {
    let url = databases.get(file);
    if (url === undefined) {
      url = postgres.freshUrl();
      databases.set(file, url);
    }
    store = await openStore(url, { create });
  }
  stores.push(store);
  return store;
}

async function openBank(options: BankOptions = {}, file = "bank.sqlite", key = MasterKey.fromHex(KEY_HEX)): Promise<Bank> {
  const store = await openAt(file, true);
  const bank = await Bank.open(store, key, { now: () => clock.now, outboxDir: join(dir, "outbox"), ...options });
  if (bank.serviceId !== SERVICE_ID) await bank.updateSettings({ serviceId: SERVICE_ID });
  return bank;
}

const db = (bank: Bank) => (bank.store as SqliteStore).engine!.db;

/** Rows of `text` (SQLite's ? placeholders) straight from the store's database; PostgreSQL's queued audit rows are chained first. */
async function sql(from: Bank | BankStore, text: string, ...params: unknown[]): Promise<Record<string, unknown>[]> {
  const store = from instanceof Bank ? from.store : from;
  if (store.kind === "sqlite") {
    const statement = (store as SqliteStore).engine!.db.prepare(text);
    if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
    statement.run(...params);
    return [];
  }
  const pg = store as PgStore;
  await pg.sealAudit();
  let n = 0;
  return (
    await pg.pool.query(
      text.replace(/\?/g, () => `$${++n}`),
      params,
    )
  ).rows;
}

const one = async (from: Bank | BankStore, text: string, ...params: unknown[]) => (await sql(from, text, ...params))[0];

/** Every byte the database keeps on disk (SQLite: the file after a checkpoint; PostgreSQL: the data directory, WAL included, after CHECKPOINT). */
async function atRest(bank: Bank): Promise<Buffer> {
  if (bank.store.kind === "sqlite") {
    db(bank).pragma("wal_checkpoint(TRUNCATE)");
    return readFileSync(join(dir, "bank.sqlite"));
  }
  await (bank.store as PgStore).pool.query("CHECKPOINT");
  return postgres.server.filesAtRest();
}

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

/** issue -> 送信 -> 登録 (the token checks Tb, derives the seed, its confirmation goes to the bank) -> confirm with its first code. */
async function setUp(bank: Bank, overrides: Record<string, unknown> = {}, serial?: bigint) {
  const issued = await bank.issue(issueInput(overrides));
  const token = await activateToken(bank, issued.serviceId, issued.userId, PASSWORD, serial);
  const confirmed = await bank.confirm(issued.userId, codeAt(token, clock.now));
  return { ...issued, token, confirmed };
}

const issueRow = (bank: Bank, userId: string) => one(bank, "SELECT * FROM issues WHERE user_id = ? ORDER BY issue_id DESC", userId);

/** A wrong code, after waiting out the throttling delay the previous failure set. */
async function wrongLogin(bank: Bank, userId: string, token: TokenProfile): Promise<BankError> {
  const status = await bank.status(userId);
  if (status.token && status.token.nextCheckAt > clock.now) clock.now = status.token.nextCheckAt;
  return refusal(() => bank.verify(userId, otherThan(codeAt(token, clock.now))));
}

describe("pooled random bytes (nonces, ids)", () => {
  it("each request its own bytes of the length asked, across pool refills and above the pooled size; none repeated; a copy the caller may change", () => {
    const random = pooledRandom();
    const seen = new Set<string>();
    const draws = (3 * RANDOM_POOL_BYTES) / 16 + 7;
    for (let i = 0; i < draws; i++) {
      const bytes = random(16);
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(bytes.length).toBe(16);
      seen.add(Buffer.from(bytes).toString("hex"));
      bytes.fill(0xff);
    }
    // 16 random bytes twice, or a zeroised (all-zero) part handed out again, would show here.
    expect(seen.size).toBe(draws);
    expect(seen.has("00".repeat(16))).toBe(false);
    const sizes = [0, 1, 12, 33, RANDOM_POOL_BYTES / 4, RANDOM_POOL_BYTES / 4 + 1, RANDOM_POOL_BYTES + 5];
    const made = sizes.map((n) => random(n));
    expect(made.map((b) => b.length)).toEqual(sizes);
    for (const b of made.filter((b) => b.length >= 12)) expect(b.some((x) => x !== 0)).toBe(true);
    // Two generators share nothing.
    expect(Buffer.from(pooledRandom()(32)).equals(Buffer.from(pooledRandom()(32)))).toBe(false);
  });
});

describe("protocol constants", () => {
  it("are the ones docs/activation.md fixes", () => {
    expect([PROTOCOL_VERSION, REQUEST_BYTES, RESPONSE_BYTES, CONFIRMATION_BYTES]).toEqual([2, 82, 117, 106]);
    expect([CI_LABEL, SEED_INFO]).toEqual(["otp-token activation", "otp-token seed v2"]);
  });
});

describeStores("bank: the manual's Service ID and User ID", () => {
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

describeStores("bank: issue, activate, confirm, verify", () => {
  it("runs the whole procedure against the token-side reference", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    expect(issued.expiresAt).toBe(START + 86400);
    expect(issued.tokenExpiresAt).toBe(START + 1826 * 86400);

    // The set-up mail: MIME, UTF-8, RFC 2047 encoded Japanese subject, the IDs, never the password.
    const raw = readFileSync(issued.mailFile!, "utf8");
    const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
    for (const header of ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"])
      expect(head).toMatch(new RegExp(`^${header}: `, "m"));
    expect(head).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    expect(head).toMatch(/^Content-Type: text\/plain; charset=utf-8$/m);
    expect(head).toMatch(/<no-reply@bank\.example>/);
    const { readOutboxMail } = await import("../host/bank/mail.js");
    const mail = readOutboxMail(join(dir, "outbox"), issued.mailId!)!;
    expect(mail.subject).toContain("トークン発行");
    for (const words of [
      issued.serviceId,
      issued.userId,
      "サービスID",
      "ユーザID",
      "利用開始パスワード",
      "同意する",
      "送信",
      "登録",
      "認証確認",
    ])
      expect(mail.text).toContain(words);
    expect(mail.text).not.toMatch(/URL/);
    expect(raw + mail.text).not.toContain(PASSWORD);

    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const token = tokenFinish(session, await bank.activate(session.request));
    expect(token).toMatchObject({ algorithm: "SHA1", digits: 6, period: 60, label: "BANK" });
    expect(token.seed.length).toBe(20);
    // The token has the seed; the bank keeps it only once the token's confirmation (message 3) arrives.
    await expectCode(() => bank.confirm(issued.userId, codeAt(token, clock.now)), "not-activated");
    expect(await bank.register(token.confirmation)).toEqual({ serial: "0123456789ABCDEF" });
    // Not active until the first code is confirmed.
    await expectCode(() => bank.verify(issued.userId, codeAt(token, clock.now)), "unknown");
    expect(await bank.confirm(issued.userId, codeAt(token, clock.now))).toMatchObject({ ok: true, offset: 0, driftSteps: 0 });
    // The issue is completed; its activation password and sessions are gone.
    expect(await issueRow(bank, issued.userId)).toMatchObject({ state: "completed", activation_key: null, pending_seed: null });
    expect(await one(bank, "SELECT count(*) AS n FROM activation_sessions")).toEqual({ n: 0 });
    // Confirming again says so, distinctly.
    const again = await expectCode(() => bank.confirm(issued.userId, codeAt(token, clock.now)), "already-confirmed");
    expect(again.ja).toContain("認証確認が完了");
    // The confirmation code itself is used up; a later code logs in.
    await expectCode(() => bank.verify(issued.userId, codeAt(token, clock.now)), "replayed");
    clock.now += 120;
    expect(await bank.verify(issued.userId, codeAt(token, clock.now))).toMatchObject({ ok: true, offset: 0 });
    expect((await bank.status(issued.userId)).token).toMatchObject({
      serial: "0123456789ABCDEF",
      locked: false,
      consecutiveFailures: 0,
      state: "active",
    });
  });

  it("gives the token the OTP parameters of the issue (SHA-256, 8 digits, 30 s, label)", async () => {
    const bank = await openBank({ otp: { algorithm: "SHA512", digits: 7, period: 60, label: "CREDIT UNION" } });
    const plain = await setUp(bank);
    expect(plain.token).toMatchObject({ algorithm: "SHA512", digits: 7, label: "CREDIT UNION" });
    expect(plain.token.seed.length).toBe(64);
    const custom = await setUp(bank, {
      mail: "b@c.jp",
      mailConfirm: "b@c.jp",
      otp: { algorithm: "sha-256", digits: 8, period: 30, label: "ACME-2" },
    });
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
    const fresh = await activateToken(bank, again.serviceId, again.userId, PASSWORD, 2n);
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
    expect(await issueRow(bank, first.userId)).toMatchObject({ state: "void", void_reason: "superseded", activation_key: null });
    expect(await issueRow(bank, second.userId)).toMatchObject({ state: "pending" });
    clock.now += 2 * 86400; // the second one expires unused
    expect((await bank.verify(old.userId, codeAt(old.token, clock.now))).ok).toBe(true);
  });

  it("confirm: refused before activation; a wrong code says the attempts left (あと N 回); the 5th voids the issue, plainly, in Japanese too", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    await expectCode(() => bank.confirm(issued.userId, "123456"), "not-activated");
    const token = await activateToken(bank, issued.serviceId, issued.userId, PASSWORD);
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
    expect(last.ja).toBe(
      "ワンタイムパスワードが違います。このトークン発行は無効になりました。もう一度「トークン発行」からやり直してください。",
    );
    await expectCode(() => bank.confirm(issued.userId, right), "issue-void");
  });
});

describeStores("bank: customers who log in (issue 18: steps ① and ⑧)", () => {
  const LOGIN_PASSWORD = "Login-pass-42";

  it("a customer logs in with ID and password, issues, and from the first 認証確認 on needs the token's code; the re-set-up is ...A002", async () => {
    const bank = await openBank();
    const made = await bank.createCustomer({ loginId: "yamada01", password: LOGIN_PASSWORD, passwordConfirm: LOGIN_PASSWORD });
    expect(made).toMatchObject({ customerNumber: "0000001", loginId: "yamada01", created: true });
    // The password is kept as a scrypt hash only: N = 2^15, r = 8, p = 1.
    const row = await one(bank, "SELECT * FROM customer_logins WHERE login_id = ?", "yamada01");
    expect(String(row.password_hash)).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect((await atRest(bank)).includes(Buffer.from(LOGIN_PASSWORD))).toBe(false);
    const first = await bank.login({ loginId: "yamada01", password: LOGIN_PASSWORD });
    expect(first).toMatchObject({ customerNumber: "0000001", userId: null });
    // トークン発行 for the logged-in customer: its number is in the User ID.
    const issued = await bank.issue(issueInput({ ticket: first.ticket }));
    expect(issued.userId).toBe("2083L0000001A001");
    const token = await activateToken(bank, issued.serviceId, issued.userId, PASSWORD);
    await bank.confirm(issued.userId, codeAt(token, clock.now));
    // ⑧: the password alone is no longer enough, and a wrong code counts on the token.
    await expectCode(() => bank.login({ loginId: "yamada01", password: LOGIN_PASSWORD }), "code-required");
    clock.now += 60;
    const wrong = await expectCode(
      () => bank.login({ loginId: "yamada01", password: LOGIN_PASSWORD, code: otherThan(codeAt(token, clock.now)) }),
      "wrong-code",
    );
    expect(wrong.attemptsLeft).toBe(9);
    clock.now += 60;
    const second = await bank.login({ loginId: "yamada01", password: LOGIN_PASSWORD, code: codeAt(token, clock.now) });
    expect(second).toMatchObject({ customerNumber: "0000001", userId: "2083L0000001A001" });
    // The re-set-up: the same customer's next issue; 戻る (issuing again) voids the pending one.
    const again = await bank.issue(issueInput({ ticket: second.ticket }));
    expect(again.userId).toBe("2083L0000001A002");
    const backAndAgain = await bank.issue(issueInput({ ticket: second.ticket }));
    expect(backAndAgain.userId).toBe("2083L0000001A003");
    expect(await issueRow(bank, "2083L0000001A002")).toMatchObject({ state: "void", void_reason: "superseded" });
    const renewed = await activateToken(bank, backAndAgain.serviceId, backAndAgain.userId, PASSWORD, 0x42n);
    clock.now += 60;
    await bank.confirm(backAndAgain.userId, codeAt(renewed, clock.now));
    clock.now += 60;
    const third = await bank.login({ loginId: "yamada01", password: LOGIN_PASSWORD, code: codeAt(renewed, clock.now) });
    expect(third.userId).toBe("2083L0000001A003");
    // The old token's code is refused: its User ID has no token any more.
    await expectCode(() => bank.verify("2083L0000001A001", codeAt(token, clock.now + 60)), "unknown");
    // No new customer was made along the way.
    expect(await one(bank, "SELECT count(*) AS n FROM customers")).toMatchObject({ n: expect.anything() });
    expect(Number((await one(bank, "SELECT count(*) AS n FROM customers")).n)).toBe(1);
  });

  it("wrong passwords are throttled (nothing is checked while waiting), lock at the threshold, an unknown ID costs nothing; unlock", async () => {
    const bank = await openBank();
    await bank.createCustomer({ loginId: "suzuki02", password: LOGIN_PASSWORD });
    const unknown = await expectCode(() => bank.login({ loginId: "nobody99", password: LOGIN_PASSWORD }), "login-failed");
    expect(unknown.ja).toBe("ログインIDまたはログインパスワードが違います。");
    const first = await expectCode(() => bank.login({ loginId: "suzuki02", password: "Wrong-pass-1" }), "login-failed");
    expect(first.attemptsLeft).toBe(9);
    expect(first.details.retryAfterSeconds).toBe(1);
    expect(first.ja).toContain("あと 9 回");
    // Within the delay even the right password is not checked.
    const throttled = await expectCode(() => bank.login({ loginId: "suzuki02", password: LOGIN_PASSWORD }), "throttled");
    expect(throttled.details.retryAfterSeconds).toBe(1);
    for (let i = 2; i <= 10; i++) {
      const row = await one(bank, "SELECT next_check_at FROM customer_logins WHERE login_id = ?", "suzuki02");
      clock.now = Math.max(clock.now, Number(row.next_check_at));
      const error = await refusal(() => bank.login({ loginId: "suzuki02", password: "Wrong-pass-1" }));
      expect(error.code).toBe(i === 10 ? "login-locked" : "login-failed");
    }
    clock.now += 10_000;
    const locked = await expectCode(() => bank.login({ loginId: "suzuki02", password: LOGIN_PASSWORD }), "login-locked");
    expect(locked.ja).toContain("ヘルプデスク");
    await bank.unlockLogin("suzuki02");
    expect((await bank.login({ loginId: "suzuki02", password: LOGIN_PASSWORD })).customerNumber).toBe("0000001");
    const kinds = (await bank.auditEvents()).map((e) => e.kind);
    expect(kinds.filter((k) => k === "login-failure")).toHaveLength(9);
    expect(kinds).toEqual(expect.arrayContaining(["customer-created", "login-locked", "login-unlocked", "customer-login"]));
    // The audit trail never holds a password.
    expect(JSON.stringify(await bank.auditEvents())).not.toContain("Wrong-pass-1");
  });

  it("the login's rules, a taken login ID, a forged or expired ticket", async () => {
    const bank = await openBank();
    await expectCode(() => bank.createCustomer({ loginId: "abc", password: LOGIN_PASSWORD }), "login-id-form");
    await expectCode(() => bank.createCustomer({ loginId: "tanaka03", password: "short1" }), "login-password-form");
    await expectCode(() => bank.createCustomer({ loginId: "tanaka03", password: "nodigitshere" }), "login-password-form");
    await expectCode(
      () => bank.createCustomer({ loginId: "tanaka03", password: LOGIN_PASSWORD, passwordConfirm: "Other-pass-1" }),
      "login-password-mismatch",
    );
    await bank.createCustomer({ loginId: "tanaka03", password: LOGIN_PASSWORD });
    await expectCode(() => bank.createCustomer({ loginId: "tanaka03", password: LOGIN_PASSWORD }), "login-taken");
    const { ticket } = await bank.login({ loginId: "tanaka03", password: LOGIN_PASSWORD });
    // The customer is named once: a ticket and a User ID together are refused, nothing issued.
    await expectCode(() => bank.issue(issueInput({ ticket, userId: "2083L0000009A001" })), "unknown");
    const forged = ticket.replace(/^0000001/, "0000002");
    await expectCode(() => bank.issue(issueInput({ ticket: forged })), "login-ticket");
    clock.now += 1800;
    await expectCode(() => bank.issue(issueInput({ ticket })), "login-ticket");
    // A token issued before logins: its customer gets a login.
    const old = await bank.issue(issueInput());
    const attached = await bank.createCustomer({ loginId: "sato0004", password: LOGIN_PASSWORD, userId: old.userId });
    expect(attached.customerNumber).toBe(old.userId.slice(5, 12));
  });

  it("the bank's backend names its customer by its own reference: the same reference is always the same customer, racing calls included", async () => {
    const bank = await openBank();
    const results = await Promise.all(Array.from({ length: 5 }, () => bank.createCustomer({ reference: "CIF-000123" })));
    expect(new Set(results.map((r) => r.customerNumber)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await bank.createCustomer({ reference: "CIF-000123" })).created).toBe(false);
    expect(Number((await one(bank, "SELECT count(*) AS n FROM customers")).n)).toBe(1);
    const issued = await bank.issue(issueInput({ customerReference: "CIF-000123" }));
    expect(issued.userId).toBe(`2083L${results[0].customerNumber}A001`);
    const next = await bank.issue(issueInput({ customerReference: "CIF-000123" }));
    expect(next.userId).toBe(`2083L${results[0].customerNumber}A002`);
    await expectCode(() => bank.issue(issueInput({ customerReference: "CIF-999" })), "unknown");
  });
});

describeStores("bank: the issue screen's rules, one error each", () => {
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
    expect(await one(bank, "SELECT count(*) AS n FROM issues")).toEqual({ n: 0 });
    expect(await one(bank, "SELECT count(*) AS n FROM customers")).toEqual({ n: 0 });
  });

  it("accepts the edges: 4 and 64 characters, 4 and 8 character passwords, dots anywhere before the '@'", async () => {
    const bank = await openBank();
    for (const mail of ["a@jp", `${"a".repeat(58)}@ab.jp`, "a..b.@docomo.ne.jp", "x+y!#$%&'*/=?^_`{|}~-@mail.example"]) {
      expect((await bank.issue(issueInput({ mail, mailConfirm: mail }))).mail).toBe(mail);
    }
    for (const password of ["abcd", "ABCD1234"]) await bank.issue(issueInput({ password, passwordConfirm: password }));
    // Stored sealed (AES-256-GCM under the master key): the password's bytes are nowhere in the database file.
    expect((await atRest(bank)).includes(Buffer.from("ABCD1234"))).toBe(false);
  });
});

describeStores('bank: activation (docs/activation.md, "Rules", the bank)', () => {
  const snapshotOf = async (bank: Bank) => ({
    issues: await sql(bank, "SELECT * FROM issues ORDER BY issue_id"),
    sessions: await sql(bank, "SELECT * FROM activation_sessions ORDER BY sid"),
    tokens: await sql(bank, "SELECT * FROM tokens"),
    customers: await sql(bank, "SELECT * FROM customers"),
    meta: await sql(bank, "SELECT * FROM meta"),
  });
  const attemptsOf = async (bank: Bank, userId: string) => (await issueRow(bank, userId)).failed_attempts;

  it("counts each new request (committed) before any CPace work; the attempts left come with the answer; the request after the 5th voids the issue", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    for (let attempt = 1; attempt <= 5; attempt++) {
      const wrong = tokenRequest(issued.serviceId, issued.userId, "Wrong123");
      // The bank cannot tell a wrong password: it answers, with the attempts left should the token refuse it.
      const answer = await bank.activate(wrong.request);
      expect(answer.attemptsLeft).toBe(5 - attempt);
      expect(() => tokenFinish(wrong, answer)).toThrow(/does not verify/);
      // Read from a second connection, as a process started after a crash would.
      const reopened = await openAt("bank.sqlite", false);
      const row = await one(reopened, "SELECT failed_attempts, state FROM issues WHERE user_id = ?", issued.userId);
      await reopened.close();
      expect(row).toEqual({ failed_attempts: attempt, state: "pending" });
    }
    // The 5th wrong password left none: a first code is refused as void, and so is the next request, which voids the issue.
    await expectCode(() => bank.confirm(issued.userId, "123456"), "issue-void");
    const right = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const error = await expectCode(() => bank.activate(right.request), "issue-void");
    expect(error.attemptsLeft).toBe(0);
    expect(error.ja).toBe("このトークン発行は無効になりました。もう一度「トークン発行」からやり直してください。");
    expect(await issueRow(bank, issued.userId)).toMatchObject({
      state: "void",
      void_reason: "failures",
      activation_key: null,
      failed_attempts: 5,
    });
    expect(await one(bank, "SELECT count(*) AS n FROM activation_sessions")).toEqual({ n: 0 });
  });

  it("takes the count back when the token confirms: 4 wrong, then the right one works", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    for (let i = 0; i < 4; i++) await bank.activate(tokenRequest(issued.serviceId, issued.userId, "nope").request);
    const right = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const answer = await bank.activate(right.request);
    expect(answer.attemptsLeft).toBe(0);
    const token = tokenFinish(right, answer);
    expect(await attemptsOf(bank, issued.userId)).toBe(5);
    expect(await bank.register(token.confirmation)).toEqual({ serial: "0123456789ABCDEF" });
    expect(await issueRow(bank, issued.userId)).toMatchObject({ failed_attempts: 4, state: "pending", pending_serial: "0123456789ABCDEF" });
    expect((await bank.confirm(issued.userId, codeAt(token, clock.now))).ok).toBe(true);
  });

  it("leaves the attempt counted when the process dies between counting and answering", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    // Simulate the crash: the sealed password cannot be opened right after the count was committed.
    await sql(bank, "UPDATE issues SET activation_key = ? WHERE user_id = ?", Buffer.alloc(40), issued.userId);
    await expectCode(() => bank.activate(tokenRequest(issued.serviceId, issued.userId, PASSWORD).request), "master-key");
    expect(await issueRow(bank, issued.userId)).toMatchObject({ failed_attempts: 1 });
  });

  it("refuses an expired issue, and forgets its password and its sessions' secrets", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const token = tokenFinish(session, await bank.activate(session.request));
    expect((await issueRow(bank, issued.userId)).activation_key).not.toBeNull();
    clock.now += 86400;
    await expectCode(() => bank.activate(tokenRequest(issued.serviceId, issued.userId, PASSWORD).request), "expired");
    await expectCode(() => bank.register(token.confirmation), "expired");
    expect(await issueRow(bank, issued.userId)).toMatchObject({ failed_attempts: 1, activation_key: null, pending_seed: null });
    expect(await sql(bank, "SELECT secrets FROM activation_sessions")).toEqual([{ secrets: null }]);
  });

  it("answers a repeated request again without counting; refuses other bytes under an answered session id", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const answer = await bank.activate(session.request);
    const before = await snapshotOf(bank);
    // The first response was lost: the token (or the relay) sends the same request again.
    for (let i = 0; i < 3; i++) {
      const again = await bank.activate(session.request);
      expect(Buffer.from(again.response).equals(Buffer.from(answer.response))).toBe(true);
      expect(again.attemptsLeft).toBe(answer.attemptsLeft);
    }
    expect(await snapshotOf(bank)).toEqual(before);
    // The same session id with another share (a forgery built on a seen request) is refused, not counted.
    const forged = Buffer.from(session.request);
    forged[81] ^= 1;
    await expectCode(() => bank.activate(forged), "replayed");
    expect(await snapshotOf(bank)).toEqual(before);
    // A retry with a fresh session (new sid, new share) is a new attempt; its confirmation makes it the pending token.
    const retry = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const second = tokenFinish(retry, await bank.activate(retry.request));
    await bank.register(second.confirmation);
    const first = tokenFinish(session, answer);
    expect(second.seed.equals(first.seed)).toBe(false);
    expect(await attemptsOf(bank, issued.userId)).toBe(1); // the first session was never confirmed
    // The first session's confirmation, arriving late, replaces the pending token in turn.
    await bank.register(first.confirmation);
    expect(await attemptsOf(bank, issued.userId)).toBe(0);
    if (codeAt(first, clock.now) !== codeAt(second, clock.now))
      await expectCode(() => bank.confirm(issued.userId, codeAt(second, clock.now)), "wrong-code");
    expect((await bank.confirm(issued.userId, codeAt(first, clock.now))).ok).toBe(true);
    // After completion the issue takes no activation.
    await expectCode(() => bank.activate(session.request), "already-confirmed");
    await expectCode(() => bank.activate(tokenRequest(issued.serviceId, issued.userId, PASSWORD).request), "already-confirmed");
  });

  it("the holder's own request replayed 10 times after success changes nothing, and the first code is still accepted", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const answer = await bank.activate(session.request);
    const token = tokenFinish(session, answer);
    await bank.register(token.confirmation);
    const before = await snapshotOf(bank);
    for (let i = 0; i < 10; i++) {
      expect(Buffer.from((await bank.activate(session.request)).response).equals(Buffer.from(answer.response))).toBe(true);
      expect(await bank.register(token.confirmation)).toEqual({ serial: "0123456789ABCDEF" });
    }
    expect(await snapshotOf(bank)).toEqual(before);
    expect((await bank.confirm(issued.userId, codeAt(token, clock.now))).ok).toBe(true);
  });

  it("refuses a request for an unknown issue, and aborts on a low-order Ya (counted, nothing stored)", async () => {
    const bank = await openBank();
    await expectCode(() => bank.activate(tokenRequest("12345678", "ABCDEFGHIJKLMNOP", PASSWORD).request), "unknown");
    const issued = await bank.issue(issueInput());
    for (const point of [
      "00",
      "01",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    ]) {
      const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
      session.request.fill(0, 50, 82);
      Buffer.from(point.padEnd(64, "0"), "hex").copy(session.request, 50);
      expect((await expectCode(() => bank.activate(session.request), "malformed")).message).toMatch(/low-order/);
    }
    expect(await issueRow(bank, issued.userId)).toMatchObject({ failed_attempts: 4, pending_seed: null });
    expect(await one(bank, "SELECT count(*) AS n FROM activation_sessions")).toEqual({ n: 0 });
  });

  it("refuses every truncation and every single-bit flip of a request: the form at the bank, the rest at the token", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    const valid = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const before = await snapshotOf(bank);
    const reset = async () => {
      await sql(bank, "UPDATE issues SET failed_attempts = 0");
      await sql(bank, "DELETE FROM activation_sessions");
    };
    for (let length = 0; length < REQUEST_BYTES; length++)
      await expectCode(() => bank.activate(valid.request.subarray(0, length)), "malformed");
    await expectCode(() => bank.activate(Buffer.concat([valid.request, Buffer.from([0])])), "malformed");
    expect(await snapshotOf(bank)).toEqual(before);
    const seen = new Map<string, number>();
    for (let bit = 0; bit < REQUEST_BYTES * 8; bit++) {
      const flipped = Buffer.from(valid.request);
      flipped[bit >> 3] ^= 0x80 >> (bit & 7);
      let outcome: string;
      try {
        // Serial, sid and Ya carry no check the bank could make: it answers (and counts the attempt),
        // and the token refuses the answer, whose Tb was computed for another transcript.
        const answer = await bank.activate(flipped);
        expect(() => tokenFinish(valid, answer), `bit ${bit}`).toThrow(/does not verify/);
        expect(await attemptsOf(bank, issued.userId)).toBe(1);
        outcome = "refused by the token";
      } catch (error) {
        if (!(error instanceof BankError)) throw error;
        expect(await snapshotOf(bank), `bit ${bit}`).toEqual(before);
        outcome = error.code;
      }
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
      const byte = bit >> 3;
      if (byte < 2) expect(outcome).toBe("malformed");
      else if (byte < 26) expect(["malformed", "unknown"]).toContain(outcome);
      else expect(outcome).toBe("refused by the token");
      await reset();
    }
    expect(seen.get("refused by the token")).toBe((REQUEST_BYTES - 26) * 8);
    expect(await snapshotOf(bank)).toEqual(before);
    // None of that spent the real request: it still activates.
    await bank.register(tokenFinish(valid, await bank.activate(valid.request)).confirmation);
    expect(await issueRow(bank, issued.userId)).toMatchObject({ failed_attempts: 0, pending_serial: "0123456789ABCDEF" });
  }, 120_000);

  it("refuses every truncation and every single-bit flip of the token's confirmation, changing nothing", async () => {
    const bank = await openBank();
    const issued = await bank.issue(issueInput());
    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const token = tokenFinish(session, await bank.activate(session.request));
    const before = await snapshotOf(bank);
    for (let length = 0; length < CONFIRMATION_BYTES; length++)
      await expectCode(() => bank.register(token.confirmation.subarray(0, length)), "malformed");
    await expectCode(() => bank.register(Buffer.concat([token.confirmation, Buffer.from([0])])), "malformed");
    const seen = new Map<string, number>();
    for (let bit = 0; bit < CONFIRMATION_BYTES * 8; bit++) {
      const flipped = Buffer.from(token.confirmation);
      flipped[bit >> 3] ^= 0x80 >> (bit & 7);
      const error = await refusal(() => bank.register(flipped));
      seen.set(error.code, (seen.get(error.code) ?? 0) + 1);
      const byte = bit >> 3;
      if (byte < 2) expect(error.code).toBe("malformed");
      else if (byte < 26) expect(["malformed", "unknown"]).toContain(error.code);
      else if (byte < 42) expect(error.code).toBe("unknown");
      else expect(error.code).toBe("wrong-confirmation");
    }
    expect(seen.get("wrong-confirmation")).toBe(64 * 8);
    // Only the audit trail grew (one line per wrong tag).
    expect(await snapshotOf(bank)).toEqual(before);
    expect(await one(bank, "SELECT count(*) AS n FROM events WHERE kind = 'activation-wrong-confirmation'")).toEqual({ n: 64 * 8 });
    const wrong = await refusal(() => bank.register(Buffer.from(token.confirmation).fill(0, 42)));
    expect(wrong.ja).toContain("もう一度「送信」");
    await bank.register(token.confirmation);
    expect((await bank.confirm(issued.userId, codeAt(token, clock.now))).ok).toBe(true);
  }, 60_000);
});

describeStores("bank: the verifier", () => {
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
    if (previous !== next && previous !== now)
      expect((await refusal(() => bank.verify(userId, previous))).code).toMatch(/replayed|wrong-code/);
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
    await expectCode(
      () => bank.resync(userId, codeAt(token, clock.now + 7 * 60 + 12 * 60), codeAt(token, clock.now + 7 * 60 + 13 * 60)),
      "wrong-code",
    );
    expect((await bank.status(userId)).token).toMatchObject({ consecutiveFailures: 1, driftSteps: 7 });
  });

  it("resync takes only codes after the last accepted step: after a login at step s, (s, s+1) is refused and (s+1, s+2) accepted", async () => {
    const bank = await openBank({ throttleBaseSeconds: 0 });
    const { userId, token } = await setUp(bank);
    clock.now += 3600;
    const s = Math.floor(clock.now / 60);
    expect(await bank.verify(userId, codeAt(token, clock.now))).toMatchObject({ ok: true, step: s });
    await expectCode(() => bank.resync(userId, codeAt(token, clock.now), codeAt(token, clock.now + 60)), "wrong-code");
    expect(await bank.resync(userId, codeAt(token, clock.now + 60), codeAt(token, clock.now + 120))).toMatchObject({
      ok: true,
      step: s + 2,
    });
    expect((await bank.status(userId)).token).toMatchObject({ lastStep: s + 2, consecutiveFailures: 0 });
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

describeStores("bank: the token's lifecycle", () => {
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

describeStores("bank: secrets at rest and the master key", () => {
  it("stores seeds and activation passwords only sealed (AES-256-GCM), bound to their row", async () => {
    const bank = await openBank();
    const { userId, token } = await setUp(bank);
    expect((await atRest(bank)).includes(token.seed)).toBe(false);
    const row = (await one(bank, "SELECT seed FROM tokens WHERE user_id = ?", userId)) as { seed: Buffer };
    expect(row.seed.length).toBe(1 + 12 + 20 + 16);
    // A sealed seed moved to another row does not open.
    const other = await setUp(bank, { mail: "z@z.jp", mailConfirm: "z@z.jp" });
    await sql(bank, "UPDATE tokens SET seed = ? WHERE user_id = ?", row.seed, other.userId);
    clock.now += 60;
    await expectCode(() => bank.verify(other.userId, codeAt(other.token, clock.now)), "master-key");
    expect((await bank.verify(userId, codeAt(token, clock.now))).ok).toBe(true);
    // The same for a sealed activation password: it opens only for its own issue.
    const first = await bank.issue(issueInput({ mail: "p@q.jp", mailConfirm: "p@q.jp" }));
    const second = await bank.issue(issueInput({ mail: "r@s.jp", mailConfirm: "r@s.jp" }));
    const sealed = (await issueRow(bank, first.userId)).activation_key as Buffer;
    expect(sealed.includes(Buffer.from(PASSWORD))).toBe(false);
    await sql(bank, "UPDATE issues SET activation_key = ? WHERE user_id = ?", sealed, second.userId);
    await expectCode(() => bank.activate(tokenRequest(second.serviceId, second.userId, PASSWORD).request), "master-key");
    expect((await activateToken(bank, first.serviceId, first.userId, PASSWORD)).seed.length).toBe(20);
  });

  it("a wrong master key is refused at open, clearly", async () => {
    const bank = await openBank();
    await setUp(bank);
    const store = await openAt("bank.sqlite", false);
    const error = await expectCode(() => Bank.open(store, MasterKey.fromHex("ff".repeat(32))), "master-key");
    expect(error.message).toMatch(/not the one this bank database was created with/);
  });
});

describe("bank: a schema-1 database is migrated without losing a token", () => {
  type Old = { userId: string; serviceId: string; seed: Buffer };
  /** A database as the first version wrote it: random 8-digit Service ID per issue, random 16-character User ID per customer, activation protocol v1. */
  async function schemaOne(path: string, key: MasterKey): Promise<{ active: Old; pending: Old; registered: Old }> {
    const Database = (await import("better-sqlite3")).default;
    const d = new Database(path);
    d.pragma("journal_mode = WAL");
    d.exec(MIGRATIONS[0]);
    d.pragma("user_version = 1");
    d.prepare("INSERT INTO meta VALUES ('master-key-check', ?)").run(key.seal(new Uint8Array(16), aad.keyCheck()));
    const active = { userId: "K7Q2M9XW4ZB8T1RA", serviceId: "48213907", seed: randomBytes(20) };
    // An issue no token has registered yet, and one whose token registered with v1 and awaits its first code.
    const pending = { userId: "P3N8V6H2C9J4L0DE", serviceId: "73950216", seed: Buffer.alloc(0) };
    const registered = { userId: "R5T8W1Y4Q7E2U9IO", serviceId: "61728394", seed: randomBytes(20) };
    for (const u of [active.userId, pending.userId, registered.userId]) d.prepare("INSERT INTO users VALUES (?, ?)").run(u, START - 1000);
    const insertIssue = d.prepare(
      `INSERT INTO issues (service_id, user_id, mail, created_at, expires_at, state, activation_key, algorithm, digits, period, label, completed_at,
                           pending_serial, pending_seed, pending_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'SHA1', 6, 60, 'BANK', ?, ?, ?, ?)`,
    );
    insertIssue.run(
      active.serviceId,
      active.userId,
      "old@example.jp",
      START - 900,
      START + 86400,
      "completed",
      null,
      START - 800,
      null,
      null,
      null,
    );
    // v1 kept K_AC (PBKDF2 of the password), sealed: no CPace password can come out of it.
    const kac = (o: Old) => key.seal(randomBytes(32), `kac:${o.serviceId}:${o.userId}`);
    insertIssue.run(
      pending.serviceId,
      pending.userId,
      "new@example.jp",
      START - 10,
      START + 86400,
      "pending",
      kac(pending),
      null,
      null,
      null,
      null,
    );
    insertIssue.run(
      registered.serviceId,
      registered.userId,
      "reg@example.jp",
      START - 10,
      START + 86400,
      "pending",
      kac(registered),
      null,
      "00000000000000BB",
      key.seal(registered.seed, aad.pendingSeed(registered.serviceId, registered.userId, "00000000000000BB")),
      START - 5,
    );
    d.prepare(
      `INSERT INTO tokens (user_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step, activated_at)
       VALUES (?, ?, '00000000000000AA', ?, 'SHA1', 6, 60, 'BANK', 0, ?, ?)`,
    ).run(
      active.userId,
      active.serviceId,
      key.seal(active.seed, aad.seed(active.serviceId, active.userId, "00000000000000AA")),
      Math.floor((START - 800) / 60),
      START - 800,
    );
    d.prepare(
      "INSERT INTO events (at, kind, service_id, user_id, detail) VALUES (?, 'confirmed', ?, ?, 'serial 00000000000000AA active')",
    ).run(START - 800, active.serviceId, active.userId);
    d.prepare("INSERT INTO issue_nonces VALUES (?, ?, ?)").run(registered.serviceId, randomBytes(16), START - 5);
    d.close();
    return { active, pending, registered };
  }

  it("the old token logs in by its old User ID alone; a v1 issue awaiting its first code confirms, one not yet registered is void (CPace); a re-set-up gets the new form", async () => {
    const key = MasterKey.fromHex(KEY_HEX);
    const { active, pending, registered } = await schemaOne(join(dir, "bank.sqlite"), key);
    const bank = await openBank();
    expect(bank.store.schemaVersion).toBe(SCHEMA_VERSION);
    const old = { seed: active.seed, algorithm: "SHA1" as const, digits: 6, period: 60, label: "BANK" };
    expect(await bank.verify(active.userId, codeAt(old, clock.now))).toMatchObject({ ok: true });
    expect((await bank.status(active.userId)).token).toMatchObject({
      serial: "00000000000000AA",
      state: "active",
      expiresAt: START - 800 + 1826 * 86400,
    });
    // Not registered under v1: its K_AC is no CPace password, so the issue is void (issue again).
    expect(await issueRow(bank, pending.userId)).toMatchObject({ state: "void", void_reason: "protocol-v1", activation_key: null });
    const refused = await expectCode(() => bank.activate(tokenRequest(pending.serviceId, pending.userId, PASSWORD).request), "issue-void");
    expect(refused.ja).toContain("以前の登録方式");
    // Registered under v1: its first code still confirms, by the old User ID alone; a new activation is refused.
    expect(await issueRow(bank, registered.userId)).toMatchObject({
      state: "pending",
      activation_key: null,
      pending_serial: "00000000000000BB",
    });
    await expectCode(() => bank.activate(tokenRequest(registered.serviceId, registered.userId, PASSWORD).request), "issue-void");
    const fresh = { ...old, seed: registered.seed };
    expect((await bank.confirm(registered.userId, codeAt(fresh, clock.now))).ok).toBe(true);
    clock.now += 60;
    expect((await bank.verify(registered.userId, codeAt(fresh, clock.now))).ok).toBe(true);
    // The old customer's re-set-up is numbered in the new form; the old token works until it is confirmed.
    const again = await setUp(bank, { userId: active.userId }, 9n);
    expect(again.userId).toMatch(/^2083L\d{7}A001$/);
    await expectCode(() => bank.verify(active.userId, codeAt(old, clock.now + 60)), "unknown");
    // The migrated events were chained into the audit trail.
    expect(await bank.verifyAudit()).toMatchObject({ ok: true });
    expect((await bank.auditEvents(0, 1))[0]).toMatchObject({ kind: "confirmed", actor: "schema-1", userId: active.userId });
  });
});

describe("bank: a schema-2 database (the verification service before CPace) is migrated to activation protocol v2", () => {
  it("voids the v1 issues no token registered, keeps the one whose v1 token awaits its first code, drops the nonce table, keeps every token", async () => {
    const key = MasterKey.fromHex(KEY_HEX);
    const Database = (await import("better-sqlite3")).default;
    const d = new Database(join(dir, "bank.sqlite"));
    d.pragma("journal_mode = WAL");
    d.exec(MIGRATIONS[0]);
    d.exec(MIGRATIONS[1]);
    d.pragma("user_version = 2");
    d.prepare("INSERT INTO meta VALUES ('master-key-check', ?)").run(key.seal(new Uint8Array(16), aad.keyCheck()));
    d.prepare("UPDATE settings SET value = ? WHERE name = 'service_id'").run(SERVICE_ID);
    const customer = d.prepare("INSERT INTO customers (customer_id, customer_number, issues_made, created_at) VALUES (?, ?, ?, ?)");
    customer.run(1, "0000001", 2, START - 900);
    customer.run(2, "0000002", 1, START - 900);
    const active = { userId: "2083L0000001A001", seed: randomBytes(20) };
    const registered = { userId: "2083L0000001A002", seed: randomBytes(20) };
    const unregistered = { userId: "2083L0000002A001" };
    const insertIssue = d.prepare(
      `INSERT INTO issues (issue_id, service_id, user_id, customer_id, issue_number, mail, created_at, expires_at, token_expires_at, state, activation_key,
                           algorithm, digits, period, label, pending_serial, pending_seed, pending_at, completed_at)
       VALUES (?, ?, ?, ?, ?, 'holder@example.jp', ?, ?, ?, ?, ?, 'SHA1', 6, 60, 'BANK', ?, ?, ?, ?)`,
    );
    // Schema 2 kept protocol v1's K_AC (PBKDF2 of the password), sealed: no CPace password comes out of it.
    const kac = (userId: string) => key.seal(randomBytes(32), `kac:${SERVICE_ID}:${userId}`);
    insertIssue.run(
      1,
      SERVICE_ID,
      active.userId,
      1,
      1,
      START - 900,
      START - 900 + 86400,
      START + 1000 * 86400,
      "completed",
      null,
      null,
      null,
      null,
      START - 800,
    );
    insertIssue.run(
      2,
      SERVICE_ID,
      registered.userId,
      1,
      2,
      START - 10,
      START + 86400,
      START + 1000 * 86400,
      "pending",
      kac(registered.userId),
      "00000000000000BB",
      key.seal(registered.seed, aad.pendingSeed(SERVICE_ID, registered.userId, "00000000000000BB")),
      START - 5,
      null,
    );
    insertIssue.run(
      3,
      SERVICE_ID,
      unregistered.userId,
      2,
      1,
      START - 10,
      START + 86400,
      START + 1000 * 86400,
      "pending",
      kac(unregistered.userId),
      null,
      null,
      null,
      null,
    );
    d.prepare("INSERT INTO issue_nonces (issue_id, nonce, seen_at) VALUES (2, ?, ?)").run(randomBytes(16), START - 5);
    d.prepare(
      `INSERT INTO tokens (user_id, customer_id, issue_id, service_id, serial, seed, algorithm, digits, period, label, last_step, activated_at, expires_at)
       VALUES (?, 1, 1, ?, '00000000000000AA', ?, 'SHA1', 6, 60, 'BANK', ?, ?, ?)`,
    ).run(
      active.userId,
      SERVICE_ID,
      key.seal(active.seed, aad.seed(SERVICE_ID, active.userId, "00000000000000AA")),
      Math.floor((START - 800) / 60),
      START - 800,
      START + 1000 * 86400,
    );
    d.close();

    const bank = await openBank();
    expect(bank.store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(3);
    const tables = (db(bank).prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toContain("activation_sessions");
    expect(tables).not.toContain("issue_nonces");
    // Never registered under v1: void, and a v2 token's request is refused plainly.
    expect(await issueRow(bank, unregistered.userId)).toMatchObject({
      state: "void",
      void_reason: "protocol-v1",
      activation_key: null,
      pending_seed: null,
    });
    await expectCode(() => bank.activate(tokenRequest(SERVICE_ID, unregistered.userId, PASSWORD).request), "issue-void");
    // Registered under v1, awaiting its first code: kept (no v2 activation: no password to run CPace with).
    expect(await issueRow(bank, registered.userId)).toMatchObject({
      state: "pending",
      activation_key: null,
      pending_serial: "00000000000000BB",
    });
    await expectCode(() => bank.activate(tokenRequest(SERVICE_ID, registered.userId, PASSWORD).request), "issue-void");
    expect(await issueRow(bank, registered.userId)).toMatchObject({ state: "pending", failed_attempts: 0 });
    // The customer's token works until the re-set-up's first code is confirmed, then the new one.
    const old = { seed: active.seed, algorithm: "SHA1" as const, digits: 6, period: 60, label: "BANK" };
    expect(await bank.verify(active.userId, codeAt(old, clock.now))).toMatchObject({ ok: true });
    clock.now += 60;
    expect((await bank.confirm(registered.userId, codeAt({ ...old, seed: registered.seed }, clock.now))).ok).toBe(true);
    await expectCode(() => bank.verify(active.userId, codeAt(old, clock.now + 60)), "unknown");
    // The customer's next issue is number 3, set up with protocol v2; the other customer issues again.
    const again = await setUp(bank, { userId: registered.userId }, 9n);
    expect(again.userId).toBe("2083L0000001A003");
    const other = await setUp(bank, { userId: unregistered.userId, mail: "other@example.jp", mailConfirm: "other@example.jp" }, 10n);
    expect(other.userId).toBe("2083L0000002A002");
    clock.now += 60;
    expect((await bank.verify(again.userId, codeAt(again.token, clock.now))).ok).toBe(true);
    expect((await bank.verify(other.userId, codeAt(other.token, clock.now))).ok).toBe(true);
  });
});
