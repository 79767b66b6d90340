// Power-on self-test: known answers for HMAC-SHA-1/256/512 (RFC 2202 §3 and RFC 4231 §4.3, test
// case 2) and for the code generator (RFC 6238 Appendix B, T = 59, 8 digits). A token that fails
// shows the error screen and never a code.
import { ALG_SHA1, ALG_SHA256, ALG_SHA512 } from "../abi";
import { hmacCompute, hmacForget, hmacPrepare } from "../crypto/hmac";
import { MAX_DIGEST } from "../crypto/md";
import { hotpValue } from "../otp/otp";

// "Jefe" then "what do ya want for nothing?"
const KEY_AND_DATA: usize = memory.data<u8>([
  0x4a, 0x65, 0x66, 0x65,
  0x77, 0x68, 0x61, 0x74, 0x20, 0x64, 0x6f, 0x20, 0x79, 0x61, 0x20, 0x77, 0x61, 0x6e, 0x74, 0x20,
  0x66, 0x6f, 0x72, 0x20, 0x6e, 0x6f, 0x74, 0x68, 0x69, 0x6e, 0x67, 0x3f,
]);
// HMAC-SHA-1, -SHA-256, -SHA-512 of the above, concatenated.
const EXPECTED_MACS: usize = memory.data<u8>([
  0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74, 0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79,
  0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
  0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
  0x16, 0x4b, 0x7a, 0x7b, 0xfc, 0xf8, 0x19, 0xe2, 0xe3, 0x95, 0xfb, 0xe7, 0x3b, 0x56, 0xe0, 0xa3,
  0x87, 0xbd, 0x64, 0x22, 0x2e, 0x83, 0x1f, 0xd6, 0x10, 0x27, 0x0c, 0xd7, 0xea, 0x25, 0x05, 0x54,
  0x97, 0x58, 0xbf, 0x75, 0xc0, 0x5a, 0x99, 0x4a, 0x6d, 0x03, 0x4f, 0x65, 0xf8, 0xf0, 0xe6, 0xfd,
  0xca, 0xea, 0xb1, 0xa3, 0x4d, 0x4a, 0x6b, 0x4b, 0x63, 0x6e, 0x07, 0x0a, 0x38, 0xbc, 0xe7, 0x37,
]);
// RFC 6238 Appendix B at T = 59 (step 1 of 30 s), 8 digits, for SHA-1, SHA-256, SHA-512.
const EXPECTED_CODES: usize = memory.data<u32>([94287082, 46119246, 90693936]);

const SEED: usize = memory.data(64);
const MAC: usize = memory.data(<i32>MAX_DIGEST);

/** Error codes shown on the self-test screen: which check failed. */
export const SELF_TEST_HMAC: u32 = 1;
export const SELF_TEST_CODE: u32 = 2;

/** Runs the known-answer tests using `scratchKey` (a prepared-key region). Returns 0 or the failed check. */
export function selfTest(scratchKey: usize): u32 {
  let failed: u32 = 0;
  let expected = EXPECTED_MACS;
  for (let alg = ALG_SHA1; alg <= ALG_SHA512; alg++) {
    hmacPrepare(scratchKey, alg, KEY_AND_DATA, 4);
    const n = hmacCompute(scratchKey, KEY_AND_DATA + 4, 28, MAC);
    if (memory.compare(MAC, expected, n) != 0) failed = SELF_TEST_HMAC;
    expected += n;
    // The RFC 6238 seeds: "1234567890" repeated to the hash's output size.
    const seedLength: usize = alg == ALG_SHA1 ? 20 : alg == ALG_SHA256 ? 32 : 64;
    for (let i: usize = 0; i < seedLength; i++) store<u8>(SEED + i, <u8>(0x30 + (i + 1) % 10));
    hmacPrepare(scratchKey, alg, SEED, seedLength);
    if (failed == 0 && hotpValue(scratchKey, 1, 8) != load<u32>(EXPECTED_CODES + ((<usize>alg - 1) << 2))) failed = SELF_TEST_CODE;
  }
  hmacForget(scratchKey);
  memory.fill(MAC, 0, MAX_DIGEST);
  memory.fill(SEED, 0, 64);
  return failed;
}

// @ts-ignore: compile-time check of the algorithm numbering the loops above rely on
assert(ALG_SHA256 == ALG_SHA1 + 1 && ALG_SHA512 == ALG_SHA256 + 1);
