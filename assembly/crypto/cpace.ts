// CPace with the cipher suite CPACE-X25519-SHA512 (draft-irtf-cfrg-cpace-21, §5, §7, §8.1-8.2, and the
// explicit key confirmation of §10.4): the generator from the password, the intermediate session key
// ISK of the initiator-responder setting, and the key and the tags of the confirmation. X25519 itself is
// x25519.ts; the caller samples the scalar (32 random bytes, §8.2) and refuses K = 0 (G.I, §7.2).
//
// Every octet string this token hashes is shorter than 128 bytes, so prepend_len (LEB128, Appendix
// A.1.1) is a single length byte; callers check that. The hash context (md.ts's shared one) and the
// digest are static scratch, zeroed before each function returns, with the SHA-512 message schedule.
import { ALG_SHA512 } from "../abi";
import { elligator2 } from "./elligator2";
import { hmacFinish, hmacStart } from "./hmac";
import { mdFinal, mdInit, mdUpdate, mdWipe, SHARED_CTX as CTX } from "./md";

/** Longest string a one-byte prepend_len can carry. */
export const MAX_STRING: u32 = 127;
/** SHA-512's input block (H.s_in_bytes) and output (H.b_in_bytes). */
const BLOCK: u32 = 128;
export const ISK_BYTES: u32 = 64;
export const MAC_KEY_BYTES: u32 = 64;

const DIGEST: usize = memory.data(64);
const LENGTH: usize = memory.data(1);
const ZEROS: usize = memory.data(16);

// G_X25519.DSI = "CPace255" (§8.2), its "_ISK" form (§7.2) and "CPaceMac" (§10.4).
const DSI: usize = memory.data<u8>([0x43, 0x50, 0x61, 0x63, 0x65, 0x32, 0x35, 0x35]);
const DSI_BYTES: u32 = 8;
const DSI_ISK: usize = memory.data<u8>([0x43, 0x50, 0x61, 0x63, 0x65, 0x32, 0x35, 0x35, 0x5f, 0x49, 0x53, 0x4b]);
const DSI_ISK_BYTES: u32 = 12;
const MAC_LABEL: usize = memory.data<u8>([0x43, 0x50, 0x61, 0x63, 0x65, 0x4d, 0x61, 0x63]);
const MAC_LABEL_BYTES: u32 = 8;

/** prepend_len(data) into the hash (Appendix A.1.1), for len <= MAX_STRING. */
function absorbLv(data: usize, len: u32): void {
  store<u8>(LENGTH, <u8>len);
  mdUpdate(CTX, LENGTH, 1);
  mdUpdate(CTX, data, len);
}

function finish(out: usize, len: u32): void {
  mdFinal(CTX, DIGEST);
  mdWipe(ALG_SHA512);
  memory.copy(out, DIGEST, len);
  memory.fill(DIGEST, 0, 64);
  store<u8>(LENGTH, 0);
}

/**
 * G_X25519.calculate_generator(SHA-512, PRS, CI, sid) (§8.2): the 32-byte u-coordinate g =
 * map_to_curve_elligator2(decodeUCoordinate(SHA-512(generator_string)[0..32])), where generator_string
 * = lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid) (§8.1, Appendix A.2). Every length <= MAX_STRING.
 * g is as secret as the password: whoever learns it can test guesses offline. Called once per activation.
 */
export function cpaceGenerator(out: usize, prs: usize, prsLen: u32, ci: usize, ciLen: u32, sid: usize, sidLen: u32): void {
  mdInit(CTX, ALG_SHA512);
  absorbLv(DSI, DSI_BYTES);
  absorbLv(prs, prsLen);
  // len_zpad = max(0, s_in_bytes - 1 - len(prepend_len(PRS)) - len(prepend_len(DSI))): DSI, PRS and
  // the padding fill the first block, so its hash does not depend on the password's length.
  const used: u32 = (1 + prsLen) + (1 + DSI_BYTES) + 1;
  let zpad: u32 = used < BLOCK ? BLOCK - used : 0;
  store<u8>(LENGTH, <u8>zpad);
  mdUpdate(CTX, LENGTH, 1);
  while (zpad > 0) {
    const take = min(zpad, 16);
    mdUpdate(CTX, ZEROS, take);
    zpad -= take;
  }
  absorbLv(ci, ciLen);
  absorbLv(sid, sidLen);
  finish(out, 32);
  // decodeUCoordinate (bit 255 ignored) is elligator2's input decoding.
  elligator2(out, out);
}

/**
 * ISK = SHA-512(lv_cat(DSI || "_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb)) (§7.2, Appendix A.3.4),
 * with transcript_ir = lv_cat(Ya, ADa) || lv_cat(Yb, ADb); Ya, Yb and K are 32 bytes. 64 bytes at `out`.
 */
export function cpaceIsk(out: usize, sid: usize, sidLen: u32, k: usize, ya: usize, ada: usize, adaLen: u32, yb: usize, adb: usize, adbLen: u32): void {
  mdInit(CTX, ALG_SHA512);
  absorbLv(DSI_ISK, DSI_ISK_BYTES);
  absorbLv(sid, sidLen);
  absorbLv(k, 32);
  absorbLv(ya, 32);
  absorbLv(ada, adaLen);
  absorbLv(yb, 32);
  absorbLv(adb, adbLen);
  finish(out, ISK_BYTES);
}

/** mac_key = SHA-512("CPaceMac" || sid || ISK) (§10.4): 64 bytes at `out`. */
export function cpaceMacKey(out: usize, sid: usize, sidLen: u32, isk: usize): void {
  mdInit(CTX, ALG_SHA512);
  mdUpdate(CTX, MAC_LABEL, MAC_LABEL_BYTES);
  mdUpdate(CTX, sid, sidLen);
  mdUpdate(CTX, isk, ISK_BYTES);
  finish(out, MAC_KEY_BYTES);
}

/**
 * A confirmation tag, HMAC-SHA-512(mac_key, lv_cat(Y, AD)) (§10.4: each side's tag covers the message it
 * sent), with the key prepared by hmacPrepare(prepared, ALG_SHA512, mac_key, 64) and Y of 32 bytes.
 * 64 bytes at `out`.
 */
export function cpaceTag(out: usize, prepared: usize, y: usize, ad: usize, adLen: u32): void {
  hmacStart(CTX, prepared);
  absorbLv(y, 32);
  absorbLv(ad, adLen);
  hmacFinish(CTX, prepared, out);
  store<u8>(LENGTH, 0);
}
