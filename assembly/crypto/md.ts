// The Merkle-Damgard buffering and padding shared by SHA-1, SHA-256 and SHA-512 (FIPS 180-4 §5.1,
// §5.3, §6). Each algorithm supplies only its block function; this file owns the block buffer, the
// message length and the padding, so the three cannot drift apart.
//
// A hash context is a fixed region of static memory (no allocation):
//   0   u32  algorithm (ALG_*)
//   4   u32  bytes waiting in the block buffer
//   8   u64  message bytes absorbed so far (SHA-512's 128-bit length has a zero high half: we never
//            hash 2^61 bytes)
//   16  64   chaining state (5 or 8 u32 words, or 8 u64 words, in native order)
//   80  128  block buffer
import { ALG_SHA1, ALG_SHA256, ALG_SHA512 } from "../abi";
import { sha1Block, sha1Init, sha1Wipe } from "./sha1";
import { sha256Block, sha256Init, sha256Wipe } from "./sha256";
import { sha512Block, sha512Init, sha512Wipe } from "./sha512";

export const CTX_ALG: usize = 0;
export const CTX_BUFFERED: usize = 4;
export const CTX_TOTAL: usize = 8;
export const CTX_STATE: usize = 16;
export const CTX_BLOCK: usize = 80;
export const CTX_SIZE: usize = 208;

/**
 * One hash context shared by HKDF (kdf.ts) and CPace (cpace.ts): each uses it only within one call and
 * never calls the other meanwhile, and RAM is the token's scarcest resource (as with schedule.ts).
 */
export const SHARED_CTX: usize = memory.data(<i32>CTX_SIZE);

/** Largest block (SHA-512) and digest (SHA-512) in bytes. */
export const MAX_BLOCK: u32 = 128;
export const MAX_DIGEST: u32 = 64;

// Compression-function calls since the module started; only the debug build counts them.
let compressions: u32 = 0;

/** Number of compression-function calls so far, or -1 in builds that do not count. */
export function compressionCount(): i32 {
  if (isDefined(COUNT_COMPRESSIONS)) return <i32>compressions;
  return -1;
}

export function isAlgorithm(alg: u32): bool {
  return alg == ALG_SHA1 || alg == ALG_SHA256 || alg == ALG_SHA512;
}

// @ts-ignore: decorator
@inline export function blockBytes(alg: u32): u32 {
  return alg == ALG_SHA512 ? 128 : 64;
}

// @ts-ignore: decorator
@inline export function digestBytes(alg: u32): u32 {
  return alg == ALG_SHA1 ? 20 : alg == ALG_SHA256 ? 32 : 64;
}

/** Bytes of chaining state (what HMAC precomputes per key). */
// @ts-ignore: decorator
@inline export function stateBytes(alg: u32): u32 {
  return alg == ALG_SHA1 ? 20 : alg == ALG_SHA256 ? 32 : 64;
}

/** Runs the block function of the context's algorithm over one block at `block`. */
export function compress(alg: u32, state: usize, block: usize): void {
  if (isDefined(COUNT_COMPRESSIONS)) compressions++;
  if (alg == ALG_SHA256) sha256Block(state, block);
  else if (alg == ALG_SHA1) sha1Block(state, block);
  else sha512Block(state, block);
}

/** Starts a hash of `alg` in the context at `ctx`. The caller has checked `alg`. */
export function mdInit(ctx: usize, alg: u32): void {
  store<u32>(ctx + CTX_ALG, alg);
  store<u32>(ctx + CTX_BUFFERED, 0);
  store<u64>(ctx + CTX_TOTAL, 0);
  const state = ctx + CTX_STATE;
  if (alg == ALG_SHA256) sha256Init(state);
  else if (alg == ALG_SHA1) sha1Init(state);
  else sha512Init(state);
}

/**
 * Continues a hash from a saved chaining state after `absorbed` bytes (a whole number of blocks):
 * how HMAC starts its inner and outer hashes from the states precomputed for a key.
 */
export function mdResume(ctx: usize, alg: u32, state: usize, absorbed: u64): void {
  store<u32>(ctx + CTX_ALG, alg);
  store<u32>(ctx + CTX_BUFFERED, 0);
  store<u64>(ctx + CTX_TOTAL, absorbed);
  memory.copy(ctx + CTX_STATE, state, stateBytes(alg));
}

/** Zeroes the message schedule of `alg`, which holds words of the last block compressed. */
export function mdWipe(alg: u32): void {
  if (alg == ALG_SHA256) sha256Wipe();
  else if (alg == ALG_SHA1) sha1Wipe();
  else sha512Wipe();
}

/** Absorbs `len` bytes at `data`. Whole blocks are compressed straight from `data`, not copied. */
export function mdUpdate(ctx: usize, data: usize, len: usize): void {
  const alg = load<u32>(ctx + CTX_ALG);
  const block = <usize>blockBytes(alg);
  const state = ctx + CTX_STATE;
  const buffer = ctx + CTX_BLOCK;
  let buffered = <usize>load<u32>(ctx + CTX_BUFFERED);
  store<u64>(ctx + CTX_TOTAL, load<u64>(ctx + CTX_TOTAL) + <u64>len);
  if (buffered > 0) {
    const take = min(block - buffered, len);
    memory.copy(buffer + buffered, data, take);
    buffered += take;
    data += take;
    len -= take;
    if (buffered < block) {
      store<u32>(ctx + CTX_BUFFERED, <u32>buffered);
      return;
    }
    compress(alg, state, buffer);
    buffered = 0;
  }
  while (len >= block) {
    compress(alg, state, data);
    data += block;
    len -= block;
  }
  if (len > 0) memory.copy(buffer, data, len);
  store<u32>(ctx + CTX_BUFFERED, <u32>len);
}

/**
 * Pads, compresses the last block(s) and writes the big-endian digest to `out`
 * (FIPS 180-4 §5.1.1, §5.1.2). The context is zeroised afterwards: it may have held key material.
 */
export function mdFinal(ctx: usize, out: usize): u32 {
  const alg = load<u32>(ctx + CTX_ALG);
  const block = <usize>blockBytes(alg);
  const lengthBytes: usize = alg == ALG_SHA512 ? 16 : 8;
  const state = ctx + CTX_STATE;
  const buffer = ctx + CTX_BLOCK;
  let buffered = <usize>load<u32>(ctx + CTX_BUFFERED);
  const bits = load<u64>(ctx + CTX_TOTAL) << 3;
  store<u8>(buffer + buffered, 0x80);
  buffered++;
  if (buffered > block - lengthBytes) {
    memory.fill(buffer + buffered, 0, block - buffered);
    compress(alg, state, buffer);
    buffered = 0;
  }
  memory.fill(buffer + buffered, 0, block - 8 - buffered);
  store<u64>(buffer + block - 8, bswap<u64>(bits));
  compress(alg, state, buffer);
  const n = digestBytes(alg);
  if (alg == ALG_SHA512) {
    for (let i: usize = 0; i < 64; i += 8) store<u64>(out + i, bswap<u64>(load<u64>(state + i)));
  } else {
    for (let i: usize = 0; i < <usize>n; i += 4) store<u32>(out + i, bswap<u32>(load<u32>(state + i)));
  }
  memory.fill(ctx, 0, CTX_SIZE);
  return n;
}
