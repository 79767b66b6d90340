// The bank side: issue, activation (docs/activation.md) against an independent token-side reference
// written here with node:crypto, confirmation, the verifier (replay, lockout, resync, drift),
// secrets at rest, and the `otp-token bank` command.
import Database from "better-sqlite3";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Bank, type BankOptions } from "../host/bank/bank.js";
import { MasterKey, MASTER_KEY_ENV } from "../host/bank/crypto.js";
import { BankError, type BankErrorCode } from "../host/bank/errors.js";
import { CI_LABEL, CONFIRMATION_BYTES, PROTOCOL_VERSION, REQUEST_BYTES, RESPONSE_BYTES, SEED_INFO } from "../host/bank/protocol.js";
import { BankStore, MIGRATIONS, SCHEMA_VERSION } from "../host/bank/store.js";
import { main } from "../host/cli.js";
import { makeBankCommand, type Stdin } from "../host/cli/bank.js";
import { type Io, UsageError } from "../host/cli/usage.js";
import { otpApi } from "../host/otp.js";
import { referenceFinish, referenceRequest, type ReferenceResult, type ReferenceSession } from "./reference-cpace.js";

const api = otpApi();
const START = 1_900_000_020; // 20 s into a 60 s step
const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PASSWORD = "Pass1234";

// ---- the token side: test/reference-cpace.ts, written from docs/activation.md, not from host/bank ----

type TokenSession = ReferenceSession;
type TokenProfile = ReferenceResult;

function tokenRequest(serviceId: string, userId: string, password: string, serial = 0x0123456789abcdefn): TokenSession {
  return referenceRequest(serviceId, userId, password, serial);
}

const tokenFinish = referenceFinish;

const codeAt = (token: TokenProfile, t: number) => api.totp(token.seed, t, { algorithm: token.algorithm, digits: token.digits, period: token.period });

// ---- fixtures ----

let dir: string;
let clock: { now: number };
let stores: BankStore[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-bank-"));
  clock = { now: START };
  stores = [];
});

afterEach(() => {
  for (const store of stores) if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

function openBank(options: BankOptions = {}, file = "bank.sqlite", key = MasterKey.fromHex(KEY_HEX)): Bank {
  const store = BankStore.open(join(dir, file));
  stores.push(store);
  return new Bank(store, key, { now: () => clock.now, outboxDir: join(dir, "outbox"), ...options });
}

const issueInput = (overrides: Record<string, unknown> = {}) => ({
  mail: "holder@example.jp",
  mailConfirm: "holder@example.jp",
  password: PASSWORD,
  passwordConfirm: PASSWORD,
  ...overrides,
});

function refusal(run: () => unknown): BankError {
  try {
    run();
  } catch (error) {
    if (error instanceof BankError) return error;
    throw error;
  }
  throw new Error("expected a BankError, but it succeeded");
}

function expectCode(run: () => unknown, code: BankErrorCode): BankError {
  const error = refusal(run);
  expect(error.code, error.message).toBe(code);
  return error;
}

/** Send (message 1 -> 2), register (the token checks Tb and sends message 3). */
function activateToken(bank: Bank, serviceId: string, userId: string, serial?: bigint): TokenProfile {
  const session = tokenRequest(serviceId, userId, PASSWORD, serial);
  const token = tokenFinish(session, bank.activate(session.request));
  bank.register(token.confirmation);
  return token;
}

/** issue -> activate -> register -> confirm with the token's first code. */
function setUp(bank: Bank, overrides: Record<string, unknown> = {}, serial?: bigint) {
  const issued = bank.issue(issueInput(overrides));
  const token = activateToken(bank, issued.serviceId, issued.userId, serial);
  const confirmed = bank.confirm(issued.serviceId, issued.userId, codeAt(token, clock.now));
  return { ...issued, token, confirmed };
}

const issueRow = (bank: Bank, serviceId: string) => bank.store.db.prepare("SELECT * FROM issues WHERE service_id = ?").get(serviceId) as Record<string, unknown>;

describe("protocol constants", () => {
  it("are the ones docs/activation.md fixes", () => {
    expect([PROTOCOL_VERSION, REQUEST_BYTES, RESPONSE_BYTES, CONFIRMATION_BYTES]).toEqual([2, 82, 117, 106]);
    expect([CI_LABEL, SEED_INFO]).toEqual(["otp-token activation", "otp-token seed v2"]);
  });
});

describe("bank: issue, activate, confirm, verify", () => {
  it("runs the whole procedure against the token-side reference", () => {
    const bank = openBank();
    const issued = bank.issue(issueInput());
    expect(issued.serviceId).toMatch(/^[1-9][0-9]{7}$/);
    expect(issued.userId).toMatch(/^[0-9A-Z]{16}$/);
    expect(issued.expiresAt).toBe(START + 86400);
    expect(issued.setupUrl).toContain(issued.serviceId);

    // The set-up mail: RFC 5322 headers, the IDs and URL, never the password.
    const mail = readFileSync(issued.mailFile!, "utf8");
    const head = mail.slice(0, mail.indexOf("\r\n\r\n"));
    const body = mail.slice(head.length + 4);
    for (const header of ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]) expect(head).toMatch(new RegExp(`^${header}: `, "m"));
    expect(head).toContain("To: <holder@example.jp>");
    expect(head).toContain("Content-Type: text/plain; charset=UTF-8");
    expect(head).toMatch(/^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/m);
    expect(body).toContain(issued.serviceId);
    expect(body).toContain(issued.userId);
    expect(body).toContain(issued.setupUrl);
    expect(body).toMatch(/activation password: the one you chose on the token issue screen/i);
    expect(mail).not.toContain(PASSWORD);

    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const token = tokenFinish(session, bank.activate(session.request));
    expect(token).toMatchObject({ algorithm: "SHA1", digits: 6, period: 60, label: "BANK" });
    expect(token.seed.length).toBe(20);
    // The token has the seed; the bank keeps it only once the token's confirmation (message 3) arrives.
    expectCode(() => bank.confirm(issued.serviceId, issued.userId, codeAt(token, clock.now)), "not-activated");
    expect(bank.register(token.confirmation)).toEqual({ serial: "0123456789ABCDEF" });
    // Not active until the first code is confirmed.
    expectCode(() => bank.verify(issued.serviceId, issued.userId, codeAt(token, clock.now)), "unknown");
    const confirmed = bank.confirm(issued.serviceId, issued.userId, codeAt(token, clock.now));
    expect(confirmed).toMatchObject({ ok: true, offset: 0, driftSteps: 0 });
    // The issue is completed; its activation password and sessions are gone.
    expect(issueRow(bank, issued.serviceId)).toMatchObject({ state: "completed", activation_key: null, pending_seed: null });
    expect(bank.store.db.prepare("SELECT count(*) AS n FROM activation_sessions").get()).toEqual({ n: 0 });
    // The confirmation code itself is used up; a later code logs in.
    expectCode(() => bank.verify(issued.serviceId, issued.userId, codeAt(token, clock.now)), "replayed");
    clock.now += 120;
    expect(bank.verify(issued.serviceId, issued.userId, codeAt(token, clock.now))).toMatchObject({ ok: true, offset: 0 });
    expect(bank.status(issued.serviceId, issued.userId).token).toMatchObject({ serial: "0123456789ABCDEF", locked: false, consecutiveFailures: 0 });
  });

  it("gives the token the OTP parameters of the issue (SHA-256, 8 digits, 30 s, label)", () => {
    const bank = openBank({ otp: { algorithm: "SHA512", digits: 7, period: 60, label: "CREDIT UNION" } });
    const plain = setUp(bank);
    expect(plain.token).toMatchObject({ algorithm: "SHA512", digits: 7, label: "CREDIT UNION" });
    expect(plain.token.seed.length).toBe(64);
    const custom = setUp(bank, { mail: "b@c.jp", mailConfirm: "b@c.jp", otp: { algorithm: "sha-256", digits: 8, period: 30, label: "ACME-2" } });
    expect(custom.token).toMatchObject({ algorithm: "SHA256", digits: 8, period: 30, label: "ACME-2" });
    expect(custom.token.seed.length).toBe(32);
    clock.now += 90;
    expect(bank.verify(custom.serviceId, custom.userId, codeAt(custom.token, clock.now)).ok).toBe(true);
    expectCode(() => bank.issue(issueInput({ otp: { label: "lower" } })), "otp-parameters");
    expectCode(() => bank.issue(issueInput({ otp: { digits: 9 } })), "otp-parameters");
    expectCode(() => bank.issue(issueInput({ otp: { algorithm: "MD5" } })), "otp-parameters");
  });

  it("re-set-up: the old token works until the new token's first code is confirmed, then only the new one", () => {
    const bank = openBank();
    const old = setUp(bank, {}, 1n);
    clock.now += 3600;
    const again = bank.issue(issueInput({ userId: old.userId }));
    expect(again.userId).toBe(old.userId);
    expect(again.serviceId).not.toBe(old.serviceId);
    const fresh = activateToken(bank, again.serviceId, again.userId, 2n);
    // Activated but not confirmed: the old token still logs in, the new one does not yet.
    expect(bank.verify(old.serviceId, old.userId, codeAt(old.token, clock.now)).ok).toBe(true);
    expectCode(() => bank.verify(again.serviceId, again.userId, codeAt(fresh, clock.now)), "unknown");
    clock.now += 60;
    bank.confirm(again.serviceId, again.userId, codeAt(fresh, clock.now));
    clock.now += 60;
    expectCode(() => bank.verify(old.serviceId, old.userId, codeAt(old.token, clock.now)), "unknown");
    expect(bank.verify(again.serviceId, again.userId, codeAt(fresh, clock.now)).ok).toBe(true);
    expect(bank.status(again.serviceId, again.userId).events.map((e) => e.kind)).toContain("token-replaced");
    // A re-set-up needs a known User ID.
    expectCode(() => bank.issue(issueInput({ userId: "ZZZZZZZZZZZZZZZZ" })), "unknown");
  });

  it("an abandoned re-set-up locks nobody out; a newer issue supersedes an older pending one", () => {
    const bank = openBank();
    const old = setUp(bank);
    const first = bank.issue(issueInput({ userId: old.userId }));
    const second = bank.issue(issueInput({ userId: old.userId }));
    const session = tokenRequest(first.serviceId, first.userId, PASSWORD);
    expectCode(() => bank.activate(session.request), "locked");
    expect(issueRow(bank, first.serviceId)).toMatchObject({ state: "void", void_reason: "superseded", activation_key: null });
    expect(issueRow(bank, second.serviceId)).toMatchObject({ state: "pending" });
    clock.now += 2 * 86400; // the second one expires unused
    expect(bank.verify(old.serviceId, old.userId, codeAt(old.token, clock.now)).ok).toBe(true);
  });

  it("refuses confirm before activation, with a wrong code, and voids the issue after 5 failures", () => {
    const bank = openBank();
    const issued = bank.issue(issueInput());
    expectCode(() => bank.confirm(issued.serviceId, issued.userId, "123456"), "not-activated");
    const token = activateToken(bank, issued.serviceId, issued.userId);
    const right = codeAt(token, clock.now);
    const wrong = right === "000000" ? "000001" : "000000";
    expectCode(() => bank.confirm(issued.serviceId, issued.userId, "12345"), "invalid-code");
    for (let i = 1; i <= 4; i++) expect(expectCode(() => bank.confirm(issued.serviceId, issued.userId, wrong), "wrong-code").message).toContain(`${5 - i} attempt`);
    expect(expectCode(() => bank.confirm(issued.serviceId, issued.userId, wrong), "wrong-code").message).toMatch(/now void/);
    expectCode(() => bank.confirm(issued.serviceId, issued.userId, right), "locked");
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
  ] as const)("%j -> %s", (overrides, code, message) => {
    const bank = openBank();
    const error = expectCode(() => bank.issue(issueInput(overrides)), code);
    expect(error.message).toMatch(message);
    expect(bank.store.db.prepare("SELECT count(*) AS n FROM issues").get()).toEqual({ n: 0 });
  });

  it("accepts the edges: 4 and 64 characters, 4 and 8 character passwords, dots anywhere before the '@'", () => {
    const bank = openBank();
    for (const mail of ["a@jp", `${"a".repeat(58)}@ab.jp`, "a..b.@docomo.ne.jp", "x+y!#$%&'*/=?^_`{|}~-@mail.example"]) {
      expect(bank.issue(issueInput({ mail, mailConfirm: mail })).mail).toBe(mail);
    }
    for (const password of ["abcd", "ABCD1234"]) bank.issue(issueInput({ password, passwordConfirm: password }));
    // Stored sealed (AES-256-GCM under the master key): the password's bytes are nowhere in the database file.
    bank.store.db.pragma("wal_checkpoint(TRUNCATE)");
    expect(readFileSync(join(dir, "bank.sqlite")).includes(Buffer.from("ABCD1234"))).toBe(false);
  });
});

describe("bank: activation (docs/activation.md, \"Rules: the bank\")", () => {
  const snapshotOf = (bank: Bank) => {
    const db = bank.store.db;
    return {
      issues: db.prepare("SELECT * FROM issues ORDER BY service_id").all() as Record<string, unknown>[],
      sessions: db.prepare("SELECT * FROM activation_sessions ORDER BY sid").all() as Record<string, unknown>[],
      tokens: db.prepare("SELECT * FROM tokens").all(),
      users: db.prepare("SELECT * FROM users").all(),
      meta: db.prepare("SELECT * FROM meta").all(),
    };
  };
  const attemptsOf = (bank: Bank, serviceId: string) => issueRow(bank, serviceId).failed_attempts;

  it("counts each new request (committed) before any CPace work: a wrong password stays counted, the sixth request voids the issue", () => {
    const bank = openBank();
    const issued = bank.issue(issueInput());
    for (let attempt = 1; attempt <= 5; attempt++) {
      const wrong = tokenRequest(issued.serviceId, issued.userId, "Wrong123");
      // The bank cannot tell a wrong password: it answers, and the token refuses the answer.
      const response = bank.activate(wrong.request);
      expect(() => tokenFinish(wrong, response)).toThrow(/does not verify/);
      // Read from a second connection, as a process started after a crash would.
      const reopened = BankStore.open(join(dir, "bank.sqlite"));
      const row = reopened.db.prepare("SELECT failed_attempts, state FROM issues WHERE service_id = ?").get(issued.serviceId);
      reopened.close();
      expect(row).toEqual({ failed_attempts: attempt, state: "pending" });
    }
    const right = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    expect(expectCode(() => bank.activate(right.request), "locked").message).toMatch(/void/);
    expect(issueRow(bank, issued.serviceId)).toMatchObject({ state: "void", void_reason: "failures", activation_key: null, failed_attempts: 5 });
    expect(bank.store.db.prepare("SELECT count(*) AS n FROM activation_sessions").get()).toEqual({ n: 0 });
  });

  it("takes the count back when the token confirms: 4 wrong, then the right one works", () => {
    const bank = openBank();
    const issued = bank.issue(issueInput());
    for (let i = 0; i < 4; i++) bank.activate(tokenRequest(issued.serviceId, issued.userId, "nope").request);
    const right = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const token = tokenFinish(right, bank.activate(right.request));
    expect(attemptsOf(bank, issued.serviceId)).toBe(5);
    bank.register(token.confirmation);
    expect(issueRow(bank, issued.serviceId)).toMatchObject({ failed_attempts: 4, state: "pending", pending_serial: "0123456789ABCDEF" });
    expect(bank.confirm(issued.serviceId, issued.userId, codeAt(token, clock.now)).ok).toBe(true);
  });

  it("leaves the attempt counted when the process dies between counting and answering", () => {
    const bank = openBank();
    const issued = bank.issue(issueInput());
    // Simulate the crash: the sealed password cannot be opened right after the count was committed.
    const crashing = new Bank(bank.store, MasterKey.fromHex(KEY_HEX), { now: () => clock.now });
    const original = bank.store.getIssue.bind(bank.store);
    let calls = 0;
    bank.store.getIssue = (s, u) => {
      const row = original(s, u);
      if (row && ++calls === 1) return { ...row, activation_key: new Uint8Array(40) };
      return row;
    };
    expectCode(() => crashing.activate(tokenRequest(issued.serviceId, issued.userId, PASSWORD).request), "master-key");
    bank.store.getIssue = original;
    expect(issueRow(bank, issued.serviceId)).toMatchObject({ failed_attempts: 1 });
  });

  it("refuses an expired issue, and forgets its password and sessions", () => {
    const bank = openBank();
    const issued = bank.issue(issueInput());
    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const token = tokenFinish(session, bank.activate(session.request));
    expect(issueRow(bank, issued.serviceId).activation_key).not.toBeNull();
    clock.now += 86400;
    expectCode(() => bank.activate(tokenRequest(issued.serviceId, issued.userId, PASSWORD).request), "expired");
    expectCode(() => bank.register(token.confirmation), "expired");
    expect(issueRow(bank, issued.serviceId)).toMatchObject({ failed_attempts: 1, activation_key: null, pending_seed: null });
    expect(bank.store.db.prepare("SELECT secrets FROM activation_sessions").all()).toEqual([{ secrets: null }]);
  });

  it("answers a repeated request again without counting; refuses other bytes under an answered session id", () => {
    const bank = openBank();
    const issued = bank.issue(issueInput());
    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const response = bank.activate(session.request);
    const before = snapshotOf(bank);
    // The first response was lost: the token (or the relay) sends the same request again.
    for (let i = 0; i < 3; i++) expect(Buffer.from(bank.activate(session.request)).equals(Buffer.from(response))).toBe(true);
    expect(snapshotOf(bank)).toEqual(before);
    // The same session id with another share (a forgery built on a seen request) is refused, not counted.
    const forged = Buffer.from(session.request);
    forged[81] ^= 1;
    expectCode(() => bank.activate(forged), "replayed");
    expect(snapshotOf(bank)).toEqual(before);
    // A retry with a fresh session (new sid, new share) is a new attempt; its confirmation makes it the pending token.
    const retry = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const second = tokenFinish(retry, bank.activate(retry.request));
    bank.register(second.confirmation);
    const first = tokenFinish(session, response);
    expect(second.seed.equals(first.seed)).toBe(false);
    expect(attemptsOf(bank, issued.serviceId)).toBe(1); // the first session was never confirmed
    // The first session's confirmation, arriving late, replaces the pending token in turn.
    bank.register(first.confirmation);
    expect(attemptsOf(bank, issued.serviceId)).toBe(0);
    expectCode(() => bank.confirm(issued.serviceId, issued.userId, codeAt(second, clock.now) === codeAt(first, clock.now) ? "x" : codeAt(second, clock.now)), "wrong-code");
    expect(bank.confirm(issued.serviceId, issued.userId, codeAt(first, clock.now)).ok).toBe(true);
    // After completion the issue is gone for activation.
    expectCode(() => bank.activate(session.request), "unknown");
    expectCode(() => bank.activate(tokenRequest(issued.serviceId, issued.userId, PASSWORD).request), "unknown");
  });

  it("refuses a request for an unknown issue, and aborts on a low-order Ya (counted, nothing stored)", () => {
    const bank = openBank();
    expectCode(() => bank.activate(tokenRequest("12345678", "ABCDEFGHIJKLMNOP", PASSWORD).request), "unknown");
    const issued = bank.issue(issueInput());
    for (const point of ["00", "01", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"]) {
      const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
      session.request.fill(0, 50, 82);
      Buffer.from(point.padEnd(64, "0"), "hex").copy(session.request, 50);
      expect(expectCode(() => bank.activate(session.request), "malformed").message).toMatch(/low-order/);
    }
    expect(issueRow(bank, issued.serviceId)).toMatchObject({ failed_attempts: 4, pending_seed: null });
    expect(bank.store.db.prepare("SELECT count(*) AS n FROM activation_sessions").get()).toEqual({ n: 0 });
  });

  it("refuses every truncation and every single-bit flip of a request: the form at the bank, the rest at the token", () => {
    const bank = openBank();
    const issued = bank.issue(issueInput());
    const valid = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const db = bank.store.db;
    const before = snapshotOf(bank);
    const reset = () => {
      db.prepare("UPDATE issues SET failed_attempts = 0").run();
      db.prepare("DELETE FROM activation_sessions").run();
    };
    for (let length = 0; length < REQUEST_BYTES; length++) expectCode(() => bank.activate(valid.request.subarray(0, length)), "malformed");
    expectCode(() => bank.activate(Buffer.concat([valid.request, Buffer.from([0])])), "malformed");
    expect(snapshotOf(bank)).toEqual(before);
    const seen = new Map<string, number>();
    for (let bit = 0; bit < REQUEST_BYTES * 8; bit++) {
      const flipped = Buffer.from(valid.request);
      flipped[bit >> 3] ^= 0x80 >> (bit & 7);
      let outcome: string;
      try {
        // Serial, sid and Ya carry no check the bank could make: it answers (and counts the attempt),
        // and the token refuses the answer, whose Tb was computed for another transcript.
        const response = bank.activate(flipped);
        expect(() => tokenFinish(valid, response), `bit ${bit}`).toThrow(/does not verify/);
        expect(attemptsOf(bank, issued.serviceId)).toBe(1);
        outcome = "refused by the token";
      } catch (error) {
        if (!(error instanceof BankError)) throw error;
        expect(snapshotOf(bank), `bit ${bit}`).toEqual(before);
        outcome = error.code;
      }
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
      const byte = bit >> 3;
      if (byte < 2) expect(outcome).toBe("malformed");
      else if (byte < 26) expect(["malformed", "unknown"]).toContain(outcome);
      else expect(outcome).toBe("refused by the token");
      reset();
    }
    expect(seen.get("refused by the token")).toBe((REQUEST_BYTES - 26) * 8);
    expect(snapshotOf(bank)).toEqual(before);
    // None of that spent the real request: it still activates.
    bank.register(tokenFinish(valid, bank.activate(valid.request)).confirmation);
    expect(issueRow(bank, issued.serviceId)).toMatchObject({ failed_attempts: 0, pending_serial: "0123456789ABCDEF" });
  }, 60_000);

  it("refuses every truncation and every single-bit flip of the token's confirmation, changing nothing", () => {
    const bank = openBank();
    const issued = bank.issue(issueInput());
    const session = tokenRequest(issued.serviceId, issued.userId, PASSWORD);
    const token = tokenFinish(session, bank.activate(session.request));
    const before = snapshotOf(bank);
    for (let length = 0; length < CONFIRMATION_BYTES; length++) expectCode(() => bank.register(token.confirmation.subarray(0, length)), "malformed");
    expectCode(() => bank.register(Buffer.concat([token.confirmation, Buffer.from([0])])), "malformed");
    const seen = new Map<string, number>();
    for (let bit = 0; bit < CONFIRMATION_BYTES * 8; bit++) {
      const flipped = Buffer.from(token.confirmation);
      flipped[bit >> 3] ^= 0x80 >> (bit & 7);
      const code = refusal(() => bank.register(flipped)).code;
      seen.set(code, (seen.get(code) ?? 0) + 1);
      const byte = bit >> 3;
      if (byte < 2) expect(code).toBe("malformed");
      else if (byte < 26) expect(["malformed", "unknown"]).toContain(code);
      else if (byte < 42) expect(code).toBe("unknown");
      else expect(code).toBe("wrong-confirmation");
    }
    expect(seen.get("wrong-confirmation")).toBe(64 * 8);
    // Only the audit log grew (one line per wrong tag).
    const after = snapshotOf(bank);
    expect(after).toEqual(before);
    expect(bank.store.db.prepare("SELECT count(*) AS n FROM events WHERE kind = 'activation-wrong-confirmation'").get()).toEqual({ n: 64 * 8 });
    bank.register(token.confirmation);
    expect(bank.confirm(issued.serviceId, issued.userId, codeAt(token, clock.now)).ok).toBe(true);
  });

  it("migration 2 voids issues still pending from protocol v1 (their K_AC cannot serve CPace)", () => {
    const path = join(dir, "v1.sqlite");
    const v1 = new Database(path);
    v1.exec(MIGRATIONS[0]);
    v1.pragma("user_version = 1");
    v1.prepare("INSERT INTO users (user_id, created_at) VALUES (?, ?)").run("ABCDEFGHIJKLMNOP", START);
    v1.prepare(
      "INSERT INTO issues (service_id, user_id, mail, created_at, expires_at, activation_key, algorithm, digits, period, label) VALUES (?, ?, ?, ?, ?, ?, 'SHA1', 6, 60, 'BANK')",
    ).run("12345678", "ABCDEFGHIJKLMNOP", "a@b.jp", START, START + 86400, new Uint8Array(60));
    v1.close();
    const store = BankStore.open(path);
    stores.push(store);
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(store.getIssue("12345678", "ABCDEFGHIJKLMNOP")).toMatchObject({ state: "void", void_reason: "protocol-v1", activation_key: null });
  });
});

describe("bank: the verifier", () => {
  it("accepts each step once: a replayed code and an earlier step after a later one are refused", () => {
    const bank = openBank();
    const { serviceId, userId, token } = setUp(bank);
    clock.now += 600;
    const now = codeAt(token, clock.now);
    const previous = codeAt(token, clock.now - 60);
    const next = codeAt(token, clock.now + 60);
    expect(bank.verify(serviceId, userId, next)).toMatchObject({ ok: true, offset: 1, driftSteps: 1 });
    expectCode(() => bank.verify(serviceId, userId, next), "replayed");
    // The window now centres on the drift (+1): the current step is its -1 side, and it is before the accepted step.
    if (now !== next) expectCode(() => bank.verify(serviceId, userId, now), "replayed");
    if (previous !== next && previous !== now) expect(refusal(() => bank.verify(serviceId, userId, previous)).code).toMatch(/replayed|wrong-code/);
    clock.now += 60;
    expect(bank.verify(serviceId, userId, codeAt(token, clock.now + 60))).toMatchObject({ ok: true, offset: 0, driftSteps: 1 });
    expectCode(() => bank.verify(serviceId, userId, "12345"), "invalid-code");
  });

  it("locks after 10 consecutive failures, never unlocks by time, and an administrator unlocks", () => {
    const bank = openBank();
    const { serviceId, userId, token } = setUp(bank);
    clock.now += 120;
    const right = () => codeAt(token, clock.now);
    const wrong = () => {
      const code = right();
      return code === "999999" ? "999998" : "999999";
    };
    for (let i = 0; i < 9; i++) expectCode(() => bank.verify(serviceId, userId, wrong()), "wrong-code");
    // A success resets the count.
    expect(bank.verify(serviceId, userId, right()).ok).toBe(true);
    clock.now += 60;
    for (let i = 1; i <= 9; i++) expectCode(() => bank.verify(serviceId, userId, wrong()), "wrong-code");
    expect(expectCode(() => bank.verify(serviceId, userId, wrong()), "wrong-code").message).toMatch(/now locked/);
    expectCode(() => bank.verify(serviceId, userId, right()), "locked");
    clock.now += 365 * 86400;
    expectCode(() => bank.verify(serviceId, userId, right()), "locked");
    expectCode(() => bank.resync(serviceId, userId, right(), codeAt(token, clock.now + 60)), "locked");
    expect(bank.status(serviceId, userId).token).toMatchObject({ locked: true, consecutiveFailures: 10 });
    bank.unlock(serviceId, userId);
    expect(bank.status(serviceId, userId).token).toMatchObject({ locked: false, consecutiveFailures: 0 });
    expect(bank.status(serviceId, userId).events.map((e) => e.kind)).toEqual(expect.arrayContaining(["locked", "unlocked"]));
    expect(bank.verify(serviceId, userId, right()).ok).toBe(true);
    expectCode(() => bank.unlock("12345678", userId), "unknown");
  });

  it("resynchronises a token whose clock jumped, with two consecutive codes", () => {
    const bank = openBank();
    const { serviceId, userId, token } = setUp(bank);
    clock.now += 86400;
    const tokenTime = clock.now + 7 * 60; // the token runs 7 steps ahead
    expectCode(() => bank.verify(serviceId, userId, codeAt(token, tokenTime)), "wrong-code");
    // Not consecutive: refused, and counted.
    expectCode(() => bank.resync(serviceId, userId, codeAt(token, tokenTime), codeAt(token, tokenTime + 120)), "wrong-code");
    expect(bank.resync(serviceId, userId, codeAt(token, tokenTime), codeAt(token, tokenTime + 60))).toMatchObject({ ok: true, driftSteps: 8 });
    // The codes used are spent; the token's next code logs in with the learned drift.
    expectCode(() => bank.resync(serviceId, userId, codeAt(token, tokenTime), codeAt(token, tokenTime + 60)), "wrong-code");
    clock.now += 120;
    // Both codes were typed at one bank time, so the learned drift (+8, the second code's step) is one more than the token's +7.
    expect(bank.verify(serviceId, userId, codeAt(token, clock.now + 7 * 60))).toMatchObject({ ok: true, offset: -1, driftSteps: 7 });
    // Beyond ±10 steps resync cannot reach.
    clock.now += 600;
    expectCode(() => bank.resync(serviceId, userId, codeAt(token, clock.now + 7 * 60 + 12 * 60), codeAt(token, clock.now + 7 * 60 + 13 * 60)), "wrong-code");
    expect(bank.status(serviceId, userId).token).toMatchObject({ consecutiveFailures: 1, driftSteps: 7 });
  });

  it("follows a crystal 20 ppm fast for 5 years of weekly use; without drift tracking it fails within the first year", () => {
    const WEEK = 7 * 86400;
    const PPM = 20e-6;
    const run = (trackDrift: boolean) => {
      clock.now = START;
      const bank = openBank({ trackDrift }, `drift-${trackDrift}.sqlite`);
      const { serviceId, userId, token } = setUp(bank);
      const activatedAt = clock.now;
      const failures: number[] = [];
      let driftSteps = 0;
      for (let week = 1; week <= 5 * 52; week++) {
        // A different second of the step each week, so every phase of the boundary is met.
        clock.now = activatedAt + week * WEEK + ((week * 37) % 60);
        const tokenTime = Math.floor(activatedAt + (clock.now - activatedAt) * (1 + PPM));
        try {
          driftSteps = bank.verify(serviceId, userId, codeAt(token, tokenTime)).driftSteps;
        } catch (error) {
          if (!(error instanceof BankError)) throw error;
          failures.push(week);
          if (error.code === "locked") break;
        }
      }
      return { failures, driftSteps, aheadSeconds: Math.round((clock.now - activatedAt) * PPM) };
    };
    const tracked = run(true);
    expect(tracked.failures).toEqual([]);
    expect(tracked.aheadSeconds).toBeGreaterThan(3100); // ~52 steps after 5 years
    expect(tracked.driftSteps).toBeGreaterThanOrEqual(51);
    const untracked = run(false);
    expect(untracked.failures.length).toBeGreaterThan(0);
    expect(untracked.failures[0]).toBeLessThan(52);
    console.log(
      `drift 20 ppm: tracked: ${5 * 52} weekly logins, 0 refused, token ${tracked.aheadSeconds} s ahead, drift ${tracked.driftSteps} steps; ` +
        `untracked: first refusal in week ${untracked.failures[0]}`,
    );
  });
});

describe("bank: secrets at rest and the master key", () => {
  it("stores seeds and activation passwords only sealed (AES-256-GCM), bound to their row", () => {
    const bank = openBank();
    const { serviceId, userId, token } = setUp(bank);
    bank.store.db.pragma("wal_checkpoint(TRUNCATE)");
    const file = readFileSync(join(dir, "bank.sqlite"));
    expect(file.includes(token.seed)).toBe(false);
    const row = bank.store.db.prepare("SELECT seed FROM tokens WHERE user_id = ?").get(userId) as { seed: Buffer };
    expect(row.seed.length).toBe(1 + 12 + 20 + 16);
    // A sealed seed moved to another row does not open.
    const other = setUp(bank, { mail: "z@z.jp", mailConfirm: "z@z.jp" });
    bank.store.db.prepare("UPDATE tokens SET seed = ? WHERE user_id = ?").run(row.seed, other.userId);
    clock.now += 60;
    expectCode(() => bank.verify(other.serviceId, other.userId, codeAt(other.token, clock.now)), "master-key");
    expect(bank.verify(serviceId, userId, codeAt(token, clock.now)).ok).toBe(true);
    // The same for a sealed activation password: it opens only for its own issue.
    const first = bank.issue(issueInput({ mail: "p@q.jp", mailConfirm: "p@q.jp" }));
    const second = bank.issue(issueInput({ mail: "r@s.jp", mailConfirm: "r@s.jp" }));
    const sealed = issueRow(bank, first.serviceId).activation_key as Buffer;
    expect(sealed.includes(Buffer.from(PASSWORD))).toBe(false);
    bank.store.db.prepare("UPDATE issues SET activation_key = ? WHERE service_id = ?").run(sealed, second.serviceId);
    expectCode(() => bank.activate(tokenRequest(second.serviceId, second.userId, PASSWORD).request), "master-key");
    expect(activateToken(bank, first.serviceId, first.userId).seed.length).toBe(20);
  });

  it("schema: migrated to the newest version, WAL, busy timeout", () => {
    const bank = openBank();
    expect(bank.store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(bank.store.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(bank.store.db.pragma("busy_timeout", { simple: true })).toBe(5000);
    // Reopening does not migrate again.
    const again = BankStore.open(join(dir, "bank.sqlite"));
    expect(again.schemaVersion).toBe(SCHEMA_VERSION);
    again.close();
  });

  it("a missing or malformed master key names both ways to give it; a wrong key is refused clearly", () => {
    expect(() => MasterKey.load(undefined, {})).toThrow(new RegExp(`--master-key-file.*${MASTER_KEY_ENV}`));
    expect(() => MasterKey.load(undefined, { [MASTER_KEY_ENV]: "abcd" })).toThrow(/64 hex digits/);
    expect(() => MasterKey.load(join(dir, "missing.key"))).toThrow(/cannot read the master key file.*ENOENT/);
    writeFileSync(join(dir, "raw.key"), Buffer.alloc(32, 7));
    writeFileSync(join(dir, "hex.key"), `${KEY_HEX}\n`);
    writeFileSync(join(dir, "bad.key"), "not a key");
    expect(MasterKey.load(join(dir, "raw.key"))).toBeInstanceOf(MasterKey);
    expect(MasterKey.load(join(dir, "hex.key"))).toBeInstanceOf(MasterKey);
    expect(() => MasterKey.load(join(dir, "bad.key"))).toThrow(/bad\.key must be 64 hex digits/);
    expect(MasterKey.load(undefined, { [MASTER_KEY_ENV]: KEY_HEX })).toBeInstanceOf(MasterKey);

    const bank = openBank();
    setUp(bank);
    const wrong = MasterKey.fromHex("ff".repeat(32));
    const store = BankStore.open(join(dir, "bank.sqlite"));
    stores.push(store);
    expect(expectCode(() => new Bank(store, wrong, { now: () => clock.now }), "master-key").message).toMatch(/not the one this bank database was created with/);
    // A sealed secret under another key fails to open with a clear error too.
    const sealed = MasterKey.fromHex(KEY_HEX).seal(new Uint8Array(20), "seed:x");
    expect(expectCode(() => wrong.open(sealed, "seed:x"), "master-key").message).toMatch(/master key is not the one/);
  });
});

describe("otp-token bank (CLI)", () => {
  const keyFile = () => {
    const path = join(dir, "master.key");
    writeFileSync(path, KEY_HEX);
    return path;
  };

  async function cli(args: string[], input = "", isTTY = false): Promise<{ status: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const io: Io = { out: (t) => { out += t; }, err: (t) => { err += t; }, now: () => clock.now };
    const stdin: Stdin = { isTTY, readAll: () => input, readSecret: async () => input };
    let status: number;
    try {
      status = await makeBankCommand(stdin)(args, io);
    } catch (error) {
      // host/cli.ts turns a UsageError into stderr and status 2.
      if (!(error instanceof UsageError)) throw error;
      err += error.message;
      status = 2;
    }
    return { status, out, err };
  }

  it("issues, activates, confirms and verifies from the command line", async () => {
    const common = ["--db", join(dir, "cli.sqlite"), "--master-key-file", keyFile()];
    const issued = await cli(["issue", ...common, "--outbox", join(dir, "out"), "--mail", "cli@example.jp"], `${PASSWORD}\n${PASSWORD}\n`);
    expect(issued.err).toBe("");
    expect(issued.status).toBe(0);
    const serviceId = issued.out.match(/Service ID: +(\d{8})/)![1];
    const userId = issued.out.match(/User ID: +([0-9A-Z]{16})/)![1];
    expect(readdirSync(join(dir, "out"))).toHaveLength(1);
    const ids = ["--service-id", serviceId, "--user-id", userId];

    const session = tokenRequest(serviceId, userId, PASSWORD);
    const activated = await cli(["activate", ...common], `${session.request.toString("hex")}\n`);
    expect(activated.status).toBe(0);
    // The same request again (a lost answer) gets the same answer.
    expect((await cli(["activate", ...common, "--request", session.request.toString("hex")])).out).toBe(activated.out);
    const token = tokenFinish(session, Buffer.from(activated.out.trim(), "hex"));
    expect(await cli(["activate", ...common, "--request", token.confirmation.toString("hex")])).toMatchObject({ status: 0, out: "registered: token serial 0123456789ABCDEF\n" });
    const damaged = Buffer.from(token.confirmation);
    damaged[105] ^= 1;
    const refused = await cli(["activate", ...common], damaged.toString("hex"));
    expect(refused).toMatchObject({ status: 1 });
    expect(refused.err).toMatch(/\[wrong-confirmation\]/);

    expect((await cli(["confirm", ...common, ...ids, codeAt(token, clock.now)])).out).toMatch(/confirmed/);
    clock.now += 60;
    expect(await cli(["verify", ...common, ...ids, codeAt(token, clock.now)])).toMatchObject({ status: 0, out: "ok: offset 0, drift 0 steps\n" });
    const replay = await cli(["verify", ...common, ...ids, codeAt(token, clock.now)]);
    expect(replay).toMatchObject({ status: 1 });
    expect(replay.err).toMatch(/^otp-token bank verify: .*already used.*\[replayed\]\n$/);
    clock.now += 60;
    expect((await cli(["resync", ...common, ...ids, codeAt(token, clock.now), codeAt(token, clock.now + 60)])).out).toMatch(/resynchronised/);
    expect((await cli(["unlock", ...common, ...ids])).out).toBe("unlocked\n");
    const status = JSON.parse((await cli(["status", ...common, ...ids])).out);
    expect(status.token).toMatchObject({ serial: "0123456789ABCDEF", locked: false });
    expect(JSON.stringify(status)).not.toMatch(/seed|activation_key/i);
  });

  it("reads passwords from the no-echo prompt on a terminal, and refuses them as arguments", async () => {
    const common = ["--db", join(dir, "cli.sqlite"), "--master-key-file", keyFile(), "--outbox", join(dir, "out")];
    expect((await cli(["issue", ...common, "--mail", "t@example.jp"], PASSWORD, true)).status).toBe(0);
    expect((await cli(["issue", ...common, "--mail", "t@example.jp", "--password", PASSWORD])).status).toBe(2);
    const mismatch = await cli(["issue", ...common, "--mail", "t@example.jp"], `${PASSWORD}\nother123\n`);
    expect(mismatch).toMatchObject({ status: 1 });
    expect(mismatch.err).toMatch(/differ.*\[password-mismatch\]/);
  });

  it("documents every subcommand, and reports usage errors with status 2", async () => {
    for (const sub of ["issue", "activate", "confirm", "verify", "resync", "unlock", "status"]) {
      const help = await cli([sub, "--help"]);
      expect(help.status).toBe(0);
      expect(help.out).toMatch(new RegExp(`^Usage: otp-token bank ${sub}`));
      expect(help.out).toContain("--db PATH");
      expect(help.out).toContain(MASTER_KEY_ENV);
    }
    let err = "";
    const io: Io = { out: () => {}, err: (t) => { err += t; }, now: () => clock.now };
    expect(await main(["bank", "frobnicate"], io)).toBe(2);
    expect(err).toMatch(/unknown bank subcommand/);
    expect(await main(["bank", "verify", "--service-id", "1234", "--user-id", "ABCDEFGHIJKLMNOP", "123456"], io)).toBe(2);
    expect(await main(["bank", "verify", "--service-id", "12345678", "--user-id", "ABCDEFGHIJKLMNOP"], io)).toBe(2);
    const saved = process.env[MASTER_KEY_ENV];
    delete process.env[MASTER_KEY_ENV];
    try {
      const missing = await cli(["status", "--db", join(dir, "x.sqlite"), "--service-id", "12345678", "--user-id", "ABCDEFGHIJKLMNOP"]);
      expect(missing.status).toBe(1);
      expect(missing.err).toMatch(/--master-key-file.*OTP_BANK_MASTER_KEY/);
    } finally {
      if (saved !== undefined) process.env[MASTER_KEY_ENV] = saved;
    }
  });
});
