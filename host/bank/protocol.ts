// The activation protocol v1 (docs/activation.md): the one place that defines its constants, the
// two messages' layouts with their codecs, and the node:crypto primitives it is built from —
// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2), HMAC-SHA256 (RFC 2104), X25519 (RFC 7748 §5, §6.1) and
// HKDF-SHA256 (RFC 5869). The bank imports it; a firmware integrator can import the constants and codecs.
import {
  createHmac, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject,
  pbkdf2Sync, timingSafeEqual,
} from "node:crypto";
import { ACTIVATION_ITERATIONS, MAX_ACTIVATION_FAILURES } from "../abi.js";
import { LABEL_PATTERN, SERVICE_ID_PATTERN, USER_ID_PATTERN } from "../identity.js";
import type { Algorithm } from "../otp.js";

// The iteration count (fixed by the version byte, so the two sides cannot disagree) and the
// failure limit are the firmware's own constants (assembly/abi.ts, mirrored in host/abi.ts).
export { ACTIVATION_ITERATIONS, MAX_ACTIVATION_FAILURES };

export const PROTOCOL_VERSION = 1;

export const REQUEST_CONTEXT = "otp-token activation request v1";
export const RESPONSE_CONTEXT = "otp-token activation response v1";
export const SEED_CONTEXT = "otp-token seed v1";

export const REQUEST_BYTES = 113;
/** The request bytes the tag covers (0..80) and the seed's info binds. */
export const REQUEST_SIGNED_BYTES = 81;
export const RESPONSE_BYTES = 100;
/** The response bytes the tag covers after the request (0..67) and the seed's info binds. */
export const RESPONSE_SIGNED_BYTES = 68;

export const SERVICE_ID_BYTES = 8;
export const USER_ID_BYTES = 16;
export const KEY_BYTES = 32;
export const NONCE_BYTES = 16;
export const TAG_BYTES = 32;
export const MAX_LABEL_BYTES = 12;
export const MAX_PERIOD = 86400;

/** The algorithm byte of message 2. */
export const ALGORITHM_CODES: Readonly<Record<Algorithm, number>> = { SHA1: 1, SHA256: 2, SHA512: 3 };
/** Seed length per algorithm: the HMAC block's natural key size (docs/design.md, "Reference values"). */
export const SEED_BYTES: Readonly<Record<Algorithm, number>> = { SHA1: 20, SHA256: 32, SHA512: 64 };

export { LABEL_PATTERN, SERVICE_ID_PATTERN, USER_ID_PATTERN };

/** A message that does not follow the layout: its length, version or a field's form is wrong. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

export interface ActivationRequest {
  serviceId: string;
  userId: string;
  /** The token serial, u64. */
  serial: bigint;
  /** The token's ephemeral X25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** The token nonce, 16 bytes. */
  nonce: Uint8Array;
  /** HMAC-SHA256 under K_AC, 32 bytes. */
  tag: Uint8Array;
}

export interface OtpParameters {
  algorithm: Algorithm;
  /** 6, 7 or 8. */
  digits: number;
  /** Step in seconds, 1-86400. */
  period: number;
  /** 1-12 of A-Z 0-9 space - . / : — shown on the token's screen. */
  label: string;
}

export interface ActivationResponse extends OtpParameters {
  /** The bank's ephemeral X25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** The bank nonce, 16 bytes. */
  nonce: Uint8Array;
  tag: Uint8Array;
}

const ascii = (text: string): Buffer => Buffer.from(text, "latin1");

/** K_AC = PBKDF2-HMAC-SHA256(password, Service ID || User ID, ACTIVATION_ITERATIONS, 32). */
export function activationKey(password: string, serviceId: string, userId: string): Uint8Array {
  return new Uint8Array(pbkdf2Sync(ascii(password), ascii(serviceId + userId), ACTIVATION_ITERATIONS, KEY_BYTES, "sha256"));
}

function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

/** Constant-time tag comparison (lengths are public). */
export function tagsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The request's tag over bytes 0..80 of `request` (which may be the 81 signed bytes or the whole 113). */
export function requestTag(activationKey: Uint8Array, request: Uint8Array): Uint8Array {
  return hmacSha256(activationKey, ascii(REQUEST_CONTEXT), request.subarray(0, REQUEST_SIGNED_BYTES));
}

/** The response's tag over the whole request and bytes 0..67 of `response`. */
export function responseTag(activationKey: Uint8Array, request: Uint8Array, response: Uint8Array): Uint8Array {
  return hmacSha256(activationKey, ascii(RESPONSE_CONTEXT), request.subarray(0, REQUEST_BYTES), response.subarray(0, RESPONSE_SIGNED_BYTES));
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new ProtocolError(`${what} must be exactly ${length} bytes`);
  }
}

/** Builds message 1 (113 bytes) and tags it under K_AC. */
export function encodeRequest(fields: Omit<ActivationRequest, "tag">, activationKey: Uint8Array): Uint8Array {
  if (!SERVICE_ID_PATTERN.test(fields.serviceId)) throw new ProtocolError("Service ID must be 8 digits");
  if (!USER_ID_PATTERN.test(fields.userId)) throw new ProtocolError("User ID must be 16 upper-case letters or digits");
  if (fields.serial < 0n || fields.serial >= 1n << 64n) throw new ProtocolError("token serial must be a u64");
  checkLength(fields.publicKey, KEY_BYTES, "token public key");
  checkLength(fields.nonce, NONCE_BYTES, "token nonce");
  const out = new Uint8Array(REQUEST_BYTES);
  const view = new DataView(out.buffer);
  out[0] = PROTOCOL_VERSION;
  out.set(ascii(fields.serviceId), 1);
  out.set(ascii(fields.userId), 9);
  view.setBigUint64(25, fields.serial);
  out.set(fields.publicKey, 33);
  out.set(fields.nonce, 65);
  out.set(requestTag(activationKey, out), 81);
  return out;
}

/** Parses message 1; throws a ProtocolError for a wrong length, version or identity form. Does not check the tag. */
export function decodeRequest(bytes: Uint8Array): ActivationRequest {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError("the activation request must be bytes");
  if (bytes.length !== REQUEST_BYTES) {
    throw new ProtocolError(`the activation request must be exactly ${REQUEST_BYTES} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== PROTOCOL_VERSION) throw new ProtocolError(`unsupported activation protocol version ${bytes[0]} (this bank speaks ${PROTOCOL_VERSION})`);
  const serviceId = Buffer.from(bytes.subarray(1, 9)).toString("latin1");
  const userId = Buffer.from(bytes.subarray(9, 25)).toString("latin1");
  if (!SERVICE_ID_PATTERN.test(serviceId)) throw new ProtocolError("the Service ID in the request is not 8 digits");
  if (!USER_ID_PATTERN.test(userId)) throw new ProtocolError("the User ID in the request is not 16 upper-case letters or digits");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    serviceId,
    userId,
    serial: view.getBigUint64(25),
    publicKey: bytes.slice(33, 65),
    nonce: bytes.slice(65, 81),
    tag: bytes.slice(81, 113),
  };
}

/** Checks the OTP parameters message 2 can carry; returns a reason, or null when they are valid. */
export function otpParametersProblem(p: OtpParameters): string | null {
  if (!(p.algorithm in ALGORITHM_CODES)) return "algorithm must be SHA1, SHA256 or SHA512";
  if (p.digits !== 6 && p.digits !== 7 && p.digits !== 8) return "digits must be 6, 7 or 8";
  if (!Number.isInteger(p.period) || p.period < 1 || p.period > MAX_PERIOD) return `period must be a whole number of seconds from 1 to ${MAX_PERIOD}`;
  if (!LABEL_PATTERN.test(p.label)) return "label must be 1-12 of A-Z 0-9 space - . / :";
  return null;
}

/** Builds message 2 (100 bytes) for `request` and tags it under K_AC. */
export function encodeResponse(fields: Omit<ActivationResponse, "tag">, request: Uint8Array, activationKey: Uint8Array): Uint8Array {
  checkLength(request, REQUEST_BYTES, "the request");
  checkLength(fields.publicKey, KEY_BYTES, "bank public key");
  checkLength(fields.nonce, NONCE_BYTES, "bank nonce");
  const problem = otpParametersProblem(fields);
  if (problem) throw new ProtocolError(problem);
  const out = new Uint8Array(RESPONSE_BYTES);
  out[0] = PROTOCOL_VERSION;
  out.set(fields.publicKey, 1);
  out.set(fields.nonce, 33);
  out[49] = ALGORITHM_CODES[fields.algorithm];
  out[50] = fields.digits;
  new DataView(out.buffer).setUint32(51, fields.period);
  out[55] = fields.label.length;
  out.set(ascii(fields.label), 56);
  out.set(responseTag(activationKey, request, out), 68);
  return out;
}

/** Parses message 2; throws a ProtocolError for a wrong length, version or parameters. Does not check the tag. */
export function decodeResponse(bytes: Uint8Array): ActivationResponse {
  if (!(bytes instanceof Uint8Array) || bytes.length !== RESPONSE_BYTES) {
    throw new ProtocolError(`the activation response must be exactly ${RESPONSE_BYTES} bytes`);
  }
  if (bytes[0] !== PROTOCOL_VERSION) throw new ProtocolError(`unsupported activation protocol version ${bytes[0]}`);
  const algorithm = (Object.keys(ALGORITHM_CODES) as Algorithm[]).find((name) => ALGORITHM_CODES[name] === bytes[49]);
  if (!algorithm) throw new ProtocolError(`unknown algorithm code ${bytes[49]}`);
  const labelLength = bytes[55];
  if (labelLength < 1 || labelLength > MAX_LABEL_BYTES) throw new ProtocolError("label length must be 1-12");
  if (bytes.subarray(56 + labelLength, 68).some((b) => b !== 0)) throw new ProtocolError("label padding must be zero");
  const fields: ActivationResponse = {
    publicKey: bytes.slice(1, 33),
    nonce: bytes.slice(33, 49),
    algorithm,
    digits: bytes[50],
    period: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(51),
    label: Buffer.from(bytes.subarray(56, 56 + labelLength)).toString("latin1"),
    tag: bytes.slice(68, 100),
  };
  const problem = otpParametersProblem(fields);
  if (problem) throw new ProtocolError(problem);
  return fields;
}

export interface X25519KeyPair {
  privateKey: KeyObject;
  /** Raw u-coordinate, 32 bytes (RFC 7748 §5). */
  publicKey: Uint8Array;
}

/**
 * The DER SubjectPublicKeyInfo of an X25519 key (RFC 8410 §4) before its 32 raw bytes. Keys cross
 * node:crypto as DER, never as JWK: Node 20 can deadlock in generateKeyPairSync("x25519") + JWK
 * export when a garbage collection lands mid-export (seen in gdb; `npm run bench` hung for ever).
 */
const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

/** A fresh ephemeral X25519 key pair from node's CSPRNG. */
export function generateX25519(): X25519KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const der = publicKey.export({ type: "spki", format: "der" });
  return { privateKey, publicKey: new Uint8Array(der.subarray(der.length - KEY_BYTES)) };
}

/**
 * X25519(own private key, peer public key). Throws a ProtocolError when the peer key yields the
 * all-zero shared secret (a low-order point: RFC 7748 §6.1).
 */
export function x25519Shared(privateKey: KeyObject, peerPublicKey: Uint8Array): Uint8Array {
  checkLength(peerPublicKey, KEY_BYTES, "peer public key");
  let shared: Uint8Array;
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, peerPublicKey]), format: "der", type: "spki" });
    shared = new Uint8Array(diffieHellman({ privateKey, publicKey }));
  } catch {
    // OpenSSL refuses the all-zero result itself; either way the peer's key is unusable.
    throw new ProtocolError("the peer's public key is a low-order point (all-zero shared secret)");
  }
  if (shared.every((b) => b === 0)) throw new ProtocolError("the peer's public key is a low-order point (all-zero shared secret)");
  return shared;
}

/** seed = HKDF-SHA256(shared, token nonce || bank nonce, "otp-token seed v1" || request 0..80 || response 0..67, L). */
export function deriveSeed(shared: Uint8Array, request: Uint8Array, response: Uint8Array, algorithm: Algorithm): Uint8Array {
  const salt = Buffer.concat([request.subarray(65, 81), response.subarray(33, 49)]);
  const info = Buffer.concat([ascii(SEED_CONTEXT), request.subarray(0, REQUEST_SIGNED_BYTES), response.subarray(0, RESPONSE_SIGNED_BYTES)]);
  return new Uint8Array(hkdfSync("sha256", shared, salt, info, SEED_BYTES[algorithm]));
}
