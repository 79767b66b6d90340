// Key agreement and key derivation over the wasm core, as the activation protocol uses them
// (docs/activation.md): X25519 (RFC 7748), Elligator 2 for curve25519 (RFC 9380 §6.7.1), CPace's
// generator and ISK (draft-irtf-cfrg-cpace-21, CPACE-X25519-SHA512) and HKDF-SHA256 (RFC 5869). Validates every input with an error that says what is accepted, places the inputs in
// the core's I/O buffer, and zeroes the bytes it used there afterwards (they held keys).
import { ABI_VERSION } from "./abi.js";
import { check, type CoreBuild } from "./core.js";
import { instantiate } from "./wasm.js";

/** The exports of build/kdf*.wasm (assembly/kdf-core.ts). */
export interface KdfExports {
  memory: WebAssembly.Memory;
  IO_BUFFER: number;
  IO_SIZE: number;
  abiVersion(): number;
  compressionCount(): number;
  x25519(outOffset: number, scalarOffset: number, pointOffset: number): number;
  x25519Base(outOffset: number, scalarOffset: number): number;
  x25519IsZero(offset: number): number;
  elligator2(outOffset: number, inOffset: number): number;
  cpaceGenerator(
    outOffset: number,
    prsOffset: number,
    prsLen: number,
    ciOffset: number,
    ciLen: number,
    sidOffset: number,
    sidLen: number,
  ): number;
  cpaceIsk(
    outOffset: number,
    sidOffset: number,
    sidLen: number,
    kOffset: number,
    yaOffset: number,
    adaOffset: number,
    adaLen: number,
    ybOffset: number,
    adbOffset: number,
    adbLen: number,
  ): number;
  hkdf(
    outOffset: number,
    outLen: number,
    ikmOffset: number,
    ikmLen: number,
    saltOffset: number,
    saltLen: number,
    infoOffset: number,
    infoLen: number,
  ): number;
}

export const X25519_BYTES = 32;
/** The longest PRS, CI, sid, ADa or ADb the token's CPace takes (a one-byte LEB128 length). */
export const MAX_CPACE_STRING = 127;
export const CPACE_ISK_BYTES = 64;
/** RFC 5869 §2.3: L <= 255 * HashLen. */
export const MAX_HKDF_LENGTH = 255 * 32;

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return Object.prototype.toString.call(value);
}

function checkBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array (bytes), got ${describe(value)}`);
  return value;
}

function checkKey(value: unknown, what: string): Uint8Array {
  const bytes = checkBytes(value, what);
  if (bytes.length !== X25519_BYTES) throw new RangeError(`${what} must be exactly ${X25519_BYTES} bytes (RFC 7748), got ${bytes.length}`);
  return bytes;
}

function checkWhole(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value))
    throw new TypeError(`${what} must be a whole number from ${min} to ${max}, got ${describe(value)}`);
  if (value < min || value > max) throw new RangeError(`${what} must be from ${min} to ${max}, got ${value}`);
  return value;
}

/** The same three builds as the OTP core: speed, size, debug. */
export const KDF_FILES: Record<CoreBuild, string> = { release: "kdf.wasm", small: "kdf.small.wasm", debug: "kdf.debug.wasm" };

const instances = new Map<CoreBuild, { exports: KdfExports; io: Uint8Array }>();

/** The instance of a build (one per process), with a view of its I/O buffer. */
export function kdfInstance(build: CoreBuild = "release"): { exports: KdfExports; io: Uint8Array } {
  let found = instances.get(build);
  if (!found) {
    const exports = instantiate<KdfExports>(KDF_FILES[build]);
    if (exports.abiVersion() !== ABI_VERSION)
      throw new Error(
        `${KDF_FILES[build]} speaks ABI ${exports.abiVersion()}, the host expects ${ABI_VERSION}: rebuild with npm run build`,
      );
    found = { exports, io: new Uint8Array(exports.memory.buffer, exports.IO_BUFFER, exports.IO_SIZE) };
    instances.set(build, found);
  }
  return found;
}

const instance = kdfInstance;

/**
 * Lays `parts` out one after another from offset `start` in the I/O buffer, runs `run` with their
 * offsets, copies `length` result bytes from `outOffset` and zeroes everything it touched.
 */
function withIo(
  build: CoreBuild,
  what: string,
  outLength: number,
  parts: Uint8Array[],
  run: (e: KdfExports, offsets: number[]) => number,
): Uint8Array {
  const { exports, io } = instance(build);
  const used = outLength + parts.reduce((sum, part) => sum + part.length, 0);
  if (used > io.length) throw new RangeError(`${what}: inputs and output together must fit in ${io.length} bytes, got ${used}`);
  const offsets: number[] = [];
  let offset = outLength;
  for (const part of parts) {
    io.set(part, offset);
    offsets.push(offset);
    offset += part.length;
  }
  try {
    check(run(exports, offsets), what);
    return io.slice(0, outLength);
  } finally {
    io.fill(0, 0, used);
  }
}

/**
 * X25519(scalar, u) (RFC 7748 §5): 32 bytes. The scalar is clamped and the top bit of u ignored, as
 * the RFC says. The result is returned even when it is all zero (a low-order peer key): a caller using
 * it as a shared secret must refuse that (RFC 7748 §6.1; see isAllZero).
 */
export function x25519(scalar: Uint8Array, point: Uint8Array, build: CoreBuild = "release"): Uint8Array {
  checkKey(scalar, "scalar (private key)");
  checkKey(point, "point (public key, u-coordinate)");
  return withIo(build, "X25519", X25519_BYTES, [scalar, point], (e, [s, p]) => e.x25519(0, s, p));
}

/** X25519(scalar, 9): the public key of a 32-byte private key (RFC 7748 §6.1). */
export function x25519Base(scalar: Uint8Array, build: CoreBuild = "release"): Uint8Array {
  checkKey(scalar, "scalar (private key)");
  return withIo(build, "X25519", X25519_BYTES, [scalar], (e, [s]) => e.x25519Base(0, s));
}

/** True when `secret` is all zero bytes, checked in constant time by the core (RFC 7748 §6.1). */
export function isAllZero(secret: Uint8Array, build: CoreBuild = "release"): boolean {
  checkKey(secret, "shared secret");
  const { exports, io } = instance(build);
  io.set(secret, 0);
  try {
    return check(exports.x25519IsZero(0), "checking the shared secret") === 1;
  } finally {
    io.fill(0, 0, X25519_BYTES);
  }
}

function checkString(value: unknown, what: string): Uint8Array {
  const bytes = checkBytes(value, what);
  if (bytes.length > MAX_CPACE_STRING) throw new RangeError(`${what} must be at most ${MAX_CPACE_STRING} bytes, got ${bytes.length}`);
  return bytes;
}

/**
 * map_to_curve_elligator2 for curve25519 (RFC 9380 §6.7.1): the 32-byte u-coordinate for the field
 * element `u` (32 bytes little-endian; bit 255 ignored, values from p taken mod p, as RFC 7748 decodes).
 */
export function elligator2(u: Uint8Array, build: CoreBuild = "release"): Uint8Array {
  checkKey(u, "field element u");
  return withIo(build, "Elligator 2", X25519_BYTES, [u], (e, [input]) => e.elligator2(0, input));
}

/** CPace's G_X25519.calculate_generator(SHA-512, PRS, CI, sid) (draft-irtf-cfrg-cpace-21 §8.2): 32 bytes. */
export function cpaceGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array, build: CoreBuild = "release"): Uint8Array {
  checkString(prs, "PRS");
  checkString(ci, "CI");
  checkString(sid, "sid");
  return withIo(build, "CPace generator", X25519_BYTES, [prs, ci, sid], (e, [p, c, s]) =>
    e.cpaceGenerator(0, p, prs.length, c, ci.length, s, sid.length),
  );
}

/** The inputs of CPace's ISK (draft-irtf-cfrg-cpace-21 §7.2): K, Ya and Yb are 32 bytes. */
export interface IskInputs {
  sid: Uint8Array;
  K: Uint8Array;
  Ya: Uint8Array;
  ADa: Uint8Array;
  Yb: Uint8Array;
  ADb: Uint8Array;
}

/** ISK = SHA-512(lv_cat("CPace255_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb)): 64 bytes. */
export function cpaceIsk(inputs: IskInputs, build: CoreBuild = "release"): Uint8Array {
  const { sid, K, Ya, ADa, Yb, ADb } = inputs;
  checkString(sid, "sid");
  checkKey(K, "K");
  checkKey(Ya, "Ya");
  checkString(ADa, "ADa");
  checkKey(Yb, "Yb");
  checkString(ADb, "ADb");
  return withIo(build, "CPace ISK", CPACE_ISK_BYTES, [sid, K, Ya, ADa, Yb, ADb], (e, [s, k, a, ada, b, adb]) =>
    e.cpaceIsk(0, s, sid.length, k, a, ada, ADa.length, b, adb, ADb.length),
  );
}

/** HKDF-SHA256 (RFC 5869): `length` (1 to 8160) bytes; an empty salt means 32 zero bytes (§2.2). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number, build: CoreBuild = "release"): Uint8Array {
  checkBytes(ikm, "IKM");
  checkBytes(salt, "salt");
  checkBytes(info, "info");
  checkWhole(length, "length", 1, MAX_HKDF_LENGTH);
  return withIo(build, "HKDF", length, [ikm, salt, info], (e, [k, s, i]) =>
    e.hkdf(0, length, k, ikm.length, s, salt.length, i, info.length),
  );
}
