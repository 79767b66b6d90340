// A token-side reference of activation protocol v2, written for the tests from docs/activation.md,
// draft-irtf-cfrg-cpace-21 and RFC 9380, not from host/bank or the firmware: Elligator 2 in plain bigint
// arithmetic (RFC 9380 §6.7.1), X25519 from node:crypto (OpenSSL), SHA-512, HMAC and HKDF from
// node:crypto. The bank's code (@noble/curves) and the firmware (assembly/crypto) are checked against it.
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";

const P = 2n ** 255n - 19n;
const J = 486662n;
const mod = (a: bigint) => ((a % P) + P) % P;

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  for (let b = mod(base), e = exponent; e > 0n; e >>= 1n, b = mod(b * b)) if (e & 1n) result = mod(result * b);
  return result;
}

const toLittleEndian = (n: bigint) => Buffer.from(n.toString(16).padStart(64, "0"), "hex").reverse();

/** RFC 9380 §6.7.1 map_to_curve_elligator2 for curve25519 (J = 486662, K = 1, Z = 2): u of the point, 32 bytes. */
export function referenceElligator2(encoded: Uint8Array): Uint8Array {
  const bytes = Buffer.from(encoded);
  bytes[31] &= 0x7f; // RFC 7748 decodeUCoordinate
  const u = mod(BigInt(`0x${Buffer.from(bytes).reverse().toString("hex")}`));
  let x1 = mod(-J * power(1n + 2n * u * u, P - 2n));
  if (x1 === 0n) x1 = mod(-J);
  const gx1 = mod(x1 * x1 * x1 + J * x1 * x1 + x1);
  const isSquare = power(gx1, (P - 1n) / 2n) !== P - 1n;
  return new Uint8Array(toLittleEndian(isSquare ? x1 : mod(-x1 - J)));
}

// DER wrappers of raw X25519 keys (RFC 8410): PKCS #8 private key and SPKI public key.
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519 = Buffer.from("302a300506032b656e032100", "hex");

/** X25519(scalar, u) by OpenSSL; throws where OpenSSL refuses the all-zero result (a low-order u). */
export function referenceX25519(scalar: Uint8Array, u: Uint8Array): Uint8Array {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, scalar]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_X25519, u]), format: "der", type: "spki" });
  return new Uint8Array(diffieHellman({ privateKey, publicKey }));
}

/** lv_cat with one-byte lengths (every string here is shorter than 128 bytes). */
function lv(...parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts.flatMap((part) => [Uint8Array.of(part.length), part]));
}

const ascii = (text: string) => Buffer.from(text, "latin1");

/** calculate_generator with SHA-512 and the 128-byte block (draft §8.1-8.2). */
export function referenceGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  const zpad = new Uint8Array(128 - 1 - (1 + prs.length) - (1 + 8));
  const hash = createHash("sha512")
    .update(lv(ascii("CPace255"), prs, zpad, ci, sid))
    .digest();
  return referenceElligator2(hash.subarray(0, 32));
}

export interface ReferenceSession {
  request: Buffer;
  ya: Uint8Array;
  sid: Uint8Array;
  generator: Uint8Array;
}

/** Message 1 as docs/activation.md lays it out; `sid` and `ya` random unless given. */
export function referenceRequest(
  serviceId: string,
  userId: string,
  password: string,
  serial: bigint,
  sid = new Uint8Array(randomBytes(16)),
  ya = new Uint8Array(randomBytes(32)),
): ReferenceSession {
  const serialBytes = Buffer.alloc(8);
  serialBytes.writeBigUInt64BE(serial);
  const ci = lv(ascii("otp-token activation"), serialBytes, ascii(serviceId), ascii(userId));
  const generator = referenceGenerator(ascii(password), ci, sid);
  const request = Buffer.concat([Uint8Array.of(2, 1), ascii(serviceId), ascii(userId), serialBytes, sid, referenceX25519(ya, generator)]);
  return { request, ya, sid, generator };
}

export interface ReferenceResult {
  algorithm: "SHA1" | "SHA256" | "SHA512";
  digits: number;
  period: number;
  label: string;
  seed: Buffer;
  /** Message 3. */
  confirmation: Buffer;
  isk: Buffer;
}

/** The token's checks of message 2 and its derivations; throws where the token refuses. */
export function referenceFinish(session: ReferenceSession, responseBytes: Uint8Array): ReferenceResult {
  const response = Buffer.from(responseBytes);
  if (response.length !== 117 || response[0] !== 2 || response[1] !== 2) throw new Error("token: bad response length, version or kind");
  const ada = session.request.subarray(0, 34);
  const ya = session.request.subarray(50, 82);
  const adb = response.subarray(0, 21);
  const yb = response.subarray(21, 53);
  const K = referenceX25519(session.ya, yb);
  const isk = createHash("sha512")
    .update(lv(ascii("CPace255_ISK"), session.sid, K))
    .update(lv(ya, ada))
    .update(lv(yb, adb))
    .digest();
  const macKey = createHash("sha512").update(ascii("CPaceMac")).update(session.sid).update(isk).digest();
  const tb = createHmac("sha512", macKey).update(lv(yb, adb)).digest();
  if (!timingSafeEqual(tb, response.subarray(53, 117))) throw new Error("token: the bank's confirmation does not verify");
  const ta = createHmac("sha512", macKey).update(lv(ya, ada)).digest();
  const algorithm = (["SHA1", "SHA256", "SHA512"] as const)[response[2] - 1];
  const length = { SHA1: 20, SHA256: 32, SHA512: 64 }[algorithm];
  return {
    algorithm,
    digits: response[3],
    period: response.readUInt32BE(4),
    label: response.subarray(9, 9 + response[8]).toString("latin1"),
    seed: Buffer.from(hkdfSync("sha256", isk, Buffer.alloc(0), ascii("otp-token seed v2"), length)),
    confirmation: Buffer.concat([Uint8Array.of(2, 3), session.request.subarray(2, 26), session.sid, ta]),
    isk,
  };
}
