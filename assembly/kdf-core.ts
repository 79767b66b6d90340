// Key agreement and key derivation as a library module (build/kdf*.wasm): X25519 (RFC 7748), Elligator 2
// (RFC 9380 §6.7.1), the CPace generator and ISK (draft-irtf-cfrg-cpace-21) and HKDF-SHA256 (RFC 5869),
// the primitives of activation (docs/activation.md), for host-side use and tests against published
// vectors. The token firmware links the same assembly/crypto modules with the same size flags
// (kdf.small.wasm) or debug flags (kdf.debug.wasm); build/core.wasm stays the small OTP core.
import { ABI_VERSION, STATUS_BAD_LENGTH } from "./abi";
import { cpaceGenerator as calculateGenerator, cpaceIsk as calculateIsk, ISK_BYTES, MAX_STRING } from "./crypto/cpace";
import { elligator2 as mapToCurve } from "./crypto/elligator2";
import { compressionCount as countCompressions } from "./crypto/md";
import { HASH_BYTES as KDF_HASH_BYTES, HKDF_MAX_OUTPUT, hkdfSha256 } from "./crypto/kdf";
import { x25519 as x25519Multiply, x25519Base as x25519MultiplyBase, x25519IsZero as x25519SecretIsZero } from "./crypto/x25519";

/** Bytes of the I/O buffer the host writes inputs into; outputs are written there too. */
export const IO_SIZE: u32 = 16384;
export const IO_BUFFER: usize = memory.data(<i32>IO_SIZE);

/** Called once after instantiation by the host to check it speaks this interface. */
export function abiVersion(): u32 {
  return ABI_VERSION;
}

/** Compression-function calls so far (debug build), or -1 (release builds do not count). */
export function compressionCount(): i32 {
  return countCompressions();
}

// @ts-ignore: decorator
@inline function inIo(offset: u32, len: u32): bool {
  return offset <= IO_SIZE && len <= IO_SIZE - offset;
}

// @ts-ignore: decorator
@inline function overlaps(a: u32, aLen: u32, b: u32, bLen: u32): bool {
  return a < b + bLen && b < a + aLen;
}

/**
 * X25519 (RFC 7748 §5) of the 32-byte scalar and u-coordinate at the given offsets; the 32-byte result
 * is written at `outOffset` (which may be either input). Returns 32. Called once per key pair or
 * shared secret.
 */
export function x25519(outOffset: u32, scalarOffset: u32, pointOffset: u32): i32 {
  if (!inIo(outOffset, 32) || !inIo(scalarOffset, 32) || !inIo(pointOffset, 32)) return STATUS_BAD_LENGTH;
  x25519Multiply(IO_BUFFER + outOffset, IO_BUFFER + scalarOffset, IO_BUFFER + pointOffset);
  return 32;
}

/** X25519 of the 32-byte scalar at `scalarOffset` and the base point 9: its public key. Returns 32. */
export function x25519Base(outOffset: u32, scalarOffset: u32): i32 {
  if (!inIo(outOffset, 32) || !inIo(scalarOffset, 32)) return STATUS_BAD_LENGTH;
  x25519MultiplyBase(IO_BUFFER + outOffset, IO_BUFFER + scalarOffset);
  return 32;
}

/** 1 if the 32 bytes at `offset` are all zero (a refused shared secret, RFC 7748 §6.1), else 0; constant time. */
export function x25519IsZero(offset: u32): i32 {
  if (!inIo(offset, 32)) return STATUS_BAD_LENGTH;
  return <i32>x25519SecretIsZero(IO_BUFFER + offset);
}

/**
 * map_to_curve_elligator2 for curve25519 (RFC 9380 §6.7.1): the 32-byte u-coordinate for the field
 * element at `inOffset` (32 bytes little-endian, bit 255 ignored). `outOffset` may equal `inOffset`.
 * Returns 32.
 */
export function elligator2(outOffset: u32, inOffset: u32): i32 {
  if (!inIo(outOffset, 32) || !inIo(inOffset, 32)) return STATUS_BAD_LENGTH;
  mapToCurve(IO_BUFFER + outOffset, IO_BUFFER + inOffset);
  return 32;
}

/**
 * CPace's G_X25519.calculate_generator(SHA-512, PRS, CI, sid) (draft-irtf-cfrg-cpace-21 §8.2): 32 bytes
 * at `outOffset`. Each of PRS, CI and sid is at most 127 bytes. Returns 32.
 */
export function cpaceGenerator(outOffset: u32, prsOffset: u32, prsLen: u32, ciOffset: u32, ciLen: u32, sidOffset: u32, sidLen: u32): i32 {
  if (prsLen > MAX_STRING || ciLen > MAX_STRING || sidLen > MAX_STRING) return STATUS_BAD_LENGTH;
  if (!inIo(outOffset, 32) || !inIo(prsOffset, prsLen) || !inIo(ciOffset, ciLen) || !inIo(sidOffset, sidLen)) return STATUS_BAD_LENGTH;
  calculateGenerator(IO_BUFFER + outOffset, IO_BUFFER + prsOffset, prsLen, IO_BUFFER + ciOffset, ciLen, IO_BUFFER + sidOffset, sidLen);
  return 32;
}

/**
 * CPace's ISK in the initiator-responder setting (draft-irtf-cfrg-cpace-21 §7.2): 64 bytes at
 * `outOffset` from sid, K, Ya, ADa, Yb, ADb (K, Ya and Yb 32 bytes; the others at most 127). Returns 64.
 */
export function cpaceIsk(outOffset: u32, sidOffset: u32, sidLen: u32, kOffset: u32, yaOffset: u32, adaOffset: u32, adaLen: u32, ybOffset: u32, adbOffset: u32, adbLen: u32): i32 {
  if (sidLen > MAX_STRING || adaLen > MAX_STRING || adbLen > MAX_STRING) return STATUS_BAD_LENGTH;
  if (!inIo(outOffset, ISK_BYTES) || !inIo(sidOffset, sidLen) || !inIo(kOffset, 32) || !inIo(yaOffset, 32)) return STATUS_BAD_LENGTH;
  if (!inIo(adaOffset, adaLen) || !inIo(ybOffset, 32) || !inIo(adbOffset, adbLen)) return STATUS_BAD_LENGTH;
  calculateIsk(IO_BUFFER + outOffset, IO_BUFFER + sidOffset, sidLen, IO_BUFFER + kOffset, IO_BUFFER + yaOffset,
    IO_BUFFER + adaOffset, adaLen, IO_BUFFER + ybOffset, IO_BUFFER + adbOffset, adbLen);
  return <i32>ISK_BYTES;
}

/**
 * HKDF-SHA256 (RFC 5869): `outLen` (1 to 8160) bytes at `outOffset` from the IKM, salt and info at the
 * given offsets. The output must not overlap the info when it is longer than 32 bytes. Returns outLen.
 */
export function hkdf(outOffset: u32, outLen: u32, ikmOffset: u32, ikmLen: u32, saltOffset: u32, saltLen: u32, infoOffset: u32, infoLen: u32): i32 {
  if (outLen == 0 || outLen > HKDF_MAX_OUTPUT) return STATUS_BAD_LENGTH;
  if (!inIo(outOffset, outLen) || !inIo(ikmOffset, ikmLen) || !inIo(saltOffset, saltLen) || !inIo(infoOffset, infoLen)) return STATUS_BAD_LENGTH;
  if (outLen > KDF_HASH_BYTES && overlaps(outOffset, outLen, infoOffset, infoLen)) return STATUS_BAD_LENGTH;
  hkdfSha256(IO_BUFFER + outOffset, outLen, IO_BUFFER + ikmOffset, ikmLen, IO_BUFFER + saltOffset, saltLen, IO_BUFFER + infoOffset, infoLen);
  return <i32>outLen;
}
