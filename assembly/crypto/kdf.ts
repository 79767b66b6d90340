// Key derivation for activation (docs/activation.md): HKDF-SHA256 (RFC 5869 §2) turns CPace's session
// key (ISK) into the seed. HMAC is keyed once per step (hmacPrepare) and the prepared key reused.
//
// Static scratch (one prepared key, a 32-byte block and a counter byte, and md.ts's shared hash
// context) is zeroed before the function returns. No allocation.
import { ALG_SHA256 } from "../abi";
import { mdUpdate, SHARED_CTX as CTX } from "./md";
import { hmacCompute, hmacFinish, hmacForget, hmacPrepare, hmacStart, KEY_SIZE } from "./hmac";

/** SHA-256 digest bytes: HMAC's output. */
export const HASH_BYTES: u32 = 32;
/** Most output HKDF can give (RFC 5869 §2.3: L <= 255 * HashLen). */
export const HKDF_MAX_OUTPUT: u32 = 255 * HASH_BYTES;

const KEY: usize = memory.data(<i32>KEY_SIZE);
// T(i), and PRK while the expansion is keyed.
const T: usize = memory.data(<i32>HASH_BYTES);
// The single counter octet of T(i).
const COUNTER: usize = memory.data(1);

function wipe(): void {
  hmacForget(KEY);
  memory.fill(T, 0, HASH_BYTES);
  store<u8>(COUNTER, 0);
}

/**
 * OKM = HKDF-Expand(HKDF-Extract(salt, IKM), info, L = outLen) with SHA-256 (RFC 5869 §2.2, §2.3).
 * An empty salt is the same as HashLen zero bytes (§2.2: the HMAC key is zero-padded either way).
 * 1 <= outLen <= HKDF_MAX_OUTPUT (checked by the caller). `out` may overlap the IKM and the salt, but
 * not the info when outLen > 32. Called once per activation (the seed, from ISK).
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
