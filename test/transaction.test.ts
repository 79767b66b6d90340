// What the token signs: the canonical transfer, its screens and its code (docs/transaction-signing.md,
// "What the token signs"). The code is computed by the firmware's module in the wasm core on every
// build and checked against node:crypto's HKDF (RFC 5869) and the library's OCRA (RFC 6287, proven
// in test/ocra.test.ts); the screens and the code come from one byte string.
import { createHash, hkdfSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { STATUS_BAD_TRANSACTION } from "../host/abi.js";
import { core } from "../host/core.js";
import { otpApi } from "../host/otp.js";
import {
  decodeTransfer,
  encodeTransfer,
  TRANSACTION_KEY_LABEL,
  TRANSACTION_SUITE,
  type Transfer,
  transferCode,
  transferScreens,
} from "../host/transaction.js";
import { CORE_BUILDS, fromHex, hex } from "./helpers.js";

const api = otpApi("release");
const SEED = fromHex("3132333435363738393031323334353637383930");
const TRANSFER: Transfer = {
  bankCode: "0001",
  branch: "001",
  account: "1234567",
  amount: 1_234_567,
  nonce: fromHex("0011223344556677"),
  name: "ﾔﾏﾀﾞ ﾀﾛｳ",
};

/** The code as RFC 5869 and RFC 6287 define it, from node:crypto's HKDF and the library's OCRA. */
function expectedCode(seed: Uint8Array, bytes: Uint8Array): string {
  const key = new Uint8Array(hkdfSync("sha256", seed, new Uint8Array(0), TRANSACTION_KEY_LABEL, 32));
  return api.ocra(TRANSACTION_SUITE, key, { question: createHash("sha256").update(bytes).digest("hex") });
}

/** The core's verdict on raw bytes: the code, or a negative status. */
function coreCode(build: (typeof CORE_BUILDS)[number], seed: Uint8Array, bytes: Uint8Array): number {
  const instance = core(build).main;
  instance.io.set(seed);
  instance.io.set(bytes, seed.length);
  return instance.exports.transactionCode(seed.length, bytes.length);
}

describe("the canonical transfer", () => {
  it("encodes every field at its place and reads back", () => {
    const bytes = encodeTransfer(TRANSFER);
    expect(hex(bytes)).toBe(`01${hex(new TextEncoder().encode("00010011234567"))}00000012d687${"0011223344556677"}08d4cfc0de20c0dbb3`);
    expect(decodeTransfer(bytes)).toEqual(TRANSFER);
    expect(decodeTransfer(encodeTransfer({ ...TRANSFER, name: undefined, amount: 999_999_999_999 }))).toEqual({
      ...TRANSFER,
      name: undefined,
      amount: 999_999_999_999,
    });
  });

  // biome-ignore format: one refused field a row
  const BAD: [Partial<Transfer>, RegExp][] = [
    [{ bankCode: "001" }, /bankCode must be exactly 4 digits/],
    [{ branch: "01a" }, /branch must be exactly 3 digits/],
    [{ account: "12345678" }, /account must be exactly 7 digits/],
    [{ amount: 0 }, /amount must be a whole number of yen from 1 to 999999999999/],
    [{ amount: 1e12 }, /from 1 to 999999999999, got 1000000000000/],
    [{ amount: 1.5 }, /whole number of yen/],
    [{ nonce: new Uint8Array(7) }, /nonce must be 8 bytes/],
    [{ name: "やまだ" }, /half-width katakana, 0-9, A-Z, space \( \) - \. only; "や"/],
    [{ name: "ｱ".repeat(31) }, /at most 30 characters, got 31/],
  ];
  it.each(BAD)("refuses %o", (change, message) => {
    expect(() => encodeTransfer({ ...TRANSFER, ...change })).toThrow(message);
  });

  it("shows payee, name and amount, a screen at a time", () => {
    expect(transferScreens(encodeTransfer(TRANSFER))).toEqual(["TO 0001-001 1234567", "ﾔﾏﾀﾞ ﾀﾛｳ", "JPY 1,234,567"]);
    expect(transferScreens(encodeTransfer({ ...TRANSFER, name: undefined }))).toEqual(["TO 0001-001 1234567", "JPY 1,234,567"]);
  });
});

describe.each(CORE_BUILDS)("the transfer code, %s build", (build) => {
  it("is OCRA-1:HOTP-SHA256-8:QH64 over SHA-256 of the transfer, under HKDF-SHA256(seed, 'otp-token transaction signing v1')", () => {
    for (const amount of [1, 1_234_567, 999_999_999_999]) {
      const bytes = encodeTransfer({ ...TRANSFER, amount });
      expect(transferCode(SEED, bytes, build)).toBe(expectedCode(SEED, bytes));
    }
    // The key is derived: the seed itself gives another code (a login key never signs a transfer).
    const bytes = encodeTransfer(TRANSFER);
    const underSeed = api.ocra(TRANSACTION_SUITE, SEED, { question: createHash("sha256").update(bytes).digest("hex") });
    expect(transferCode(SEED, bytes, build)).not.toBe(underSeed);
  });

  it("what is shown is what is signed: every byte either changes the screens or the code, or makes the transfer refused", () => {
    const bytes = encodeTransfer(TRANSFER);
    const screens = transferScreens(bytes);
    const code = transferCode(SEED, bytes, build);
    let refused = 0;
    for (let index = 0; index < bytes.length; index++) {
      for (const flip of [0x01, 0x10, 0x80]) {
        const changed = bytes.slice();
        changed[index] ^= flip;
        let decodes = true;
        try {
          decodeTransfer(changed);
        } catch {
          decodes = false;
        }
        // The firmware refuses exactly what the host refuses to decode.
        const status = coreCode(build, SEED, changed);
        expect(status === STATUS_BAD_TRANSACTION, `byte ${index} ^ ${flip}`).toBe(!decodes);
        if (!decodes) {
          refused++;
          continue;
        }
        expect(String(status).padStart(8, "0"), `byte ${index} ^ ${flip}`).not.toBe(code);
        // Only the nonce is signed without being shown: it is the bank's, for freshness.
        const inNonce = index >= 21 && index < 29;
        if (!inNonce) expect(transferScreens(changed), `byte ${index} ^ ${flip}`).not.toEqual(screens);
      }
    }
    expect(refused).toBeGreaterThan(30);
  });

  it("refuses what is not a canonical transfer", () => {
    expect(coreCode(build, SEED, new Uint8Array(29))).toBe(STATUS_BAD_TRANSACTION);
    expect(coreCode(build, SEED, encodeTransfer(TRANSFER).subarray(0, 35))).toBe(STATUS_BAD_TRANSACTION);
    expect(() => transferCode(SEED, new Uint8Array(30), build)).toThrow(/not a canonical transfer: version 0/);
  });
});
