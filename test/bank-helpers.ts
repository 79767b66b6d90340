// The token side of activation (docs/activation.md) written from the document with node:crypto, not
// from host/bank: the reference the bank's tests and the service's tests activate against.
import { createHmac, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { otpApi } from "../host/otp.js";

export interface TokenSession {
  request: Buffer;
  privateKey: KeyObject;
  activationKey: Buffer;
}

export interface TokenProfile {
  seed: Buffer;
  algorithm: "SHA1" | "SHA256" | "SHA512";
  digits: number;
  period: number;
  label: string;
}

/** X25519 public keys as raw bytes via DER (RFC 8410 §4): the last 32 bytes of the SubjectPublicKeyInfo. */
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

export function tokenRequest(serviceId: string, userId: string, password: string, serial = 0x0123456789abcdefn, nonce = randomBytes(16)): TokenSession {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const publicRaw = publicKey.export({ type: "spki", format: "der" }).subarray(-32);
  const activationKey = pbkdf2Sync(password, serviceId + userId, 1000, 32, "sha256");
  const body = Buffer.alloc(81);
  body[0] = 1;
  body.write(serviceId, 1, "latin1");
  body.write(userId, 9, "latin1");
  body.writeBigUInt64BE(serial, 25);
  publicRaw.copy(body, 33);
  nonce.copy(body, 65);
  const tag = createHmac("sha256", activationKey).update("otp-token activation request v1").update(body).digest();
  return { request: Buffer.concat([body, tag]), privateKey, activationKey };
}

export function tokenFinish(session: TokenSession, responseBytes: Uint8Array): TokenProfile {
  const response = Buffer.from(responseBytes);
  if (response.length !== 100 || response[0] !== 1) throw new Error("token: bad response length or version");
  const expected = createHmac("sha256", session.activationKey)
    .update("otp-token activation response v1").update(session.request).update(response.subarray(0, 68)).digest();
  if (!timingSafeEqual(expected, response.subarray(68, 100))) throw new Error("token: bad response tag");
  const algorithm = (["SHA1", "SHA256", "SHA512"] as const)[response[49] - 1];
  const labelLength = response[55];
  const bankPublic = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, response.subarray(1, 33)]), format: "der", type: "spki" });
  const shared = diffieHellman({ privateKey: session.privateKey, publicKey: bankPublic });
  const salt = Buffer.concat([session.request.subarray(65, 81), response.subarray(33, 49)]);
  const info = Buffer.concat([Buffer.from("otp-token seed v1"), session.request.subarray(0, 81), response.subarray(0, 68)]);
  const length = { SHA1: 20, SHA256: 32, SHA512: 64 }[algorithm];
  return {
    seed: Buffer.from(hkdfSync("sha256", shared, salt, info, length)),
    algorithm,
    digits: response[50],
    period: response.readUInt32BE(51),
    label: response.subarray(56, 56 + labelLength).toString("latin1"),
  };
}

const api = otpApi();
export const codeAt = (token: TokenProfile, t: number) => api.totp(token.seed, t, { algorithm: token.algorithm, digits: token.digits, period: token.period });
export const otherThan = (code: string) => (code === "999999" ? "999998" : "999999");
