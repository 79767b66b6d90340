// HMAC (RFC 2104 §2; FIPS 198-1) over SHA-1, SHA-256 and SHA-512.
//
// A key is prepared once: its inner and outer chaining states (the compressions of K^ipad and
// K^opad) are stored, so each MAC afterwards costs only the compressions of the message and of
// the inner digest — two in all for an 8-byte HOTP counter, for every algorithm.
//
// A prepared key is a fixed region of static memory:
//   0   u32  algorithm (ALG_*); 0 = empty
//   8   64   inner chaining state
//   72  64   outer chaining state
import { blockBytes, compress, CTX_SIZE, MAX_BLOCK, MAX_DIGEST, mdFinal, mdInit, mdResume, mdUpdate, mdWipe } from "./md";
import { sha1Init } from "./sha1";
import { sha256Init } from "./sha256";
import { sha512Init } from "./sha512";
import { ALG_SHA1, ALG_SHA256 } from "../abi";

export const KEY_ALG: usize = 0;
export const KEY_INNER: usize = 8;
export const KEY_OUTER: usize = 72;
export const KEY_SIZE: usize = 136;

// Scratch: the padded key block, a hash context, and the inner digest. All zeroed after use.
const PAD: usize = memory.data(<i32>MAX_BLOCK);
const CTX: usize = memory.data(<i32>CTX_SIZE);
const INNER: usize = memory.data(<i32>MAX_DIGEST);

function initialState(alg: u32, state: usize): void {
  if (alg == ALG_SHA256) sha256Init(state);
  else if (alg == ALG_SHA1) sha1Init(state);
  else sha512Init(state);
}

/**
 * Prepares `key` (`keyLen` bytes, any length) for `alg` into the region at `prepared`.
 * A key longer than the block is hashed first (RFC 2104 §2). The caller has checked `alg`.
 */
export function hmacPrepare(prepared: usize, alg: u32, key: usize, keyLen: usize): void {
  const block = <usize>blockBytes(alg);
  memory.fill(PAD, 0, MAX_BLOCK);
  if (keyLen > block) {
    mdInit(CTX, alg);
    mdUpdate(CTX, key, keyLen);
    mdFinal(CTX, PAD);
  } else {
    memory.copy(PAD, key, keyLen);
  }
  for (let i: usize = 0; i < block; i++) store<u8>(PAD + i, load<u8>(PAD + i) ^ 0x36);
  const inner = prepared + KEY_INNER;
  initialState(alg, inner);
  compress(alg, inner, PAD);
  // 0x36 ^ 0x5c turns K^ipad into K^opad.
  for (let i: usize = 0; i < block; i++) store<u8>(PAD + i, load<u8>(PAD + i) ^ 0x6a);
  const outer = prepared + KEY_OUTER;
  initialState(alg, outer);
  compress(alg, outer, PAD);
  store<u32>(prepared + KEY_ALG, alg);
  memory.fill(PAD, 0, MAX_BLOCK);
  mdWipe(alg);
}

/** Starts a streaming HMAC in the hash context `ctx`: feed the message with mdUpdate(ctx, ...). */
export function hmacStart(ctx: usize, prepared: usize): void {
  const alg = load<u32>(prepared + KEY_ALG);
  mdResume(ctx, alg, prepared + KEY_INNER, <u64>blockBytes(alg));
}

/** Finishes the streaming HMAC in `ctx` into `out`; returns its length in bytes. Zeroes all scratch. */
export function hmacFinish(ctx: usize, prepared: usize, out: usize): u32 {
  const alg = load<u32>(prepared + KEY_ALG);
  const n = mdFinal(ctx, INNER);
  mdResume(ctx, alg, prepared + KEY_OUTER, <u64>blockBytes(alg));
  mdUpdate(ctx, INNER, n);
  mdFinal(ctx, out);
  memory.fill(INNER, 0, MAX_DIGEST);
  mdWipe(alg);
  return n;
}

/** Writes HMAC(prepared key, message) to `out`; returns its length in bytes. */
export function hmacCompute(prepared: usize, message: usize, len: usize, out: usize): u32 {
  hmacStart(CTX, prepared);
  mdUpdate(CTX, message, len);
  return hmacFinish(CTX, prepared, out);
}

/** HMAC over the concatenation of up to four parts (unused parts have length 0); returns its length. */
export function hmacParts(prepared: usize, out: usize, a: usize, aLen: usize, b: usize, bLen: usize, c: usize, cLen: usize, d: usize, dLen: usize): u32 {
  hmacStart(CTX, prepared);
  mdUpdate(CTX, a, aLen);
  mdUpdate(CTX, b, bLen);
  mdUpdate(CTX, c, cLen);
  mdUpdate(CTX, d, dLen);
  return hmacFinish(CTX, prepared, out);
}

/** Starts a streaming HMAC in this module's own context; callers absorb with hmacAbsorb, end with hmacEnd. */
export function hmacBegin(prepared: usize): void {
  hmacStart(CTX, prepared);
}

/** Absorbs `len` bytes at `data` into the HMAC hmacBegin started. */
export function hmacAbsorb(data: usize, len: usize): void {
  mdUpdate(CTX, data, len);
}

/** Ends the HMAC hmacBegin started: the MAC goes to `out`; returns its length. Zeroes all scratch. */
export function hmacEnd(prepared: usize, out: usize): u32 {
  return hmacFinish(CTX, prepared, out);
}

/** Zeroes a prepared key. */
export function hmacForget(prepared: usize): void {
  memory.fill(prepared, 0, KEY_SIZE);
}

