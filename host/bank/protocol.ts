// The activation protocol, version 2 (docs/activation.md): the one place on the host that defines its
// message layouts with their codecs and the bank's half of CPace (draft-irtf-cfrg-cpace-21, cipher suite
// CPACE-X25519-SHA512, initiator-responder, explicit key confirmation as in §10.4). X25519 (RFC 7748) and
// Elligator 2 (RFC 9380 §6.7.1, curve25519) come from @noble/curves; SHA-512, HMAC-SHA-512 and
// HKDF-SHA256 (RFC 5869) from node:crypto. The firmware's half is assembly/device/activation.ts.
//
// The activation password is CPace's PRS; the token serial, Service ID and User ID are bound into CI;
// the seed is HKDF-SHA256 of ISK. The bank imports this module; a firmware integrator can import the
// codecs.
import { createHash, createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { invertCt } from "@noble/curves/abstract/modular.js";
import { _map_to_curve_elligator2_curve25519 as mapToCurveElligator2, x25519 } from "@noble/curves/ed25519.js";
import { bytesToNumberLE, numberToBytesLE } from "@noble/curves/utils.js";
import {
  ACTIVATION_CONFIRMATION,
  ACTIVATION_CONFIRMATION_BYTES,
  ACTIVATION_REQUEST,
  ACTIVATION_REQUEST_BYTES,
  ACTIVATION_RESPONSE,
  ACTIVATION_RESPONSE_BYTES,
  ACTIVATION_VERSION,
  MAX_ACTIVATION_FAILURES,
} from "../abi.js";
import { LABEL_PATTERN, SERVICE_ID_PATTERN, USER_ID_PATTERN } from "../identity.js";
import type { Algorithm } from "../otp.js";

// The version, kinds, lengths and the failure limit are the firmware's own constants (assembly/abi.ts,
// mirrored in host/abi.ts), so the two sides cannot disagree.
export { MAX_ACTIVATION_FAILURES };
export const PROTOCOL_VERSION = ACTIVATION_VERSION;
export const REQUEST_BYTES = ACTIVATION_REQUEST_BYTES;
export const RESPONSE_BYTES = ACTIVATION_RESPONSE_BYTES;
export const CONFIRMATION_BYTES = ACTIVATION_CONFIRMATION_BYTES;

/** The message kinds (byte 1 of every message). */
export const MESSAGE_KINDS = { request: ACTIVATION_REQUEST, response: ACTIVATION_RESPONSE, confirmation: ACTIVATION_CONFIRMATION } as const;
export type MessageKind = keyof typeof MESSAGE_KINDS;

export const SERVICE_ID_BYTES = 8;
export const USER_ID_BYTES = 16;
/** X25519 scalars, shares (Ya, Yb) and K. */
export const KEY_BYTES = 32;
export const SID_BYTES = 16;
/** HMAC-SHA-512 confirmation tags (Ta, Tb). */
export const TAG_BYTES = 64;
export const ISK_BYTES = 64;
export const MAX_LABEL_BYTES = 12;
export const MAX_PERIOD = 86400;

/** The request's associated data ADa: bytes 0..33 (version, kind, Service ID, User ID, serial). */
export const ADA_BYTES = 34;
/** The response's associated data ADb: bytes 0..20 (version, kind, OTP parameters, label). */
export const ADB_BYTES = 21;
// Offsets of the shares, the session id and the tags (docs/activation.md, "Messages").
const REQUEST_SID = 34;
const REQUEST_SHARE = 50;
const RESPONSE_SHARE = 21;
const RESPONSE_TAG = 53;
const CONFIRMATION_SID = 26;
const CONFIRMATION_TAG = 42;

/** CI's leading label: CI = lv_cat(CI_LABEL, serial, Service ID, User ID). */
export const CI_LABEL = "otp-token activation";
/** HKDF info of the seed. */
export const SEED_INFO = "otp-token seed v2";
/** G_X25519.DSI (§8.2), the ISK label (§7.2) and the MAC key label (§10.4). */
const DSI = "CPace255";
const DSI_ISK = "CPace255_ISK";
const MAC_LABEL = "CPaceMac";

/** The algorithm byte of message 2. */
export const ALGORITHM_CODES: Readonly<Record<Algorithm, number>> = { SHA1: 1, SHA256: 2, SHA512: 3 };
/** Seed length per algorithm: the HMAC block's natural key size (docs/design.md, "Reference values"). */
export const SEED_BYTES: Readonly<Record<Algorithm, number>> = { SHA1: 20, SHA256: 32, SHA512: 64 };

export { LABEL_PATTERN, SERVICE_ID_PATTERN, USER_ID_PATTERN };

/** A message that does not follow the layout (length, version, kind or a field's form), or a share CPace must refuse. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

export interface ActivationRequest {
  serviceId: string;
  userId: string;
  /** The token serial, u64. */
  serial: bigint;
  /** CPace's session id, 16 random bytes chosen by the token. */
  sid: Uint8Array;
  /** The token's share Ya, 32 bytes. */
  share: Uint8Array;
  /** ADa: the request's bytes 0..33. */
  associatedData: Uint8Array;
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
  /** The bank's share Yb, 32 bytes. */
  share: Uint8Array;
  /** The bank's confirmation Tb, 64 bytes. */
  tag: Uint8Array;
  /** ADb: the response's bytes 0..20. */
  associatedData: Uint8Array;
}

export interface ActivationConfirmation {
  serviceId: string;
  userId: string;
  sid: Uint8Array;
  /** The token's confirmation Ta, 64 bytes. */
  tag: Uint8Array;
}

const ascii = (text: string): Buffer => Buffer.from(text, "latin1");

/** prepend_len (draft Appendix A.1.1): the LEB128 length, then the bytes. */
export function prependLen(data: Uint8Array): Uint8Array {
  const length: number[] = [];
  let n = data.length;
  do {
    length.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Uint8Array.from(length), data]);
}

/** lv_cat (draft Appendix A.1.3). */
export function lvCat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map(prependLen));
}

/** Constant-time comparison (lengths are public). */
export function tagsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function serialBytes(serial: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, serial);
  return bytes;
}

/** CI = lv_cat("otp-token activation", serial (8 bytes, big-endian), Service ID, User ID): the initiator's identity, then the responder's (§10.1.1). */
export function channelIdentifier(serial: bigint, serviceId: string, userId: string): Uint8Array {
  return lvCat(ascii(CI_LABEL), serialBytes(serial), ascii(serviceId), ascii(userId));
}

/** generator_string(DSI, PRS, CI, sid, 128) = lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid) (§8.1, Appendix A.2). */
export function generatorString(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  const zpad = Math.max(0, 128 - 1 - prependLen(prs).length - prependLen(ascii(DSI)).length);
  return lvCat(ascii(DSI), prs, new Uint8Array(zpad), ci, sid);
}

const P = 2n ** 255n - 19n;

/**
 * G_X25519.calculate_generator(SHA-512, PRS, CI, sid) (§8.2): SHA-512 of the generator string, its first
 * 32 bytes decoded as a u-coordinate (bit 255 masked), mapped by Elligator 2; the 32-byte u of the result.
 */
export function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  const hash = createHash("sha512")
    .update(generatorString(prs, ci, sid))
    .digest();
  return elligator2(hash.subarray(0, 32));
}

/** RFC 9380 map_to_curve_elligator2 on curve25519 (§6.7.1, Appendix G.2.1) of a decodeUCoordinate'd field element: u of the point. */
export function elligator2(encoded: Uint8Array): Uint8Array {
  const bytes = Uint8Array.from(encoded);
  bytes[31] &= 0x7f;
  const { xMn, xMd } = mapToCurveElligator2(bytesToNumberLE(bytes) % P);
  return numberToBytesLE((xMn * invertCt(xMd, P)) % P, 32);
}

/**
 * G_X25519.scalar_mult_vfy(y, X) = X25519(y, X) (§8.2), refusing G.I: @noble/curves rejects every
 * low-order u (on the curve and on the twist) before the ladder, which is the abort of §7.2.
 */
export function scalarMultVfy(scalar: Uint8Array, point: Uint8Array): Uint8Array {
  try {
    return x25519.scalarMult(scalar, point);
  } catch {
    throw new ProtocolError("the peer's share is a low-order point (CPace aborts on the neutral element)");
  }
}

/** ISK = SHA-512(lv_cat("CPace255_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb)) (§7.2, Appendix A.3.4). */
export function intermediateSessionKey(
  sid: Uint8Array,
  K: Uint8Array,
  Ya: Uint8Array,
  ADa: Uint8Array,
  Yb: Uint8Array,
  ADb: Uint8Array,
): Uint8Array {
  return new Uint8Array(
    createHash("sha512")
      .update(lvCat(ascii(DSI_ISK), sid, K))
      .update(lvCat(Ya, ADa))
      .update(lvCat(Yb, ADb))
      .digest(),
  );
}

/** mac_key = SHA-512("CPaceMac" || sid || ISK) (§10.4). */
export function macKey(sid: Uint8Array, isk: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha512").update(ascii(MAC_LABEL)).update(sid).update(isk).digest());
}

/** A confirmation tag: HMAC-SHA-512(mac_key, lv_cat(Y, AD)) over the message its sender sent (§10.4). */
export function confirmationTag(key: Uint8Array, share: Uint8Array, associatedData: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha512", key).update(lvCat(share, associatedData)).digest());
}

/** seed = HKDF-SHA256(IKM = ISK, salt = empty, info = "otp-token seed v2", L = 20, 32 or 64). */
export function deriveSeed(isk: Uint8Array, algorithm: Algorithm): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", isk, new Uint8Array(0), ascii(SEED_INFO), SEED_BYTES[algorithm]));
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new ProtocolError(`${what} must be exactly ${length} bytes`);
  }
}

/** Which message `bytes` claims to be (its kind byte), or null when it is no message of this protocol version. */
export function messageKind(bytes: Uint8Array): MessageKind | null {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2 || bytes[0] !== PROTOCOL_VERSION) return null;
  const kind = (Object.keys(MESSAGE_KINDS) as MessageKind[]).find((name) => MESSAGE_KINDS[name] === bytes[1]);
  return kind ?? null;
}

function checkHeader(bytes: Uint8Array, kind: MessageKind, length: number): void {
  const what = `the activation ${kind}`;
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError(`${what} must be bytes`);
  if (bytes.length !== length) throw new ProtocolError(`${what} must be exactly ${length} bytes, got ${bytes.length}`);
  if (bytes[0] !== PROTOCOL_VERSION)
    throw new ProtocolError(`unsupported activation protocol version ${bytes[0]} (this bank speaks ${PROTOCOL_VERSION})`);
  if (bytes[1] !== MESSAGE_KINDS[kind]) throw new ProtocolError(`this is not an activation ${kind} (message kind ${bytes[1]})`);
}

function readIds(bytes: Uint8Array, at: number): { serviceId: string; userId: string } {
  const serviceId = Buffer.from(bytes.subarray(at, at + SERVICE_ID_BYTES)).toString("latin1");
  const userId = Buffer.from(bytes.subarray(at + SERVICE_ID_BYTES, at + SERVICE_ID_BYTES + USER_ID_BYTES)).toString("latin1");
  if (!SERVICE_ID_PATTERN.test(serviceId)) throw new ProtocolError("the Service ID in the message is not 8 digits");
  if (!USER_ID_PATTERN.test(userId)) throw new ProtocolError("the User ID in the message is not 16 upper-case letters or digits");
  return { serviceId, userId };
}

function checkIds(serviceId: string, userId: string): void {
  if (!SERVICE_ID_PATTERN.test(serviceId)) throw new ProtocolError("Service ID must be 8 digits");
  if (!USER_ID_PATTERN.test(userId)) throw new ProtocolError("User ID must be 16 upper-case letters or digits");
}

/** Builds message 1 (82 bytes). */
export function encodeRequest(fields: Omit<ActivationRequest, "associatedData">): Uint8Array {
  checkIds(fields.serviceId, fields.userId);
  if (fields.serial < 0n || fields.serial >= 1n << 64n) throw new ProtocolError("token serial must be a u64");
  checkLength(fields.sid, SID_BYTES, "sid");
  checkLength(fields.share, KEY_BYTES, "the token's share");
  const out = new Uint8Array(REQUEST_BYTES);
  out[0] = PROTOCOL_VERSION;
  out[1] = MESSAGE_KINDS.request;
  out.set(ascii(fields.serviceId), 2);
  out.set(ascii(fields.userId), 10);
  out.set(serialBytes(fields.serial), 26);
  out.set(fields.sid, REQUEST_SID);
  out.set(fields.share, REQUEST_SHARE);
  return out;
}

/** Parses message 1; throws a ProtocolError for a wrong length, version, kind or identity form. */
export function decodeRequest(bytes: Uint8Array): ActivationRequest {
  checkHeader(bytes, "request", REQUEST_BYTES);
  const { serviceId, userId } = readIds(bytes, 2);
  return {
    serviceId,
    userId,
    serial: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(26),
    sid: bytes.slice(REQUEST_SID, REQUEST_SID + SID_BYTES),
    share: bytes.slice(REQUEST_SHARE, REQUEST_SHARE + KEY_BYTES),
    associatedData: bytes.slice(0, ADA_BYTES),
  };
}

/** Checks the OTP parameters message 2 can carry; returns a reason, or null when they are valid. */
export function otpParametersProblem(p: OtpParameters): string | null {
  if (!(p.algorithm in ALGORITHM_CODES)) return "algorithm must be SHA1, SHA256 or SHA512";
  if (p.digits !== 6 && p.digits !== 7 && p.digits !== 8) return "digits must be 6, 7 or 8";
  if (!Number.isInteger(p.period) || p.period < 1 || p.period > MAX_PERIOD)
    return `period must be a whole number of seconds from 1 to ${MAX_PERIOD}`;
  if (!LABEL_PATTERN.test(p.label)) return "label must be 1-12 of A-Z 0-9 space - . / :";
  return null;
}

/** ADb: version, kind, algorithm, digits, period (u32), label length, label (12, zero padded). */
export function responseAssociatedData(params: OtpParameters): Uint8Array {
  const problem = otpParametersProblem(params);
  if (problem) throw new ProtocolError(problem);
  const out = new Uint8Array(ADB_BYTES);
  out[0] = PROTOCOL_VERSION;
  out[1] = MESSAGE_KINDS.response;
  out[2] = ALGORITHM_CODES[params.algorithm];
  out[3] = params.digits;
  new DataView(out.buffer).setUint32(4, params.period);
  out[8] = params.label.length;
  out.set(ascii(params.label), 9);
  return out;
}

/** Builds message 2 (117 bytes) from ADb's parameters, the bank's share and its tag. */
export function encodeResponse(fields: OtpParameters & { share: Uint8Array; tag: Uint8Array }): Uint8Array {
  checkLength(fields.share, KEY_BYTES, "the bank's share");
  checkLength(fields.tag, TAG_BYTES, "the bank's tag");
  const out = new Uint8Array(RESPONSE_BYTES);
  out.set(responseAssociatedData(fields), 0);
  out.set(fields.share, RESPONSE_SHARE);
  out.set(fields.tag, RESPONSE_TAG);
  return out;
}

/** Parses message 2; throws a ProtocolError for a wrong length, version, kind or parameters. Does not check the tag. */
export function decodeResponse(bytes: Uint8Array): ActivationResponse {
  checkHeader(bytes, "response", RESPONSE_BYTES);
  const algorithm = (Object.keys(ALGORITHM_CODES) as Algorithm[]).find((name) => ALGORITHM_CODES[name] === bytes[2]);
  if (!algorithm) throw new ProtocolError(`unknown algorithm code ${bytes[2]}`);
  const labelLength = bytes[8];
  if (labelLength < 1 || labelLength > MAX_LABEL_BYTES) throw new ProtocolError("label length must be 1-12");
  if (bytes.subarray(9 + labelLength, ADB_BYTES).some((b) => b !== 0)) throw new ProtocolError("label padding must be zero");
  const fields: ActivationResponse = {
    algorithm,
    digits: bytes[3],
    period: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4),
    label: Buffer.from(bytes.subarray(9, 9 + labelLength)).toString("latin1"),
    share: bytes.slice(RESPONSE_SHARE, RESPONSE_SHARE + KEY_BYTES),
    tag: bytes.slice(RESPONSE_TAG, RESPONSE_TAG + TAG_BYTES),
    associatedData: bytes.slice(0, ADB_BYTES),
  };
  const problem = otpParametersProblem(fields);
  if (problem) throw new ProtocolError(problem);
  return fields;
}

/** Builds message 3 (106 bytes). */
export function encodeConfirmation(fields: ActivationConfirmation): Uint8Array {
  checkIds(fields.serviceId, fields.userId);
  checkLength(fields.sid, SID_BYTES, "sid");
  checkLength(fields.tag, TAG_BYTES, "the token's tag");
  const out = new Uint8Array(CONFIRMATION_BYTES);
  out[0] = PROTOCOL_VERSION;
  out[1] = MESSAGE_KINDS.confirmation;
  out.set(ascii(fields.serviceId), 2);
  out.set(ascii(fields.userId), 10);
  out.set(fields.sid, CONFIRMATION_SID);
  out.set(fields.tag, CONFIRMATION_TAG);
  return out;
}

/** Parses message 3; throws a ProtocolError for a wrong length, version, kind or identity form. Does not check the tag. */
export function decodeConfirmation(bytes: Uint8Array): ActivationConfirmation {
  checkHeader(bytes, "confirmation", CONFIRMATION_BYTES);
  const { serviceId, userId } = readIds(bytes, 2);
  return {
    serviceId,
    userId,
    sid: bytes.slice(CONFIRMATION_SID, CONFIRMATION_SID + SID_BYTES),
    tag: bytes.slice(CONFIRMATION_TAG, CONFIRMATION_TAG + TAG_BYTES),
  };
}

/** What the bank keeps of one answered request until the token's confirmation arrives. */
export interface BankSession {
  /** Message 2, as sent. */
  response: Uint8Array;
  /** Ta as the token must send it. */
  expectedTokenTag: Uint8Array;
  /** The seed (20, 32 or 64 bytes) the token derives when Tb checks. */
  seed: Uint8Array;
}

/**
 * The bank's half of CPace (B, the responder) for a decoded request: the generator from the password,
 * yb from `random` (G_X25519.sample_scalar, §8.2), Yb, K (refused if G.I), ISK, Tb, and what it needs
 * for message 3. Throws a ProtocolError when Ya is a low-order point. yb, K, ISK and the MAC key are
 * zeroed before it returns.
 */
export function answerRequest(
  request: ActivationRequest,
  password: string | Uint8Array,
  params: OtpParameters,
  random: (length: number) => Uint8Array,
): BankSession {
  const prs = typeof password === "string" ? ascii(password) : password;
  const ci = channelIdentifier(request.serial, request.serviceId, request.userId);
  const generator = calculateGenerator(prs, ci, request.sid);
  const scalar = random(KEY_BYTES);
  let K: Uint8Array | undefined;
  let isk: Uint8Array | undefined;
  let key: Uint8Array | undefined;
  try {
    const share = x25519.scalarMult(scalar, generator);
    K = scalarMultVfy(scalar, request.share);
    const associatedData = responseAssociatedData(params);
    isk = intermediateSessionKey(request.sid, K, request.share, request.associatedData, share, associatedData);
    key = macKey(request.sid, isk);
    const response = encodeResponse({ ...params, share, tag: confirmationTag(key, share, associatedData) });
    return {
      response,
      expectedTokenTag: confirmationTag(key, request.share, request.associatedData),
      seed: deriveSeed(isk, params.algorithm),
    };
  } finally {
    generator.fill(0);
    scalar.fill(0);
    K?.fill(0);
    isk?.fill(0);
    key?.fill(0);
  }
}

/** The token's half (A, the initiator) kept between its request and the bank's response. */
export interface TokenSession {
  /** Message 1 as sent. */
  request: Uint8Array;
  /** ya: zero it when the session is over (finishAsToken does). */
  scalar: Uint8Array;
}

/**
 * The token's half of CPace on the host, as the firmware does it (assembly/device/activation.ts): for
 * tools, benchmarks and a token written in another language to compare against.
 */
export function startAsToken(
  fields: { serviceId: string; userId: string; serial: bigint },
  password: string,
  random: (length: number) => Uint8Array,
): TokenSession {
  const sid = random(SID_BYTES);
  const generator = calculateGenerator(ascii(password), channelIdentifier(fields.serial, fields.serviceId, fields.userId), sid);
  const scalar = random(KEY_BYTES);
  const request = encodeRequest({ ...fields, sid, share: x25519.scalarMult(scalar, generator) });
  generator.fill(0);
  return { request, scalar };
}

/**
 * Checks the bank's response against the token's session: derives K (refusing G.I), ISK and Tb. When
 * Tb matches, returns the OTP parameters, the seed and message 3; otherwise throws a ProtocolError
 * (a wrong activation password looks exactly like this). Zeroes the session's scalar either way.
 */
export function finishAsToken(
  session: TokenSession,
  responseBytes: Uint8Array,
): { params: OtpParameters; seed: Uint8Array; confirmation: Uint8Array } {
  const request = decodeRequest(session.request);
  try {
    const response = decodeResponse(responseBytes);
    const K = scalarMultVfy(session.scalar, response.share);
    const isk = intermediateSessionKey(request.sid, K, request.share, request.associatedData, response.share, response.associatedData);
    const key = macKey(request.sid, isk);
    K.fill(0);
    try {
      if (!tagsEqual(confirmationTag(key, response.share, response.associatedData), response.tag)) {
        throw new ProtocolError("the bank's confirmation does not verify (wrong activation password, or not from the bank)");
      }
      const params: OtpParameters = {
        algorithm: response.algorithm,
        digits: response.digits,
        period: response.period,
        label: response.label,
      };
      const confirmation = encodeConfirmation({ ...request, tag: confirmationTag(key, request.share, request.associatedData) });
      return { params, seed: deriveSeed(isk, response.algorithm), confirmation };
    } finally {
      isk.fill(0);
      key.fill(0);
    }
  } finally {
    session.scalar.fill(0);
  }
}
