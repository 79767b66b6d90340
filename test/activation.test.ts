// The token's half of activation (firmware, CPace initiator) against the bank's half (host/bank over
// @noble/curves and node:crypto): the seed both derive is the same, so the token's first code is what
// the bank expects; a wrong password fails on both sides with each counter moved by one; damaged
// responses and low-order shares are refused; secrets do not outlive the activation; replays change
// nothing. Both firmware builds.
import { randomBytes, randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ACTIVATION_CONFIRMATION_BYTES,
  ACTIVATION_REQUEST_BYTES,
  MAX_ACTIVATION_FAILURES,
  STATUS_BAD_FRAME,
  STATUS_BAD_TAG,
  STATUS_LOCKED,
  STATUS_NOT_ACTIVATING,
} from "../host/abi.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { BankError } from "../host/bank/errors.js";
import {
  answerRequest,
  calculateGenerator,
  channelIdentifier,
  decodeConfirmation,
  decodeRequest,
  encodeResponse,
  intermediateSessionKey,
  macKey,
  type OtpParameters,
  responseAssociatedData,
  scalarMultVfy,
} from "../host/bank/protocol.js";
import type { SqliteStore } from "../host/bank/sqlite/store.js";
import { openStore } from "../host/bank/open-store.js";
import { SeededRandom, type RandomSource } from "../host/board/random.js";
import { otpApi } from "../host/otp.js";
import { LinkError } from "../host/token/link.js";
import { SimToken } from "../host/token/sim-token.js";
import { ascii, testRandom } from "./helpers.js";
import { FIRMWARE_BUILDS, newToken, rtcTime, seedOf } from "./token-helpers.js";

const api = otpApi();
const SERVICE_ID = "10212083";
const USER_ID = "2083L0000193A001";
const PASSWORD = "abc123";
const DEFAULT_PARAMS: OtpParameters = { algorithm: "SHA1", digits: 6, period: 60, label: "BANK" };
const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const secureRandom = (length: number) => new Uint8Array(randomBytes(length));

/** The bank's half of one activation (host/bank/protocol.ts), without a database. */
function bankAnswers(request: Uint8Array, password: string, params: OtpParameters = DEFAULT_PARAMS, random = secureRandom) {
  return answerRequest(decodeRequest(request), password, params, random);
}

function statusOf(run: () => unknown): number {
  try {
    run();
  } catch (error) {
    if (error instanceof LinkError) return error.status;
    throw error;
  }
  return 0;
}

function memoryOf(token: SimToken): Uint8Array {
  return new Uint8Array((token as unknown as { firmware: { memory: WebAssembly.Memory } }).firmware.memory.buffer);
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) >= 0;
}

/** A random source that remembers what it gave: the firmware draws sid (16 bytes), then ya (32). */
class RecordingRandom implements RandomSource {
  readonly given: Uint8Array[] = [];
  private readonly source = new SeededRandom(randomInt(1 << 30));

  fill(bytes: Uint8Array): void {
    this.source.fill(bytes);
    this.given.push(bytes.slice());
  }
}

let dir: string;
let stores: SqliteStore[];
let clock: { now: number };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-activation-"));
  stores = [];
  clock = { now: 0 };
});

afterEach(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A bank on a fresh database whose clock is the token's RTC. */
async function openBank(token: SimToken): Promise<Bank> {
  const store = (await openStore(join(dir, `bank-${stores.length}.sqlite`), { create: true })) as SqliteStore;
  stores.push(store);
  clock.now = rtcTime(token);
  const bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => clock.now });
  await bank.updateSettings({ serviceId: SERVICE_ID });
  return bank;
}

const db = (bank: Bank) => (bank.store as SqliteStore).engine!.db;
const issueWith = (bank: Bank, password = PASSWORD) =>
  bank.issue({ mail: "holder@example.jp", mailConfirm: "holder@example.jp", password, passwordConfirm: password });
const failedAttempts = (bank: Bank, userId: string) =>
  (db(bank).prepare("SELECT failed_attempts FROM issues WHERE user_id = ?").get(userId) as { failed_attempts: number }).failed_attempts;

describe.each(FIRMWARE_BUILDS)("activation on the token (%s)", (build) => {
  it.each([
    { algorithm: "SHA1", digits: 6, period: 60, label: "BANK" },
    { algorithm: "SHA256", digits: 8, period: 60, label: "CORP 2083" },
    { algorithm: "SHA512", digits: 7, period: 30, label: "TEST" },
  ] as OtpParameters[])("agrees the seed with the bank and shows the first code ($algorithm, $digits digits)", (params) => {
    const token = newToken(build);
    const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
    expect(request).toHaveLength(ACTIVATION_REQUEST_BYTES);
    expect(token.screen().mode).toBe("activating");
    const fields = decodeRequest(request);
    expect(fields).toMatchObject({ serviceId: SERVICE_ID, userId: USER_ID, serial: BigInt(`0x${token.info().serial}`) });
    const { response, seed, expectedTokenTag } = bankAnswers(request, PASSWORD, params);
    expect(seed.length).toBe({ SHA1: 20, SHA256: 32, SHA512: 64 }[params.algorithm]);
    const { profile, confirmation } = token.link.activateFinish(response);
    expect(profile).toBe(0);
    // Message 3: the session's ids and Ta, which only a token that derived the same ISK can compute.
    expect(confirmation).toHaveLength(ACTIVATION_CONFIRMATION_BYTES);
    expect(decodeConfirmation(confirmation)).toEqual({ serviceId: SERVICE_ID, userId: USER_ID, sid: fields.sid, tag: expectedTokenTag });
    const screen = token.screen();
    expect(screen).toMatchObject({ mode: "otp", label: params.label, period: params.period });
    expect(screen.code).toBe(api.totp(seed, rtcTime(token), params));
    expect(token.profiles()).toEqual([{ index: 0, ...params, serviceId: SERVICE_ID }]);
    // The agreed seed never crossed the link.
    for (const message of [request, response, confirmation]) expect(contains(message, seed.subarray(0, 8))).toBe(false);
    token.powerCycle();
    token.press();
    expect(token.screen().code).toBe(api.totp(seed, rtcTime(token), params));
  });

  it("derives the bank's seed for random passwords, Service IDs, User IDs and serials", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const random = testRandom();
    for (let round = 0; round < 6; round++) {
      const token = newToken(build, { randomSeed: random.int(0, 1 << 30) });
      const password = Array.from({ length: random.int(4, 9) }, () => alphabet[random.int(0, alphabet.length)]).join("");
      const serviceId = String(random.int(1e7, 1e8));
      const userId = Array.from({ length: 16 }, () => alphabet[random.int(0, 26)].toUpperCase() + "0123456789"[random.int(0, 10)])
        .join("")
        .slice(0, 16);
      const request = token.link.activateBegin(serviceId, userId, password);
      expect(decodeRequest(request).serial).toBe(BigInt(`0x${token.info().serial}`));
      const { response, seed } = bankAnswers(request, password, DEFAULT_PARAMS, (length) => new Uint8Array(random.bytes(length)));
      token.link.activateFinish(response);
      expect(token.screen().code, `${password} ${serviceId} ${userId}`).toBe(api.totp(seed, rtcTime(token)));
    }
  });

  it("a wrong password fails on both sides, each counter moved by exactly one; the fifth locks both", async () => {
    const token = newToken(build);
    token.addProfile({ seed: seedOf(20, 1), label: "OLD" });
    const bank = await openBank(token);
    const issued = await issueWith(bank);
    for (let attempt = 1; attempt <= MAX_ACTIVATION_FAILURES; attempt++) {
      const request = token.link.activateBegin(issued.serviceId, issued.userId, "Wrong999");
      // The bank cannot tell (that is the point of a PAKE): it answers, counts the attempt, and says
      // how many would be left should the token refuse the answer.
      const answer = await bank.activate(request);
      expect(answer.attemptsLeft).toBe(MAX_ACTIVATION_FAILURES - attempt);
      expect(failedAttempts(bank, issued.userId)).toBe(attempt);
      const sequence = token.info().recordSequence;
      expect(token.info().activationLocked).toBe(false);
      expect(statusOf(() => token.link.activateFinish(answer.response))).toBe(STATUS_BAD_TAG);
      // One record write on the token: the count, written before the check.
      expect(token.info().recordSequence).toBe(sequence + 1);
      expect((await bank.status(issued.userId)).issue).toMatchObject({ failedAttempts: attempt, pendingSerial: null });
    }
    // Both sides now refuse: the token until erased (its INFO says so), the bank for good.
    expect(token.info().activationLocked).toBe(true);
    expect(statusOf(() => token.link.activateBegin(issued.serviceId, issued.userId, PASSWORD))).toBe(STATUS_LOCKED);
    const other = newToken(build, { randomSeed: 99 });
    await expect(bank.activate(other.link.activateBegin(issued.serviceId, issued.userId, PASSWORD))).rejects.toThrow(/void/);
    expect(token.profiles().map((p) => p.label)).toEqual(["OLD"]);
    token.press();
    expect(token.screen().code).toBe(api.totp(seedOf(20, 1), rtcTime(token)));
  });

  it("four wrong passwords, then the right one: registered, and the bank's count taken back by one", async () => {
    const token = newToken(build);
    const bank = await openBank(token);
    const issued = await issueWith(bank);
    for (let attempt = 1; attempt < MAX_ACTIVATION_FAILURES; attempt++) {
      const { response } = await bank.activate(token.link.activateBegin(issued.serviceId, issued.userId, `Wrong${attempt}`));
      expect(statusOf(() => token.link.activateFinish(response))).toBe(STATUS_BAD_TAG);
    }
    const request = token.link.activateBegin(issued.serviceId, issued.userId, PASSWORD);
    const answer = await bank.activate(request);
    expect(failedAttempts(bank, issued.userId)).toBe(MAX_ACTIVATION_FAILURES);
    expect(answer.attemptsLeft).toBe(0);
    // At the limit, the same request (its answer was lost) is still answered again, and voids nothing.
    expect(await bank.activate(request)).toEqual(answer);
    const { confirmation } = token.link.activateFinish(answer.response);
    expect(failedAttempts(bank, issued.userId)).toBe(MAX_ACTIVATION_FAILURES);
    await bank.register(confirmation);
    expect(failedAttempts(bank, issued.userId)).toBe(MAX_ACTIVATION_FAILURES - 1);
    expect((await bank.confirm(issued.userId, token.screen().code!)).ok).toBe(true);
  });

  it("the holder's own request replayed 10 times after success changes nothing", async () => {
    const token = newToken(build);
    const bank = await openBank(token);
    const issued = await issueWith(bank);
    const request = token.link.activateBegin(issued.serviceId, issued.userId, PASSWORD);
    const answer = await bank.activate(request);
    // The first answer was lost on the way back: the same request is answered again, nothing counted twice.
    expect(await bank.activate(request)).toEqual(answer);
    expect(failedAttempts(bank, issued.userId)).toBe(1);
    const { confirmation } = token.link.activateFinish(answer.response);
    await bank.register(confirmation);
    const d = db(bank);
    const snapshot = () => ({
      issues: d.prepare("SELECT * FROM issues").all(),
      sessions: d.prepare("SELECT * FROM activation_sessions").all(),
      tokens: d.prepare("SELECT * FROM tokens").all(),
    });
    const before = snapshot();
    expect(before.issues[0]).toMatchObject({ failed_attempts: 0, state: "pending", pending_serial: token.info().serial });
    for (let replay = 0; replay < 10; replay++) {
      expect((await bank.activate(request)).response).toEqual(answer.response);
      expect(await bank.register(confirmation)).toEqual({ serial: token.info().serial });
    }
    expect(snapshot()).toEqual(before);
    // The holder's first code is accepted; afterwards the issue is gone for activation.
    expect((await bank.confirm(issued.userId, token.screen().code!)).ok).toBe(true);
    for (let replay = 0; replay < 10; replay++) await expect(bank.activate(request)).rejects.toThrow(BankError);
    token.advance(60_000);
    token.press();
    expect((await bank.verify(issued.userId, token.screen().code!)).ok).toBe(true);
  });

  it("refuses every truncation and every single-bit flip of the response, changing no profile", () => {
    const params: OtpParameters = { algorithm: "SHA256", digits: 6, period: 60, label: "NEW" };
    const fresh = () => {
      const token = newToken(build, { randomSeed: randomInt(1 << 30) });
      token.addProfile({ seed: seedOf(20, 2), label: "OLD" });
      const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
      return { token, ...bankAnswers(request, PASSWORD, params) };
    };
    let { token, response } = fresh();
    for (let length = 0; length < response.length; length++) {
      expect(
        statusOf(() => token.link.activateFinish(response.subarray(0, length))),
        `length ${length}`,
      ).toBe(STATUS_BAD_FRAME);
    }
    expect(
      statusOf(() => token.link.activateFinish(Uint8Array.of(...response, 0))),
      "one byte more",
    ).toBe(STATUS_BAD_FRAME);
    expect(token.info().recordSequence).toBe(2); // serial at first boot, then OLD: truncations wrote nothing
    // Every flip is refused. A malformed field writes nothing; a flip Tb catches writes only the failure
    // count (before the check, by design). Four flips per token stay below the lock, and the true
    // response then still completes the activation, so the refused ones changed nothing else.
    let malformed = 0;
    let badTag = 0;
    for (let bit = 0; bit < response.length * 8; bit++) {
      if (bit % 4 === 0 && bit > 0) {
        expect(token.link.activateFinish(response).profile).toBe(1);
        expect(token.profiles().map((p) => p.label)).toEqual(["OLD", "NEW"]);
        ({ token, response } = fresh());
      }
      const flipped = response.slice();
      flipped[bit >> 3] ^= 1 << (bit & 7);
      const sequence = token.info().recordSequence;
      const status = statusOf(() => token.link.activateFinish(flipped));
      expect([STATUS_BAD_FRAME, STATUS_BAD_TAG], `bit ${bit}`).toContain(status);
      if (status === STATUS_BAD_FRAME) malformed++;
      else badTag++;
      expect(token.info().recordSequence, `bit ${bit}`).toBe(sequence + (status === STATUS_BAD_TAG ? 1 : 0));
      expect(token.profiles().map((p) => p.label)).toEqual(["OLD"]);
    }
    expect(malformed + badTag).toBe(117 * 8);
    // Yb and Tb (96 bytes) are caught only by Tb; the version, kind and parameters mostly by their form.
    expect(badTag).toBeGreaterThanOrEqual(96 * 8);
  });

  it("aborts on a low-order Yb (draft-irtf-cfrg-cpace-21 §7.2, §9): counted, abandoned, nothing stored", () => {
    // Appendix B.1.10's points that X25519 maps to the neutral element.
    const lowOrder = [
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    for (const point of lowOrder) {
      const token = newToken(build);
      const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
      const forged = encodeResponse({ ...DEFAULT_PARAMS, share: new Uint8Array(Buffer.from(point, "hex")), tag: new Uint8Array(64) });
      const sequence = token.info().recordSequence;
      expect(
        statusOf(() => token.link.activateFinish(forged)),
        point,
      ).toBe(STATUS_BAD_TAG);
      expect(token.info().recordSequence).toBe(sequence + 1);
      // The run is over: even the true response is too late.
      expect(statusOf(() => token.link.activateFinish(bankAnswers(request, PASSWORD).response))).toBe(STATUS_NOT_ACTIVATING);
      expect(token.profiles()).toEqual([]);
    }
  });

  it("keeps neither the password nor the generator, and zeroises ya, K, ISK and the MAC key", () => {
    const random = new RecordingRandom();
    const token = new SimToken({ build, boardConfig: { random } });
    const memory = memoryOf(token);
    const drawn = random.given.length;
    const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
    const fields = decodeRequest(request);
    // The firmware drew sid, then ya.
    expect(random.given.slice(drawn).map((bytes) => bytes.length)).toEqual([16, 32]);
    expect(random.given[drawn]).toEqual(fields.sid);
    const ya = random.given[drawn + 1];
    const generator = calculateGenerator(ascii(PASSWORD), channelIdentifier(fields.serial, SERVICE_ID, USER_ID), fields.sid);
    // While pending, only message 1 and ya are held: the password and g (as good as the password for a
    // guesser) are gone.
    expect(contains(memory, ascii(PASSWORD)), "password gone").toBe(false);
    expect(contains(memory, generator), "generator gone").toBe(false);
    expect(contains(memory, ya), "ya held while pending").toBe(true);
    const yb = new Uint8Array(randomBytes(32));
    const answer = bankAnswers(request, PASSWORD, DEFAULT_PARAMS, (length) => (length === 32 ? yb.slice() : secureRandom(length)));
    const response = answer.response;
    const K = scalarMultVfy(yb, fields.share);
    const isk = intermediateSessionKey(
      fields.sid,
      K,
      fields.share,
      fields.associatedData,
      response.subarray(21, 53),
      responseAssociatedData(DEFAULT_PARAMS),
    );
    const key = macKey(fields.sid, isk);
    // A damaged response first: its K, ISK and MAC key must not linger either.
    const damaged = response.slice();
    damaged[116] ^= 1;
    expect(statusOf(() => token.link.activateFinish(damaged))).toBe(STATUS_BAD_TAG);
    for (const [name, secret] of [
      ["K", K],
      ["ISK", isk],
      ["MAC key", key],
    ] as const)
      expect(contains(memory, secret), name).toBe(false);
    token.link.activateFinish(response);
    for (const [name, secret] of [
      ["ya", ya],
      ["K", K],
      ["ISK", isk],
      ["MAC key", key],
      ["g", generator],
    ] as const) {
      expect(contains(memory, secret), name).toBe(false);
    }
  });

  it("ACTIVATE_CANCEL, and a press on the activating screen, end a CPace run: ya and Ya zeroed, the bank's true answer refused, nothing counted", () => {
    for (const how of ["link", "press"] as const) {
      const random = new RecordingRandom();
      const token = new SimToken({ build, boardConfig: { random } });
      const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
      const ya = random.given[random.given.length - 1];
      expect(contains(memoryOf(token), ya), `${how}: ya held while pending`).toBe(true);
      const sequence = token.info().recordSequence;
      if (how === "link") expect(token.link.activateCancel()).toBe(true);
      else token.press();
      expect(token.screen().mode, how).toBe("not-set-up");
      // The link buffer holds the last response until the next command; then nothing of the run is left.
      token.info();
      expect(contains(memoryOf(token), ya), `${how}: ya gone`).toBe(false);
      expect(contains(memoryOf(token), request.subarray(50, 82)), `${how}: Ya gone`).toBe(false);
      expect(contains(memoryOf(token), request.subarray(34, 50)), `${how}: sid gone`).toBe(false);
      // The bank's genuine answer, arriving after the cancel, is refused; nothing was written or counted.
      expect(statusOf(() => token.link.activateFinish(bankAnswers(request, PASSWORD).response))).toBe(STATUS_NOT_ACTIVATING);
      expect(token.info().recordSequence).toBe(sequence);
      expect(token.link.activateCancel()).toBe(false);
      expect(token.profiles()).toEqual([]);
      // A new run starts afresh and completes.
      const again = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
      const { seed, response } = bankAnswers(again, PASSWORD);
      token.link.activateFinish(response);
      expect(token.screen().code).toBe(api.totp(seed, rtcTime(token)));
    }
  });

  it("a run the token refused at 登録 (a wrong password) stays open until cancelled; the cancel zeroes it", () => {
    const random = new RecordingRandom();
    const token = new SimToken({ build, boardConfig: { random } });
    const request = token.link.activateBegin(SERVICE_ID, USER_ID, "Wrong999");
    const ya = random.given[random.given.length - 1];
    expect(statusOf(() => token.link.activateFinish(bankAnswers(request, PASSWORD).response))).toBe(STATUS_BAD_TAG);
    expect(token.screen().mode).toBe("activating");
    expect(token.link.activateCancel()).toBe(true);
    token.info();
    expect(contains(memoryOf(token), ya)).toBe(false);
    expect(token.screen().mode).toBe("not-set-up");
  });

  it("abandons the activation with the panel: a late response is refused and ya is gone", () => {
    const random = new RecordingRandom();
    const token = new SimToken({ build, boardConfig: { random } });
    const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
    const ya = random.given[random.given.length - 1];
    token.advance(301_000);
    expect(token.screen().mode).toBe("off");
    // The link buffer holds the last response until the next command; the request is public anyway.
    token.info();
    expect(contains(memoryOf(token), ya)).toBe(false);
    expect(contains(memoryOf(token), request.subarray(50, 82)), "Ya gone").toBe(false);
    expect(statusOf(() => token.link.activateFinish(bankAnswers(request, PASSWORD).response))).toBe(STATUS_NOT_ACTIVATING);
    expect(token.profiles()).toEqual([]);
  });

  it("rejects bad Service IDs, User IDs and passwords before anything happens", () => {
    const token = newToken(build);
    expect(() => token.link.activateBegin("1021208", USER_ID, PASSWORD)).toThrow(/Service ID must be 8 digits/);
    expect(() => token.link.activateBegin(SERVICE_ID, "2083l0000193A001", PASSWORD)).toThrow(/User ID must be 16/);
    expect(() => token.link.activateBegin(SERVICE_ID, USER_ID, "abc")).toThrow(/activation password must be 4-8/);
    expect(() => token.link.activateBegin(SERVICE_ID, USER_ID, "abc-12")).toThrow(/activation password must be 4-8/);
    expect(token.screen().mode).toBe("off");
  });
});

describe("activation cost (debug firmware)", () => {
  it("counts the compressions of one whole activation on the token", () => {
    const token = newToken("debug");
    const before = token.compressionCount();
    const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
    const begin = token.compressionCount() - before;
    const { response } = bankAnswers(request, PASSWORD, { algorithm: "SHA512", digits: 6, period: 60, label: "BANK" });
    const mid = token.compressionCount();
    token.link.activateFinish(response);
    const finish = token.compressionCount() - mid;
    // Begin: the 202-byte generator string, two SHA-512 blocks. Finish: ISK (186 bytes, 2), the MAC key
    // (88 bytes, 1), keying HMAC-SHA-512 (2), Tb and Ta (2 each), HKDF-SHA256 for a 64-byte seed (11);
    // then the first code on screen: keying the profile's HMAC-SHA-512 (2) and one code (2).
    expect(begin).toBe(2);
    expect(finish).toBe(2 + 1 + 2 + 2 + 2 + 11 + 4);
    console.log(`activation: ${begin} compressions to begin, ${finish} to finish (plus Elligator 2 and two X25519)`);
  });
});

describe.each(FIRMWARE_BUILDS)("one profile per bank service (%s)", (build) => {
  /** 送信 and 登録 for `issued` against `bank`, as a front end relays them; the registration as answered. */
  async function activate(token: SimToken, bank: Bank, issued: { serviceId: string; userId: string }) {
    const answer = await bank.activate(token.link.activateBegin(issued.serviceId, issued.userId, PASSWORD));
    const registered = token.link.activateFinish(answer.response);
    await bank.register(registered.confirmation);
    return registered;
  }

  /** Lets the step of the last accepted code pass, so the next code is a new one. */
  function nextStep(token: SimToken): void {
    token.advance(61_000);
    clock.now = rtcTime(token);
  }

  it("a re-set-up replaces the profile of the same Service ID on the holder's hold: one press shows the code the bank accepts", async () => {
    const token = newToken(build);
    const bank = await openBank(token);
    // A demo profile programmed over the link has no Service ID: it is never replaced.
    token.addProfile({ seed: seedOf(20, 9), label: "DEMO" });
    const first = await issueWith(bank);
    expect(first.userId).toMatch(/A001$/);
    const registered = await activate(token, bank, first);
    expect(registered).toMatchObject({ profile: 1, replacing: false });
    expect((await bank.confirm(first.userId, token.screen().code!)).ok).toBe(true);
    expect(token.profiles().map((p) => [p.label, p.serviceId])).toEqual([
      ["DEMO", null],
      ["BANK", SERVICE_ID],
    ]);

    // The re-set-up: the bank issues ...A002 to the same customer; the same token registers it.
    nextStep(token);
    const second = await bank.issue({ ...holder, userId: first.userId });
    expect(second.userId).toMatch(/A002$/);
    const again = await activate(token, bank, second);
    // The token asks its holder: the old profile is still the one stored until the hold.
    expect(again).toMatchObject({ profile: 1, replacing: true });
    expect(token.screen().mode).toBe("replace-confirm");
    const sequence = token.info().recordSequence;
    token.link.replaceConfirmed(() => token.hold());
    expect(token.info().recordSequence).toBe(sequence + 1);
    expect(token.profiles().map((p) => [p.label, p.serviceId])).toEqual([
      ["DEMO", null],
      ["BANK", SERVICE_ID],
    ]);
    // Its code shows at once; after the panel went dark and the token rebooted, one press still shows it.
    expect(token.screen()).toMatchObject({ mode: "otp", profile: 1 });
    const shown = token.screen().code!;
    expect((await bank.confirm(second.userId, shown)).ok).toBe(true);
    nextStep(token);
    token.powerCycle();
    token.press();
    token.press(); // past DEMO, profile 0
    expect(token.screen()).toMatchObject({ mode: "otp", profile: 1, label: "BANK" });
    expect((await bank.verify(second.userId, token.screen().code!)).ok).toBe(true);
    // The old User ID is gone with its token.
    await expect(bank.verify(first.userId, token.screen().code!)).rejects.toThrow(BankError);
  });

  it("an issue registered but never confirmed is replaced the same way; without the hold the token keeps the old profile", async () => {
    const token = newToken(build);
    const bank = await openBank(token);
    const abandoned = await issueWith(bank);
    await activate(token, bank, abandoned);
    expect(token.profiles()).toHaveLength(1);
    const oldCode = token.screen().code!;
    // Issued again (the first was never confirmed): registered, but the holder does not hold.
    const again = await issueWith(bank);
    const registered = await activate(token, bank, again);
    expect(registered).toMatchObject({ profile: 0, replacing: true });
    token.press(); // a press is no confirmation
    token.advance(10_000);
    expect(token.screen().mode).not.toBe("replace-confirm");
    expect(token.profiles()).toHaveLength(1);
    token.press();
    expect(token.screen().code).toBe(oldCode);
    // Registered again and held: replaced; the confirmed code is the new issue's.
    const held = await activate(token, bank, again);
    expect(held.replacing).toBe(true);
    token.hold();
    expect(token.profiles()).toHaveLength(1);
    expect(token.screen()).toMatchObject({ mode: "otp", profile: 0 });
    expect(token.screen().code).not.toBe(oldCode);
    expect((await bank.confirm(again.userId, token.screen().code!)).ok).toBe(true);
  });

  it("two services of one label are told apart on the screen by the Service ID's last digits", async () => {
    const token = newToken(build);
    const bank = await openBank(token);
    const first = await issueWith(bank);
    await activate(token, bank, first);
    expect(token.screen()).toMatchObject({ label: "BANK", serviceSuffix: "" });
    const plain = token.framebuffer();
    const other = await openBank(token);
    await other.updateSettings({ serviceId: "10219999" });
    const second = await issueWith(other);
    expect(second.serviceId).toBe("10219999");
    expect((await activate(token, other, second)).replacing).toBe(false);
    expect(token.screen()).toMatchObject({ mode: "otp", profile: 1, label: "BANK", serviceSuffix: "9999" });
    token.press();
    expect(token.screen()).toMatchObject({ mode: "otp", profile: 0, label: "BANK", serviceSuffix: "2083" });
    // The digits are drawn: the label row differs from the one a lone BANK profile showed.
    const row = (frame: Uint8Array) => Buffer.from(frame.subarray(0, 128)).toString("hex");
    expect(row(token.framebuffer())).not.toBe(row(plain));
  });
});

const holder = { mail: "holder@example.jp", mailConfirm: "holder@example.jp", password: PASSWORD, passwordConfirm: PASSWORD };
