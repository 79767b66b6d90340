// PBKDF2-HMAC-SHA256 (RFC 8018) and HKDF-SHA256 (RFC 5869) against published vectors and against
// node:crypto (OpenSSL); the debug build's compression counter proves PBKDF2's cost. Every build.
import { hkdfSync, pbkdf2Sync, randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { core } from "../host/core.js";
import { hkdfSha256, kdfInstance, pbkdf2Sha256, type KdfExports } from "../host/kdf.js";
import { ascii, CORE_BUILDS, hex } from "./helpers.js";

// The SHA-256 counterparts of RFC 6070's PBKDF2-HMAC-SHA1 vectors, as widely published; the test also
// recomputes them with node:crypto.
const PBKDF2_VECTORS = [
  { password: "password", salt: "salt", iterations: 1, length: 32, dk: "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b" },
  { password: "password", salt: "salt", iterations: 2, length: 32, dk: "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43" },
  {
    password: "password",
    salt: "salt",
    iterations: 4096,
    length: 32,
    dk: "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
  },
  {
    password: "passwordPASSWORDpassword",
    salt: "saltSALTsaltSALTsaltSALTsaltSALTsalt",
    iterations: 4096,
    length: 40,
    dk: "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9",
  },
];

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

describe.each(CORE_BUILDS)("PBKDF2-HMAC-SHA256, %s build", (build) => {
  it.each(PBKDF2_VECTORS)("P=$password S=$salt c=$iterations", ({ password, salt, iterations, length, dk }) => {
    expect(pbkdf2Sync(password, salt, iterations, length, "sha256").toString("hex")).toBe(dk);
    expect(hex(pbkdf2Sha256(ascii(password), ascii(salt), iterations, length, build))).toBe(dk);
  });

  it("agrees with node:crypto on random passwords, salts, lengths 1-100 and iterations 1-50", () => {
    for (let i = 0; i < 200; i++) {
      const password = randomBytes(randomInt(0, 150));
      const salt = randomBytes(randomInt(0, 130));
      const iterations = randomInt(1, 51);
      const length = randomInt(1, 101);
      const expected = pbkdf2Sync(password, salt, iterations, length, "sha256").toString("hex");
      expect(
        hex(pbkdf2Sha256(password, salt, iterations, length, build)),
        `password ${password.length} salt ${salt.length} c ${iterations} dkLen ${length}`,
      ).toBe(expected);
    }
  });

  it("the activation key: a 4-8 character password, Service ID || User ID salt, 1000 iterations", () => {
    const salt = ascii("102120832083L0000193A001");
    for (const password of ["abcd", "Pass1234"]) {
      expect(hex(pbkdf2Sha256(ascii(password), salt, 1000, 32, build))).toBe(
        pbkdf2Sync(password, salt, 1000, 32, "sha256").toString("hex"),
      );
    }
  });

  it("input errors say what is accepted", () => {
    const p = ascii("password");
    expect(() => pbkdf2Sha256(p, p, 0, 32, build)).toThrow(RangeError);
    expect(() => pbkdf2Sha256(p, p, 10_000_001, 32, build)).toThrow(/1 to 10000000/);
    expect(() => pbkdf2Sha256(p, p, 1.5, 32, build)).toThrow(TypeError);
    expect(() => pbkdf2Sha256(p, p, 1, 0, build)).toThrow(RangeError);
    expect(() => pbkdf2Sha256("password" as unknown as Uint8Array, p, 1, 32, build)).toThrow(TypeError);
    expect(() => pbkdf2Sha256(new Uint8Array(16384), p, 1, 32, build)).toThrow(/must fit/);
  });

  it("the core refuses zero lengths, zero iterations, offsets outside the I/O buffer and an output over a multi-block salt", () => {
    const { exports, io } = kdfInstance(build);
    const e = exports as KdfExports;
    const size = io.length;
    expect(e.pbkdf2(0, 0, 64, 8, 72, 4, 1)).toBe(-2);
    expect(e.pbkdf2(0, 32, 64, 8, 72, 4, 0)).toBe(-2);
    expect(e.pbkdf2(size - 31, 32, 64, 8, 72, 4, 1)).toBe(-2);
    expect(e.pbkdf2(0, 32, size, 1, 72, 4, 1)).toBe(-2);
    expect(e.pbkdf2(0, 32, 64, 8, 0xfffffff0, 0x20, 1)).toBe(-2);
    expect(e.pbkdf2(0, 64, 64, 8, 40, 4, 1)).toBe(-2);
    // One block may overlap anything: the salt is read before the output is written.
    expect(e.pbkdf2(0, 32, 64, 8, 16, 4, 1)).toBe(32);
  });
});

describe.each(CORE_BUILDS)("HKDF-SHA256, %s build", (build) => {
  it.each(HKDF_VECTORS)("RFC 5869 $name", ({ ikm, salt, info, length, okm }) => {
    expect(Buffer.from(hkdfSync("sha256", ikm, salt, info, length)).toString("hex")).toBe(okm);
    expect(hex(hkdfSha256(ikm, salt, info, length, build))).toBe(okm);
  });

  it("agrees with node:crypto on random inputs, every length 1-100, and 8160 (the most)", () => {
    for (let length = 1; length <= 100; length++) {
      const ikm = randomBytes(randomInt(0, 100));
      const salt = randomBytes(randomInt(0, 150));
      const info = randomBytes(randomInt(0, 300));
      expect(hex(hkdfSha256(ikm, salt, info, length, build)), `length ${length}`).toBe(
        Buffer.from(hkdfSync("sha256", ikm, salt, info, length)).toString("hex"),
      );
    }
    const ikm = randomBytes(32);
    const salt = randomBytes(32);
    const info = randomBytes(166);
    expect(hex(hkdfSha256(ikm, salt, info, 8160, build))).toBe(Buffer.from(hkdfSync("sha256", ikm, salt, info, 8160)).toString("hex"));
  });

  it("an empty salt is 32 zero bytes (RFC 5869 §2.2)", () => {
    const ikm = randomBytes(32);
    const info = ascii("otp-token seed v1");
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
  const count = () => e.compressionCount();
  const pbkdf2Cost = (password: number, salt: number, iterations: number, length: number) => {
    const before = count();
    pbkdf2Sha256(new Uint8Array(password).fill(0x61), new Uint8Array(salt).fill(0x73), iterations, length, "debug");
    return count() - before;
  };

  it("PBKDF2: exactly 2 compressions per iteration per 32-byte block, plus 2 to key the PRF", () => {
    for (const iterations of [1, 2, 10, 1000]) {
      for (const blocks of [1, 2, 3]) {
        expect(pbkdf2Cost(8, 24, iterations, blocks * 32), `c ${iterations}, ${blocks} blocks`).toBe(2 + 2 * iterations * blocks);
      }
    }
    // A partial last block costs a whole block.
    expect(pbkdf2Cost(8, 24, 1000, 33)).toBe(2 + 2 * 1000 * 2);
    // A salt over 51 bytes makes U_1's inner hash two blocks: one more per output block.
    expect(pbkdf2Cost(8, 52, 1000, 32)).toBe(2 + 2 * 1000 + 1);
    // A password over 64 bytes is hashed first (RFC 2104): two more here.
    expect(pbkdf2Cost(65, 24, 1000, 32)).toBe(2 + 2 + 2 * 1000);
  });

  it("one activation on the token: K_AC, two tags, one 64-byte seed", () => {
    const before = count();
    const kac = pbkdf2Sha256(ascii("Pass1234"), ascii("102120832083L0000193A001"), 1000, 32, "debug");
    const afterPbkdf2 = count();
    expect(afterPbkdf2 - before).toBe(2002);
    // Request tag (31 + 81 bytes) and response tag (32 + 113 + 68 bytes) under K_AC, keyed once.
    const mark = count();
    const hmacKeyed = core("debug").main;
    const coreBefore = hmacKeyed.exports.compressionCount();
    hmacKeyed.prepareKey(0, 2, kac);
    hmacKeyed.mac(0, new Uint8Array(31 + 81));
    hmacKeyed.mac(0, new Uint8Array(32 + 113 + 68));
    hmacKeyed.exports.keyForget(0);
    // The tags run in the OTP core (its own counter); the KDF module's counter did not move.
    expect(count() - mark).toBe(0);
    const tags = hmacKeyed.exports.compressionCount() - coreBefore;
    expect(tags).toBe(2 + 3 + 5);
    // Seed: IKM 32, salt 32, info 17 + 81 + 68 = 166 bytes, L = 64.
    const seedMark = count();
    hkdfSha256(new Uint8Array(32), new Uint8Array(32), new Uint8Array(166), 64, "debug");
    const seed = count() - seedMark;
    // Extract: key the salt (2), HMAC of the IKM (2); key the PRK (2); T(1): 167 bytes -> 3 + 1;
    // T(2): 32 + 167 bytes -> 4 + 1.
    expect(seed).toBe(2 + 2 + 2 + (3 + 1) + (4 + 1));
    expect(afterPbkdf2 - before + tags + seed).toBe(2027);
  });
});
