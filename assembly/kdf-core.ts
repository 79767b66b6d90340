// Key agreement and key derivation as a library module (build/kdf*.wasm): X25519 (RFC 7748),
// PBKDF2-HMAC-SHA256 (RFC 8018) and HKDF-SHA256 (RFC 5869), the primitives of activation
// (docs/activation.md), for host-side use and tests. The token firmware links the same
// assembly/crypto modules; build/core.wasm stays the small OTP core.
import { ABI_VERSION, STATUS_BAD_LENGTH } from "./abi";
import { compressionCount as countCompressions } from "./crypto/md";
import { HASH_BYTES as KDF_HASH_BYTES, HKDF_MAX_OUTPUT, hkdfSha256, pbkdf2Sha256 } from "./crypto/kdf";
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
 * PBKDF2-HMAC-SHA256 (RFC 8018 §5.2): `outLen` bytes at `outOffset` from the password and salt at the
 * given offsets. The output must not overlap the salt when it is longer than 32 bytes. Returns outLen.
 */
export function pbkdf2(outOffset: u32, outLen: u32, passwordOffset: u32, passwordLen: u32, saltOffset: u32, saltLen: u32, iterations: u32): i32 {
  if (outLen == 0 || iterations == 0) return STATUS_BAD_LENGTH;
  if (!inIo(outOffset, outLen) || !inIo(passwordOffset, passwordLen) || !inIo(saltOffset, saltLen)) return STATUS_BAD_LENGTH;
  if (outLen > KDF_HASH_BYTES && overlaps(outOffset, outLen, saltOffset, saltLen)) return STATUS_BAD_LENGTH;
  pbkdf2Sha256(IO_BUFFER + outOffset, outLen, IO_BUFFER + passwordOffset, passwordLen, IO_BUFFER + saltOffset, saltLen, iterations);
  return <i32>outLen;
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
