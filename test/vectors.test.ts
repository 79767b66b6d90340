// Published test vectors: FIPS 180-4 examples (via the NIST CSRC example values), RFC 2202 (HMAC-SHA-1),
// RFC 4231 (HMAC-SHA-256/512), RFC 4226 Appendix D (HOTP) and RFC 6238 Appendix B (TOTP), run on every build.
import { describe, expect, it } from "vitest";
import { otpApi } from "../host/otp.js";
import { ascii, CORE_BUILDS, fromHex, hex } from "./helpers.js";

// biome-ignore format: one row per published example
const FIPS = [
  ["SHA1", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"],
  ["SHA1", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"],
  ["SHA256", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  ["SHA256", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"],
  ["SHA512", "abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"],
  ["SHA512", "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
    "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"],
  ["SHA1", "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"],
  ["SHA256", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
] as const;

// RFC 2202 §3 (HMAC-SHA-1) and RFC 4231 §4 (HMAC-SHA-256 and -512); hex keys and data.
const HMAC: { key: string; data: string; sha1?: string; sha256?: string; sha512?: string; truncate?: number }[] = [
  {
    key: "0b".repeat(20),
    data: hex(ascii("Hi There")),
    sha1: "b617318655057264e28bc0b6fb378c8ef146be00",
    sha256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    sha512:
      "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
  },
  {
    key: hex(ascii("Jefe")),
    data: hex(ascii("what do ya want for nothing?")),
    sha1: "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    sha256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    sha512:
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
  },
  { key: "aa".repeat(20), data: "dd".repeat(50), sha1: "125d7342b9ac11cd91a39af48aa17b4f63f175d3" },
  {
    key: "aa".repeat(20),
    data: "dd".repeat(50),
    sha256: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    sha512:
      "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
  },
  {
    key: "0102030405060708090a0b0c0d0e0f10111213141516171819",
    data: "cd".repeat(50),
    sha1: "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
    sha256: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    sha512:
      "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
  },
  { key: "0c".repeat(20), data: hex(ascii("Test With Truncation")), sha1: "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04" },
  {
    key: "0c".repeat(20),
    data: hex(ascii("Test With Truncation")),
    truncate: 16,
    sha256: "a3b6167473100ee06e0c796c2955552b",
    sha512: "415fad6271580a531d4179bc891d87a6",
  },
  {
    key: "aa".repeat(80),
    data: hex(ascii("Test Using Larger Than Block-Size Key - Hash Key First")),
    sha1: "aa4ae5e15272d00e95705637ce8a3b55ed402112",
  },
  {
    key: "aa".repeat(80),
    data: hex(ascii("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data")),
    sha1: "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
  },
  {
    key: "aa".repeat(131),
    data: hex(ascii("Test Using Larger Than Block-Size Key - Hash Key First")),
    sha256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    sha512:
      "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
  },
  {
    key: "aa".repeat(131),
    data: hex(
      ascii(
        "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      ),
    ),
    sha256: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    sha512:
      "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
  },
];

// RFC 4226 Appendix D: secret "12345678901234567890", counters 0-9.
const HOTP = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];

// RFC 6238 Appendix B (30-second step, 8 digits). The SHA-256 and SHA-512 seeds are the ASCII digits
// repeated to 32 and 64 bytes (the RFC's reference code; its prose says 20 bytes for all three).
const SEEDS = {
  SHA1: ascii("12345678901234567890"),
  SHA256: ascii("12345678901234567890123456789012"),
  SHA512: ascii("1234567890123456789012345678901234567890123456789012345678901234"),
};
const TOTP: [number, string, string, string][] = [
  [59, "94287082", "46119246", "90693936"],
  [1111111109, "07081804", "68084774", "25091201"],
  [1111111111, "14050471", "67062674", "99943326"],
  [1234567890, "89005924", "91819424", "93441116"],
  [2000000000, "69279037", "90698825", "38618901"],
  [20000000000, "65353130", "77737706", "47863826"],
];

describe.each(CORE_BUILDS)("published vectors, %s build", (build) => {
  const api = otpApi(build);

  it("FIPS 180-4 examples", () => {
    for (const [alg, message, expected] of FIPS) expect(hex(api.digest(alg, ascii(message)))).toBe(expected);
  });

  it("FIPS 180-4 one million 'a'", () => {
    const million = new Uint8Array(1_000_000).fill(0x61);
    expect(hex(api.digest("SHA1", million))).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    expect(hex(api.digest("SHA256", million))).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    expect(hex(api.digest("SHA512", million))).toBe(
      "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
    );
  });

  it("RFC 2202 and RFC 4231 HMAC", () => {
    let checked = 0;
    for (const v of HMAC) {
      for (const alg of ["sha1", "sha256", "sha512"] as const) {
        const expected = v[alg];
        if (!expected) continue;
        const mac = api.hmac(alg, fromHex(v.key), fromHex(v.data));
        expect(hex(mac.subarray(0, v.truncate ?? mac.length))).toBe(expected);
        checked++;
      }
    }
    expect(checked).toBe(7 + 7 + 7);
  });

  it("RFC 4226 Appendix D HOTP", () => {
    const key = SEEDS.SHA1;
    for (const [counter, code] of HOTP.entries()) {
      expect(api.hotp(key, counter)).toBe(code);
      expect(api.hotp(key, BigInt(counter))).toBe(code);
    }
  });

  it("RFC 6238 Appendix B TOTP, one-shot and resident", () => {
    for (const [time, ...codes] of TOTP) {
      (["SHA1", "SHA256", "SHA512"] as const).forEach((alg, i) => {
        const options = { algorithm: alg, digits: 8, period: 30 };
        expect(api.totp(SEEDS[alg], time, options)).toBe(codes[i]);
        expect(api.totp(SEEDS[alg], BigInt(time), options)).toBe(codes[i]);
        const generator = api.createTotp(SEEDS[alg], options);
        expect(generator.generate(time)).toBe(codes[i]);
        expect(generator.verify(codes[i], time)).toBe(0);
        generator.dispose();
      });
    }
  });
});
