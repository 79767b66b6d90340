// Bad input throws a TypeError or RangeError whose message says what is accepted, and changes nothing.
import { describe, expect, it } from "vitest";
import { otpApi } from "../host/otp.js";
import { ascii, CORE_BUILDS } from "./helpers.js";

const KEY = ascii("12345678901234567890");

describe.each(CORE_BUILDS)("input validation, %s build", (build) => {
  const api = otpApi(build);

  it("rejects an empty or non-byte key", () => {
    expect(() => api.totp(new Uint8Array(0), 0)).toThrow(new RangeError("key must not be empty"));
    expect(() => api.hotp(new Uint8Array(0), 0)).toThrow(RangeError);
    expect(() => api.createTotp(new Uint8Array(0))).toThrow(/key must not be empty/);
    expect(() => api.totp("12345678901234567890" as unknown as Uint8Array, 0)).toThrow(TypeError);
    expect(() => api.totp("1234" as unknown as Uint8Array, 0)).toThrow(/key must be a Uint8Array/);
  });

  it("rejects digits other than 6, 7 or 8", () => {
    for (const digits of [5, 9, 0, 6.5, Number.NaN, "6"]) {
      expect(() => api.totp(KEY, 0, { digits: digits as number })).toThrow(RangeError);
      expect(() => api.hotp(KEY, 0, { digits: digits as number })).toThrow(/digits must be 6, 7 or 8/);
    }
  });

  it("rejects a period outside 1-86400 whole seconds", () => {
    for (const period of [0, -60, 86401, 1.5, Number.POSITIVE_INFINITY]) {
      expect(() => api.totp(KEY, 0, { period })).toThrow(/period must be a whole number of seconds from 1 to 86400/);
    }
  });

  it("rejects negative, fractional, unsafe or non-numeric times and counters", () => {
    expect(() => api.totp(KEY, -1)).toThrow(new RangeError("time must be a non-negative whole number, got -1"));
    expect(() => api.totp(KEY, 1.5)).toThrow(/time must be a non-negative whole number/);
    expect(() => api.totp(KEY, -1n)).toThrow(/time must be from 0 to 2\^64-1/);
    expect(() => api.totp(KEY, 2 ** 53)).toThrow(/pass it as a bigint/);
    expect(() => api.totp(KEY, "59" as unknown as number)).toThrow(TypeError);
    expect(() => api.hotp(KEY, -3)).toThrow(/counter must be a non-negative whole number/);
    expect(() => api.hotp(KEY, 1n << 64n)).toThrow(/counter must be from 0 to 2\^64-1/);
    expect(() => api.totp(KEY, 10, { t0: 11 })).toThrow(/time 10 is before t0 11/);
  });

  it("rejects unknown algorithms and accepts the usual spellings", () => {
    expect(() => api.totp(KEY, 0, { algorithm: "MD5" })).toThrow(new RangeError('unknown algorithm "MD5": use SHA1, SHA256 or SHA512'));
    expect(() => api.digest("SHA-384", KEY)).toThrow(/unknown algorithm/);
    expect(() => api.hmac("", KEY, KEY)).toThrow(/unknown algorithm/);
    const reference = api.totp(KEY, 59, { algorithm: "SHA256" });
    for (const spelling of ["sha256", "SHA-256", "sha-256", "Sha256"]) expect(api.totp(KEY, 59, { algorithm: spelling })).toBe(reference);
  });

  it("rejects codes of the wrong length or with non-digits, and bad windows", () => {
    const generator = api.createTotp(KEY, { digits: 8 });
    const good = generator.generate(1000);
    expect(() => generator.verify(good.slice(1), 1000)).toThrow(new RangeError("code must be exactly 8 digits 0-9, got 7 characters"));
    expect(() => generator.verify(`${good}0`, 1000)).toThrow(/exactly 8 digits/);
    expect(() => generator.verify("1234 678", 1000)).toThrow(/exactly 8 digits/);
    expect(() => generator.verify("１２３４５６７８", 1000)).toThrow(/exactly 8 digits/);
    expect(() => generator.verify(12345678 as unknown as string, 1000)).toThrow(TypeError);
    expect(() => generator.verify(good, 1000, { window: -1 })).toThrow(/window must be a whole number of steps from 0 to 1000/);
    expect(() => generator.verify(good, 1000, { window: 1001 })).toThrow(RangeError);
    // Nothing was changed by the refusals: the generator still verifies.
    expect(generator.verify(good, 1000)).toBe(0);
    generator.dispose();
  });
});
