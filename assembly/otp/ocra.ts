// OCRA, the OATH Challenge-Response Algorithm (RFC 6287 §5), over a prepared HMAC key.
//
// OCRA(K, DataInput) = HOTP-style truncation of HMAC(K, DataInput), where (§5.1)
//   DataInput = OCRASuite | 0x00 | C | Q | P | S | T
// C is an 8-byte big-endian counter, Q the question padded with zeroes on the right to 128 bytes,
// P the hash of a password, S session information, T an 8-byte big-endian count of time steps.
// Which of C, P, S and T are present is the suite's business: the caller parsed the suite (the host
// library with readable errors, the token from its one fixed suite) and passes each field's length
// (0: absent) and flags for C and T. The question arrives in its binary form (§5.1: the caller
// converts QN decimals and QH hex digits; QA characters are their bytes).
import { OCRA_COUNTER, OCRA_MAX_DIGITS, OCRA_MAX_SESSION, OCRA_MIN_DIGITS, OCRA_QUESTION_BYTES, OCRA_TIME, STATUS_BAD_DIGITS, STATUS_BAD_LENGTH } from "../abi";
import { hmacAbsorb, hmacBegin, hmacEnd } from "../crypto/hmac";
import { MAX_DIGEST } from "../crypto/md";
import { decimalCode } from "./otp";


// One 8-byte field (the delimiter, C, T and the zero padding of Q pass through it). Zeroed after use.
const FIELD: usize = memory.data(8);
/** The HMAC of the last ocraMac, read by ocraValue and the core's full-MAC export. */
export const OCRA_MAC: usize = memory.data(<i32>MAX_DIGEST);

/** OCRA accepts `digits`: 0 or 4 to 10 (RFC 6287 §6.2). */
export function ocraValidDigits(digits: u32): bool {
  return digits == 0 || (digits >= OCRA_MIN_DIGITS && digits <= OCRA_MAX_DIGITS);
}

/** OCRA accepts these lengths: a question of at most 128 bytes, session information of at most 999. */
export function ocraValidLengths(questionLen: u32, sessionLen: u32): bool {
  return questionLen <= OCRA_QUESTION_BYTES && sessionLen <= OCRA_MAX_SESSION;
}

function absorbU64(value: u64): void {
  store<u64>(FIELD, bswap<u64>(value));
  hmacAbsorb(FIELD, 8);
}

/**
 * HMAC(K, DataInput) into OCRA_MAC; returns its length. `fields` holds OCRA_COUNTER and OCRA_TIME for
 * the C and T the suite names; lengths of 0 leave P and S out. The caller has checked the lengths.
 */
export function ocraMac(
  prepared: usize,
  suite: usize,
  suiteLen: u32,
  fields: u32,
  counter: u64,
  question: usize,
  questionLen: u32,
  password: usize,
  passwordLen: u32,
  session: usize,
  sessionLen: u32,
  timeStep: u64,
): u32 {
  hmacBegin(prepared);
  hmacAbsorb(suite, suiteLen);
  store<u64>(FIELD, 0);
  hmacAbsorb(FIELD, 1);
  if (fields & OCRA_COUNTER) absorbU64(counter);
  hmacAbsorb(question, questionLen);
  store<u64>(FIELD, 0);
  for (let padding = OCRA_QUESTION_BYTES - questionLen; padding > 0; ) {
    const chunk = padding < 8 ? padding : 8;
    hmacAbsorb(FIELD, chunk);
    padding -= chunk;
  }
  hmacAbsorb(password, passwordLen);
  hmacAbsorb(session, sessionLen);
  if (fields & OCRA_TIME) absorbU64(timeStep);
  store<u64>(FIELD, 0);
  return hmacEnd(prepared, OCRA_MAC);
}

/**
 * The OCRA code as a number of `digits` (4 to 10) digits, or with digits 0 the length of the whole HMAC
 * left in OCRA_MAC; or STATUS_BAD_DIGITS / STATUS_BAD_LENGTH. Zeroes OCRA_MAC unless digits is 0.
 */
export function ocraValue(
  prepared: usize,
  suite: usize,
  suiteLen: u32,
  fields: u32,
  counter: u64,
  question: usize,
  questionLen: u32,
  password: usize,
  passwordLen: u32,
  session: usize,
  sessionLen: u32,
  timeStep: u64,
  digits: u32,
): i32 {
  if (!ocraValidDigits(digits)) return STATUS_BAD_DIGITS;
  if (!ocraValidLengths(questionLen, sessionLen) || passwordLen > MAX_DIGEST) return STATUS_BAD_LENGTH;
  const n = ocraMac(prepared, suite, suiteLen, fields, counter, question, questionLen, password, passwordLen, session, sessionLen, timeStep);
  if (digits == 0) return <i32>n;
  const value = decimalCode(OCRA_MAC, n, digits);
  memory.fill(OCRA_MAC, 0, MAX_DIGEST);
  return <i32>value;
}

/** Zeroes the MAC a digits-0 ocraValue left behind (after the caller copied it out). */
export function ocraForget(): void {
  memory.fill(OCRA_MAC, 0, MAX_DIGEST);
}
