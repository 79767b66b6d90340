// X25519 (RFC 7748) against the RFC's vectors and against node:crypto (OpenSSL) in both directions.
// Every build of the core.
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isAllZero, kdfInstance, x25519, x25519Base, type KdfExports } from "../host/kdf.js";
import { CORE_BUILDS, fromHex, hex, testRandom } from "./helpers.js";

// RFC 7748 §5.2: two (scalar, u) pairs.
const VECTORS = [
  {
    scalar: "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
    u: "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
    out: "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
  },
  {
    scalar: "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
    u: "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
    out: "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
  },
];

// RFC 7748 §5.2, iterated: k = u = 9; then (k, u) = (X25519(k, u), k).
const ITERATED: Record<number, string> = {
  1: "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
  1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
  1000000: "7c3911e0ab2586fd864497297e575e6f3bc601c0883c30df5f4dd2d24f665424",
};

// RFC 7748 §6.1.
const ALICE = {
  secret: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  public: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
};
const BOB = {
  secret: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
  public: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
};
const SHARED = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

const rawPrivate = (key: KeyObject) => new Uint8Array(Buffer.from(key.export({ format: "jwk" }).d!, "base64url"));
const rawPublic = (key: KeyObject) => new Uint8Array(Buffer.from(key.export({ format: "jwk" }).x!, "base64url"));
const nodePublic = (raw: Uint8Array) =>
  createPublicKey({ key: { kty: "OKP", crv: "X25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
const nodePrivate = (raw: Uint8Array) =>
  createPrivateKey({
    key: { kty: "OKP", crv: "X25519", d: Buffer.from(raw).toString("base64url"), x: Buffer.from(x25519Base(raw)).toString("base64url") },
    format: "jwk",
  });

/** p = 2^255 - 19 as 32 little-endian bytes, plus `add`. */
function pPlus(add: number): Uint8Array {
  const bytes = new Uint8Array(32).fill(0xff);
  bytes[31] = 0x7f;
  let value = 0xed + add;
  for (let i = 0; i < 32 && value !== 0; i++) {
    value += i === 0 ? 0 : bytes[i];
    bytes[i] = value & 0xff;
    value >>= 8;
  }
  return bytes;
}

describe.each(CORE_BUILDS)("X25519, %s build", (build) => {
  it.each(VECTORS)("RFC 7748 §5.2 vector $out", ({ scalar, u, out }) => {
    expect(hex(x25519(fromHex(scalar), fromHex(u), build))).toBe(out);
  });

  it("RFC 7748 §5.2 iterated vector after 1 and 1,000 iterations (1,000,000 with SLOW_TESTS)", async () => {
    const last = process.env.SLOW_TESTS ? 1000000 : 1000;
    let k: Uint8Array = new Uint8Array(32);
    k[0] = 9;
    let u: Uint8Array = k.slice();
    for (let i = 1; i <= last; i++) {
      const next = x25519(k, u, build);
      u = k;
      k = next;
      if (ITERATED[i]) expect(hex(k), `after ${i}`).toBe(ITERATED[i]);
      // Let the test runner's worker answer its RPC during the long run (about 80 s per build).
      if (i % 10000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }, 600_000);

  it("RFC 7748 §6.1 Diffie-Hellman: both public keys and the shared secret", () => {
    expect(hex(x25519Base(fromHex(ALICE.secret), build))).toBe(ALICE.public);
    expect(hex(x25519Base(fromHex(BOB.secret), build))).toBe(BOB.public);
    expect(hex(x25519(fromHex(ALICE.secret), fromHex(BOB.public), build))).toBe(SHARED);
    expect(hex(x25519(fromHex(BOB.secret), fromHex(ALICE.public), build))).toBe(SHARED);
  });

  it("agrees with node:crypto on 50 random key pairs, keys from either side", () => {
    const random = testRandom();
    for (let i = 0; i < 50; i++) {
      const node = generateKeyPairSync("x25519");
      const nodeSecret = rawPrivate(node.privateKey);
      // Node's secret is node's own: a failure names it.
      const says = `node's secret ${hex(nodeSecret)}`;
      // Ours computes node's public key from node's private key.
      expect(hex(x25519Base(nodeSecret, build)), says).toBe(hex(rawPublic(node.publicKey)));
      // Our key pair (random bytes, clamped by both sides) against node's.
      const ourSecret = new Uint8Array(random.bytes(32));
      const ourPublic = x25519Base(ourSecret, build);
      const expected = hex(diffieHellman({ privateKey: node.privateKey, publicKey: nodePublic(ourPublic) }));
      expect(hex(x25519(ourSecret, rawPublic(node.publicKey), build)), says).toBe(expected);
      expect(hex(x25519(nodeSecret, ourPublic, build)), says).toBe(expected);
      expect(hex(diffieHellman({ privateKey: nodePrivate(ourSecret), publicKey: node.publicKey })), says).toBe(expected);
    }
  });

  it("an unclamped scalar is clamped (RFC 7748 §5): the same result as node for raw random bytes", () => {
    const random = testRandom();
    for (let i = 0; i < 10; i++) {
      const secret = new Uint8Array(random.bytes(32));
      secret[0] |= 7;
      secret[31] |= 0x80;
      secret[31] &= i % 2 ? 0xbf : 0xff;
      const clamped = secret.slice();
      clamped[0] &= 248;
      clamped[31] = (clamped[31] & 127) | 64;
      expect(hex(x25519Base(secret, build))).toBe(hex(x25519Base(clamped, build)));
      const peer = generateKeyPairSync("x25519");
      expect(hex(x25519(secret, rawPublic(peer.publicKey), build)), `node's secret ${hex(rawPrivate(peer.privateKey))}`).toBe(
        hex(diffieHellman({ privateKey: peer.privateKey, publicKey: nodePublic(x25519Base(secret, build)) })),
      );
    }
  });

  it("the high bit of u is masked and non-canonical u (p .. 2^255-1) reduces mod p (RFC 7748 §5)", () => {
    const secret = fromHex(ALICE.secret);
    const bob = fromHex(BOB.public);
    const high = bob.slice();
    high[31] |= 0x80;
    expect(hex(x25519(secret, high, build))).toBe(SHARED);
    // Same as node, which also masks the bit.
    expect(hex(x25519(secret, high, build))).toBe(hex(diffieHellman({ privateKey: nodePrivate(secret), publicKey: nodePublic(high) })));
    // u = p + k is u = k: p + 9 is the base point.
    expect(hex(x25519(secret, pPlus(9), build))).toBe(ALICE.public);
    for (const k of [2, 9, 18]) {
      const small = new Uint8Array(32);
      small[0] = k;
      const expected = hex(x25519(secret, small, build));
      expect(hex(x25519(secret, pPlus(k), build)), `p + ${k}`).toBe(expected);
      const withHigh = pPlus(k);
      withHigh[31] |= 0x80;
      expect(hex(x25519(secret, withHigh, build)), `p + ${k} with bit 255 set`).toBe(expected);
    }
    // All ones: bit 255 masked leaves 2^255 - 1 = p + 18.
    expect(hex(x25519(secret, new Uint8Array(32).fill(0xff), build))).toBe(hex(x25519(secret, pPlus(18), build)));
  });

  it("low-order points u = 0, 1, p, p + 1 give the all-zero secret, detected in constant time (RFC 7748 §6.1)", () => {
    const secret = fromHex(ALICE.secret);
    const one = new Uint8Array(32);
    one[0] = 1;
    for (const u of [new Uint8Array(32), one, pPlus(0), pPlus(1)]) {
      const shared = x25519(secret, u, build);
      expect(hex(shared)).toBe("00".repeat(32));
      expect(isAllZero(shared, build)).toBe(true);
    }
    expect(isAllZero(fromHex(SHARED), build)).toBe(false);
    // Any single set bit anywhere is not zero.
    for (let bit = 0; bit < 256; bit++) {
      const bytes = new Uint8Array(32);
      bytes[bit >> 3] = 1 << (bit & 7);
      expect(isAllZero(bytes, build)).toBe(false);
    }
    // node refuses the same.
    expect(() => diffieHellman({ privateKey: nodePrivate(secret), publicKey: nodePublic(new Uint8Array(32)) })).toThrow();
  });

  it("the core refuses offsets outside the I/O buffer and accepts aliasing output", () => {
    const { exports, io } = kdfInstance(build);
    const e = exports as KdfExports;
    const size = io.length;
    expect(e.x25519(size - 31, 0, 32)).toBe(-2);
    expect(e.x25519(0, size - 16, 32)).toBe(-2);
    expect(e.x25519(0, 0, 0xffffffff)).toBe(-2);
    expect(e.x25519Base(size, 0)).toBe(-2);
    expect(e.x25519IsZero(size - 1)).toBe(-2);
    io.set(fromHex(ALICE.secret), 0);
    io.set(fromHex(BOB.public), 32);
    expect(e.x25519(32, 0, 32)).toBe(32);
    expect(hex(io.slice(32, 64))).toBe(SHARED);
    io.set(fromHex(ALICE.secret), 0);
    expect(e.x25519Base(0, 0)).toBe(32);
    expect(hex(io.slice(0, 32))).toBe(ALICE.public);
    io.fill(0, 0, 64);
  });

  it("host input errors say what is accepted", () => {
    expect(() => x25519(new Uint8Array(31), new Uint8Array(32), build)).toThrow(RangeError);
    expect(() => x25519(new Uint8Array(32), new Uint8Array(33), build)).toThrow(/exactly 32 bytes/);
    expect(() => x25519Base("key" as unknown as Uint8Array, build)).toThrow(TypeError);
  });
});
