// Key derivation for activation (docs/activation.md): PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) turns the
// activation password into K_AC, and HKDF-SHA256 (RFC 5869 §2) turns the X25519 shared secret into
// the seed. Both key HMAC once (hmacPrepare) and then reuse the prepared key, so a PBKDF2 iteration
// costs exactly two compressions: the inner and outer hash of one 32-byte block.
//
// Static scratch (one prepared key, one hash context, two 32-byte blocks and a 4-byte counter) is
// zeroed before each function returns. No allocation.
import { ALG_SHA256 } from "../abi";
import { CTX_SIZE, mdUpdate } from "./md";
import { hmacCompute, hmacFinish, hmacForget, hmacPrepare, hmacStart, KEY_SIZE } from "./hmac";

/** SHA-256 digest bytes: the PRF output of both. */
export const HASH_BYTES: u32 = 32;
/** Most output HKDF can give (RFC 5869 §2.3: L <= 255 * HashLen). */
export const HKDF_MAX_OUTPUT: u32 = 255 * HASH_BYTES;

const KEY: usize = memory.data(<i32>KEY_SIZE);
const CTX: usize = memory.data(<i32>CTX_SIZE);
// PBKDF2's U_j and T_i; HKDF's T(i).
const U: usize = memory.data(<i32>HASH_BYTES);
const T: usize = memory.data(<i32>HASH_BYTES);
// PBKDF2's INT(i), big-endian; HKDF's single counter octet is its first byte.
const COUNTER: usize = memory.data(4);

function wipe(): void {
  hmacForget(KEY);
  memory.fill(U, 0, HASH_BYTES);
  memory.fill(T, 0, HASH_BYTES);
  memory.fill(COUNTER, 0, 4);
}

/**
 * DK = PBKDF2(P = password, S = salt, c = iterations, dkLen = outLen) with PRF HMAC-SHA256
 * (RFC 8018 §5.2). `iterations` >= 1 and `outLen` >= 1 (checked by the caller). `out` may overlap the
 * password, but not the salt when outLen > 32 (the salt is read again for every block).
 * Cost: 2 compressions to key the PRF (more for a password over 64 bytes), then 2 per iteration per
 * block, plus 1 per block for a salt over 51 bytes. Called once per activation (K_AC).
 */
export function pbkdf2Sha256(out: usize, outLen: usize, password: usize, passwordLen: usize, salt: usize, saltLen: usize, iterations: u32): void {
  hmacPrepare(KEY, ALG_SHA256, password, passwordLen);
  for (let block: u32 = 1; outLen > 0; block++) {
    store<u32>(COUNTER, bswap<u32>(block));
    // U_1 = PRF(P, S || INT(i))
    hmacStart(CTX, KEY);
    mdUpdate(CTX, salt, saltLen);
    mdUpdate(CTX, COUNTER, 4);
    hmacFinish(CTX, KEY, U);
    memory.copy(T, U, HASH_BYTES);
    // U_j = PRF(P, U_{j-1}); T_i = U_1 ^ ... ^ U_c
    for (let j: u32 = 1; j < iterations; j++) {
      hmacCompute(KEY, U, HASH_BYTES, U);
      for (let i: usize = 0; i < HASH_BYTES; i += 8) store<u64>(T + i, load<u64>(T + i) ^ load<u64>(U + i));
    }
    const take = min(outLen, <usize>HASH_BYTES);
    memory.copy(out, T, take);
    out += take;
    outLen -= take;
  }
  wipe();
}

/**
 * OKM = HKDF-Expand(HKDF-Extract(salt, IKM), info, L = outLen) with SHA-256 (RFC 5869 §2.2, §2.3).
 * An empty salt is the same as HashLen zero bytes (§2.2: the HMAC key is zero-padded either way).
 * 1 <= outLen <= HKDF_MAX_OUTPUT (checked by the caller). `out` may overlap the IKM and the salt, but
 * not the info when outLen > 32. Called once per activation (the seed).
 */
export function hkdfSha256(out: usize, outLen: usize, ikm: usize, ikmLen: usize, salt: usize, saltLen: usize, info: usize, infoLen: usize): void {
  // Extract: PRK = HMAC-Hash(salt, IKM), kept in T only long enough to key the expansion.
  hmacPrepare(KEY, ALG_SHA256, salt, saltLen);
  hmacCompute(KEY, ikm, ikmLen, T);
  hmacPrepare(KEY, ALG_SHA256, T, HASH_BYTES);
  // Expand: T(i) = HMAC-Hash(PRK, T(i-1) | info | i), T(0) empty.
  let previous: usize = 0;
  for (let block: u8 = 1; outLen > 0; block++) {
    store<u8>(COUNTER, block);
    hmacStart(CTX, KEY);
    mdUpdate(CTX, T, previous);
    mdUpdate(CTX, info, infoLen);
    mdUpdate(CTX, COUNTER, 1);
    hmacFinish(CTX, KEY, T);
    previous = HASH_BYTES;
    const take = min(outLen, <usize>HASH_BYTES);
    memory.copy(out, T, take);
    out += take;
    outLen -= take;
  }
  wipe();
}
