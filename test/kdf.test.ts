// HKDF-SHA256 (RFC 5869) against published vectors and against node:crypto (OpenSSL); the debug
// build's compression counter proves the cost of the seed's derivation. Every build. (CPace and
// Elligator 2: test/cpace.test.ts.)
import { hkdfSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hkdfSha256, kdfInstance, type KdfExports } from "../host/kdf.js";
import { ascii, CORE_BUILDS, hex, testRandom } from "./helpers.js";

const range = (from: number, to: number) => new Uint8Array(to - from + 1).map((_, i) => from + i);

// RFC 5869 Appendix A, test cases 1-3 (SHA-256).
const HKDF_VECTORS = [
  {
    name: "A.1 basic",
    ikm: new Uint8Array(22).fill(0x0b),
    salt: range(0x00, 0x0c),
    info: range(0xf0, 0xf9),
    length: 42,
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    name: "A.2 longer inputs",
    ikm: range(0x00, 0x4f),
    salt: range(0x60, 0xaf),
    info: range(0xb0, 0xff),
    length: 82,
    okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
  },
  {
    name: "A.3 zero-length salt and info",
    ikm: new Uint8Array(22).fill(0x0b),
    salt: new Uint8Array(0),
    info: new Uint8Array(0),
    length: 42,
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
];

describe.each(CORE_BUILDS)("HKDF-SHA256, %s build", (build) => {
  it.each(HKDF_VECTORS)("RFC 5869 $name", ({ ikm, salt, info, length, okm }) => {
    expect(Buffer.from(hkdfSync("sha256", ikm, salt, info, length)).toString("hex")).toBe(okm);
    expect(hex(hkdfSha256(ikm, salt, info, length, build))).toBe(okm);
  });

  it("agrees with node:crypto on random inputs, every length 1-100, and 8160 (the most)", () => {
    const random = testRandom();
    for (let length = 1; length <= 100; length++) {
      const ikm = random.bytes(random.int(0, 100));
      const salt = random.bytes(random.int(0, 150));
      const info = random.bytes(random.int(0, 300));
      expect(hex(hkdfSha256(ikm, salt, info, length, build)), `length ${length}`).toBe(
        Buffer.from(hkdfSync("sha256", ikm, salt, info, length)).toString("hex"),
      );
    }
    const ikm = random.bytes(32);
    const salt = random.bytes(32);
    const info = random.bytes(166);
    expect(hex(hkdfSha256(ikm, salt, info, 8160, build))).toBe(Buffer.from(hkdfSync("sha256", ikm, salt, info, 8160)).toString("hex"));
  });

  it("an empty salt is 32 zero bytes (RFC 5869 §2.2)", () => {
    const ikm = randomBytes(32);
    const info = ascii("otp-token seed v2");
    expect(hex(hkdfSha256(ikm, new Uint8Array(0), info, 64, build))).toBe(hex(hkdfSha256(ikm, new Uint8Array(32), info, 64, build)));
  });

  it("input errors say what is accepted", () => {
    const b = new Uint8Array(32);
    expect(() => hkdfSha256(b, b, b, 0, build)).toThrow(RangeError);
    expect(() => hkdfSha256(b, b, b, 8161, build)).toThrow(/1 to 8160/);
    expect(() => hkdfSha256(b, b, "info" as unknown as Uint8Array, 32, build)).toThrow(TypeError);
  });

  it("the core refuses lengths 0 and over 8160, offsets outside the I/O buffer and an output over a multi-block info", () => {
    const { exports, io } = kdfInstance(build);
    const e = exports as KdfExports;
    const size = io.length;
    expect(e.hkdf(0, 0, 100, 32, 132, 32, 164, 10)).toBe(-2);
    expect(e.hkdf(0, 8161, 9000, 32, 9032, 32, 9064, 10)).toBe(-2);
    expect(e.hkdf(0, 64, size - 16, 32, 132, 32, 164, 10)).toBe(-2);
    expect(e.hkdf(0, 64, 100, 32, 132, 32, 40, 10)).toBe(-2);
    expect(e.hkdf(0, 32, 100, 32, 132, 32, 16, 10)).toBe(32);
  });
});

describe("costs (debug build's compression counter)", () => {
  const { exports } = kdfInstance("debug");
  const e = exports as KdfExports;

  it("the seed of one activation: HKDF-SHA256 of the 64-byte ISK, empty salt, 17-byte info, 64 bytes out", () => {
    const before = e.compressionCount();
    hkdfSha256(new Uint8Array(64), new Uint8Array(0), ascii("otp-token seed v2"), 64, "debug");
    // Extract: key the empty salt (2), HMAC of the 64-byte IKM (2 inner + 1 outer); key the PRK (2);
    // T(1): 18 bytes -> 1 + 1; T(2): 32 + 18 bytes -> 1 + 1.
    expect(e.compressionCount() - before).toBe(2 + 3 + 2 + 2 + 2);
  });
});
