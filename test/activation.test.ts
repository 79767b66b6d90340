// The token's half of activation (firmware) against the bank's half written with node:crypto
// (host/bank/protocol.ts): the seed both derive is the same, so the token's first code is what the
// bank expects. Refusals change nothing; secrets do not outlive the activation.
import { describe, expect, it } from "vitest";
import { MAX_ACTIVATION_FAILURES, STATUS_BAD_FRAME, STATUS_BAD_TAG, STATUS_LOCKED, STATUS_NOT_ACTIVATING } from "../host/abi.js";
import {
  activationKey, decodeRequest, deriveSeed, encodeResponse, generateX25519, requestTag, tagsEqual, x25519Shared,
  type OtpParameters,
} from "../host/bank/protocol.js";
import { otpApi } from "../host/otp.js";
import { LinkError } from "../host/token/link.js";
import type { SimToken } from "../host/token/sim-token.js";
import { FIRMWARE_BUILDS, newToken, rtcTime, seedOf } from "./token-helpers.js";

const api = otpApi();
const SERVICE_ID = "10212083";
const USER_ID = "2083L0000193A001";
const PASSWORD = "abc123";

/** The bank's side of one activation, as docs/activation.md says; returns the response and the seed. */
function bankAnswers(request: Uint8Array, password: string, params: OtpParameters) {
  const fields = decodeRequest(request);
  const key = activationKey(password, fields.serviceId, fields.userId);
  if (!tagsEqual(requestTag(key, request), fields.tag)) throw new Error("wrong activation password");
  const bank = generateX25519();
  const response = encodeResponse({ ...params, publicKey: bank.publicKey, nonce: new Uint8Array(16).fill(7) }, request, key);
  const seed = deriveSeed(x25519Shared(bank.privateKey, fields.publicKey), request, response, params.algorithm);
  return { response, seed, fields };
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

describe.each(FIRMWARE_BUILDS)("activation on the token (%s)", (build) => {
  it.each([
    { algorithm: "SHA1", digits: 6, period: 60, label: "BANK" },
    { algorithm: "SHA256", digits: 8, period: 60, label: "CORP 2083" },
    { algorithm: "SHA512", digits: 7, period: 30, label: "TEST" },
  ] as OtpParameters[])("agrees the seed with the bank and shows the first code ($algorithm, $digits digits)", (params) => {
    const token = newToken(build);
    const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
    expect(token.screen().mode).toBe("activating");
    const { response, seed, fields } = bankAnswers(request, PASSWORD, params);
    expect(fields.serial).toBe(BigInt(`0x${token.info().serial}`));
    expect(seed.length).toBe({ SHA1: 20, SHA256: 32, SHA512: 64 }[params.algorithm]);
    expect(token.link.activateFinish(response)).toBe(0);
    const screen = token.screen();
    expect(screen).toMatchObject({ mode: "otp", label: params.label, period: params.period });
    expect(screen.code).toBe(api.totp(seed, rtcTime(token), params));
    expect(token.profiles()).toEqual([{ index: 0, ...params }]);
    // The agreed seed never crossed the link, and the token's RAM keeps it only in its record.
    expect(contains(request, seed.subarray(0, 8)) || contains(response, seed.subarray(0, 8))).toBe(false);
    token.powerCycle();
    token.press();
    expect(token.screen().code).toBe(api.totp(seed, rtcTime(token), params));
  });

  it("a wrong activation password is caught by the bank; a forged response by the token", () => {
    const token = newToken(build);
    const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
    expect(() => bankAnswers(request, "wrong1", { algorithm: "SHA1", digits: 6, period: 60, label: "X" })).toThrow(/wrong activation password/);
    // A response keyed with another password: the token refuses it and stores no profile.
    const forged = (() => {
      const key = activationKey("wrong1", SERVICE_ID, USER_ID);
      const bank = generateX25519();
      return encodeResponse({ algorithm: "SHA1", digits: 6, period: 60, label: "EVIL", publicKey: bank.publicKey, nonce: new Uint8Array(16) }, request, key);
    })();
    expect(statusOf(() => token.link.activateFinish(forged))).toBe(STATUS_BAD_TAG);
    expect(token.profiles()).toEqual([]);
    // The real response still completes the same activation.
    const { response, seed } = bankAnswers(request, PASSWORD, { algorithm: "SHA1", digits: 6, period: 60, label: "BANK" });
    expect(token.link.activateFinish(response)).toBe(0);
    expect(token.screen().code).toBe(api.totp(seed, rtcTime(token)));
  });

  it("counts failed responses in flash before checking them, and locks activation after 5", () => {
    const token = newToken(build);
    token.addProfile({ seed: seedOf(20, 1), label: "OLD" });
    const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
    const { response } = bankAnswers(request, PASSWORD, { algorithm: "SHA1", digits: 6, period: 60, label: "NEW" });
    for (let attempt = 1; attempt <= MAX_ACTIVATION_FAILURES; attempt++) {
      const bad = response.slice();
      bad[99] ^= 1;
      const sequence = token.info().recordSequence;
      expect(statusOf(() => token.link.activateFinish(bad))).toBe(STATUS_BAD_TAG);
      // One record write per failure: the count, written before the check.
      expect(token.info().recordSequence).toBe(sequence + 1);
    }
    // Locked: the activation was abandoned, and new ones are refused until the token is erased.
    expect(statusOf(() => token.link.activateFinish(response))).toBe(STATUS_NOT_ACTIVATING);
    expect(statusOf(() => token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD))).toBe(STATUS_LOCKED);
    // The count survives a power cycle; the old profile is untouched throughout.
    token.powerCycle();
    expect(statusOf(() => token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD))).toBe(STATUS_LOCKED);
    expect(token.profiles().map((p) => p.label)).toEqual(["OLD"]);
    token.press();
    expect(token.screen().code).toBe(api.totp(seedOf(20, 1), rtcTime(token)));
    // Erasing (with the physical confirmation) clears the lock.
    token.link.requestErase();
    token.hold(2500);
    token.press();
    expect(token.screen().mode).toBe("not-set-up");
    expect(token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD)).toHaveLength(113);
  });

  it("refuses every truncation and every single-bit flip of the response, changing no profile", () => {
    const params: OtpParameters = { algorithm: "SHA256", digits: 6, period: 60, label: "NEW" };
    const fresh = () => {
      const token = newToken(build);
      token.addProfile({ seed: seedOf(20, 2), label: "OLD" });
      const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
      return { token, ...bankAnswers(request, PASSWORD, params) };
    };
    let { token, response } = fresh();
    for (let length = 0; length < response.length; length++) {
      expect(statusOf(() => token.link.activateFinish(response.subarray(0, length))), `length ${length}`).toBe(STATUS_BAD_FRAME);
    }
    expect(token.info().recordSequence).toBe(2); // serial at first boot, then OLD: truncations wrote nothing
    // Every flip is refused. A malformed field writes nothing; a flip the tag catches writes only the
    // failure count (before the check, by design). Four flips per token stay below the lock, and the
    // true response then still completes the activation, so the refused ones changed nothing else.
    let malformed = 0;
    let badTag = 0;
    for (let bit = 0; bit < response.length * 8; bit++) {
      if (bit % 4 === 0 && bit > 0) {
        expect(token.link.activateFinish(response)).toBe(1);
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
    expect(malformed + badTag).toBe(800);
    expect(badTag).toBeGreaterThan(600);
  });

  it("zeroises the ephemeral key, K_AC and the transcript when the activation ends or is abandoned", () => {
    const token = newToken(build);
    const request = token.link.activateBegin(SERVICE_ID, USER_ID, PASSWORD);
    const memory = memoryOf(token);
    // While pending, the request (with the public key) is held; the password never is.
    expect(contains(memory, request.subarray(33, 65)), "public key held").toBe(true);
    expect(contains(memory, Buffer.from(PASSWORD)), "password gone").toBe(false);
    const key = activationKey(PASSWORD, SERVICE_ID, USER_ID);
    expect(contains(memory, key), "K_AC gone").toBe(false); // only its prepared HMAC states are kept
    // Abandoned when the panel goes off (the bank never answered).
    token.advance(301_000);
    expect(token.screen().mode).toBe("off");
    // The link buffer holds the last response until the next command; the request is public anyway.
    token.info();
    expect(contains(memory, request.subarray(33, 65)), "public key gone").toBe(false);
    expect(contains(memory, request.subarray(81, 113)), "request tag gone").toBe(false);
    const { response } = bankAnswers(request, PASSWORD, { algorithm: "SHA1", digits: 6, period: 60, label: "LATE" });
    expect(statusOf(() => token.link.activateFinish(response))).toBe(STATUS_NOT_ACTIVATING);
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
    // PBKDF2 with 1000 iterations costs 2 compressions an iteration; the rest is small.
    expect(begin).toBeGreaterThanOrEqual(2000);
    expect(begin).toBeLessThan(2020);
    expect(finish).toBeLessThan(40);
    console.log(`activation: ${begin} compressions to begin, ${finish} to finish (plus two X25519 scalar multiplications)`);
  });
});
