// The crypto core as a library module (build/core.wasm): SHA-1/256/512, HMAC, HOTP and TOTP for the
// host, which loads it through host/core.ts. The token firmware (token.ts) is built from the same
// crypto and otp modules.
//
// Data crosses through one static I/O buffer, exported as IO_BUFFER/IO_SIZE; keys live in prepared
// slots (KEY_SLOTS of them, slot 0 is the one-shot scratch) so a resident key costs two compressions
// per code. No export ever allocates; memory is one page and never grows.
import { ABI_VERSION, STATUS_BAD_ALGORITHM, STATUS_BAD_DIGITS, STATUS_BAD_LENGTH, STATUS_BAD_PERIOD, STATUS_BAD_SLOT, STATUS_BAD_TIME, STATUS_OK } from "./abi";
import { compressionCount as countCompressions, CTX_SIZE, isAlgorithm, mdFinal, mdInit, mdUpdate } from "./crypto/md";
import { hmacCompute, hmacFinish, hmacForget, hmacPrepare, hmacStart, KEY_ALG, KEY_SIZE } from "./crypto/hmac";
import { hotpValue, hotpVerify, MAX_WINDOW, totpStep, validDigits, validPeriod } from "./otp/otp";
import { OCRA_MAC, ocraForget, ocraValue } from "./otp/ocra";
import { transactionCode as signTransaction } from "./otp/transaction";

/** Bytes of the I/O buffer the host writes messages and keys into. */
export const IO_SIZE: u32 = 16384;
export const IO_BUFFER: usize = memory.data(<i32>IO_SIZE);
/** Number of prepared-key slots; slot 0 is used by the one-shot functions. */
export const KEY_SLOTS: u32 = 48;

const SLOTS: usize = memory.data(<i32>(KEY_SLOTS * <u32>KEY_SIZE));
const STREAM: usize = memory.data(<i32>CTX_SIZE);
// The slot of the streaming HMAC under way.
let streamKey: u32 = KEY_SLOTS;

// @ts-ignore: decorator
@inline function slotAddress(slot: u32): usize {
  return SLOTS + <usize>slot * KEY_SIZE;
}

/** Called once after instantiation by the host to check it speaks this interface. */
export function abiVersion(): u32 {
  return ABI_VERSION;
}

/** Compression-function calls so far (debug build), or -1 (release builds do not count). */
export function compressionCount(): i32 {
  return countCompressions();
}

/** Starts a streaming hash of `alg`. Called by the host once per digest. */
export function hashInit(alg: u32): i32 {
  if (!isAlgorithm(alg)) return STATUS_BAD_ALGORITHM;
  mdInit(STREAM, alg);
  return STATUS_OK;
}

/** Absorbs the first `len` bytes of the I/O buffer. Called once per chunk of up to IO_SIZE bytes. */
export function hashUpdate(len: u32): i32 {
  if (!isAlgorithm(load<u32>(STREAM))) return STATUS_BAD_ALGORITHM;
  if (len > IO_SIZE) return STATUS_BAD_LENGTH;
  mdUpdate(STREAM, IO_BUFFER, len);
  return STATUS_OK;
}

/** Finishes the streaming hash: the digest is written at the start of the I/O buffer; returns its length. */
export function hashFinal(): i32 {
  if (!isAlgorithm(load<u32>(STREAM))) return STATUS_BAD_ALGORITHM;
  return <i32>mdFinal(STREAM, IO_BUFFER);
}

/** One-shot hash of the first `len` bytes of the I/O buffer; the digest replaces them. */
export function hash(alg: u32, len: u32): i32 {
  const status = hashInit(alg);
  if (status != STATUS_OK) return status;
  if (len > IO_SIZE) return STATUS_BAD_LENGTH;
  mdUpdate(STREAM, IO_BUFFER, len);
  return <i32>mdFinal(STREAM, IO_BUFFER);
}

/**
 * Prepares the key in the first `keyLen` bytes of the I/O buffer into `slot` for `alg`, then zeroes
 * those bytes. Called once per key (createTotp, or each one-shot call with slot 0).
 */
export function keyPrepare(slot: u32, alg: u32, keyLen: u32): i32 {
  if (slot >= KEY_SLOTS) return STATUS_BAD_SLOT;
  if (!isAlgorithm(alg)) return STATUS_BAD_ALGORITHM;
  if (keyLen > IO_SIZE) return STATUS_BAD_LENGTH;
  hmacPrepare(slotAddress(slot), alg, IO_BUFFER, keyLen);
  memory.fill(IO_BUFFER, 0, keyLen);
  return STATUS_OK;
}

/** Zeroes `slot`. Called when a generator is disposed of or collected. */
export function keyForget(slot: u32): i32 {
  if (slot >= KEY_SLOTS) return STATUS_BAD_SLOT;
  hmacForget(slotAddress(slot));
  return STATUS_OK;
}

// @ts-ignore: decorator
@inline function slotReady(slot: u32): bool {
  return slot < KEY_SLOTS && isAlgorithm(load<u32>(slotAddress(slot) + KEY_ALG));
}

/** HMAC of the first `len` bytes of the I/O buffer under `slot`; the MAC replaces them. Returns its length. */
export function mac(slot: u32, len: u32): i32 {
  if (!slotReady(slot)) return STATUS_BAD_SLOT;
  if (len > IO_SIZE) return STATUS_BAD_LENGTH;
  return <i32>hmacCompute(slotAddress(slot), IO_BUFFER, len, IO_BUFFER);
}

/** Starts a streaming HMAC under `slot` (for messages longer than the I/O buffer). */
export function macInit(slot: u32): i32 {
  if (!slotReady(slot)) return STATUS_BAD_SLOT;
  hmacStart(STREAM, slotAddress(slot));
  streamKey = slot;
  return STATUS_OK;
}

/** Absorbs the first `len` bytes of the I/O buffer into the streaming HMAC. */
export function macUpdate(len: u32): i32 {
  return hashUpdate(len);
}

/** Finishes the streaming HMAC: the MAC is written at the start of the I/O buffer; returns its length. */
export function macFinal(): i32 {
  if (!slotReady(streamKey) || !isAlgorithm(load<u32>(STREAM))) return STATUS_BAD_SLOT;
  return <i32>hmacFinish(STREAM, slotAddress(streamKey), IO_BUFFER);
}

function counterOf(timeHigh: u32, timeLow: u32, t0High: u32, t0Low: u32, period: u32): u64 {
  const time = (<u64>timeHigh << 32) | <u64>timeLow;
  const t0 = (<u64>t0High << 32) | <u64>t0Low;
  return totpStep(time, t0, period);
}

function checkTotp(slot: u32, timeHigh: u32, timeLow: u32, t0High: u32, t0Low: u32, period: u32, digits: u32): i32 {
  if (!slotReady(slot)) return STATUS_BAD_SLOT;
  if (!validDigits(digits)) return STATUS_BAD_DIGITS;
  if (!validPeriod(period)) return STATUS_BAD_PERIOD;
  if (((<u64>timeHigh << 32) | <u64>timeLow) < ((<u64>t0High << 32) | <u64>t0Low)) return STATUS_BAD_TIME;
  return STATUS_OK;
}

/**
 * The TOTP code (RFC 6238) at `time` for the key in `slot`, as a number (the host pads it to
 * `digits`), or a negative status. 64-bit values arrive as high and low 32-bit halves. HOTP is the
 * same call with period 1 and t0 0 (the counter is the time). Called once per code.
 */
export function totp(slot: u32, timeHigh: u32, timeLow: u32, t0High: u32, t0Low: u32, period: u32, digits: u32): i32 {
  const status = checkTotp(slot, timeHigh, timeLow, t0High, t0Low, period, digits);
  if (status != STATUS_OK) return status;
  return <i32>hotpValue(slotAddress(slot), counterOf(timeHigh, timeLow, t0High, t0Low, period), digits);
}

/**
 * Verifies `code` at `time` within `window` steps each way, in constant time over the window.
 * Returns the matched step offset plus `window` (0 .. 2*window), STATUS_NO_MATCH, or another negative status.
 */
export function totpVerify(slot: u32, timeHigh: u32, timeLow: u32, t0High: u32, t0Low: u32, period: u32, digits: u32, code: u32, window: u32): i32 {
  const status = checkTotp(slot, timeHigh, timeLow, t0High, t0Low, period, digits);
  if (status != STATUS_OK) return status;
  if (window > MAX_WINDOW) return STATUS_BAD_LENGTH;
  return hotpVerify(slotAddress(slot), counterOf(timeHigh, timeLow, t0High, t0Low, period), digits, code, window);
}

/**
 * OCRA (RFC 6287 §5) under the key in `slot`. The I/O buffer holds, back to back, the suite string
 * (`suiteLen` bytes), the question in binary (`questionLen` <= 128; padded here), the password hash
 * (`passwordLen`, 0 if the suite names no P) and the session information (`sessionLen`, 0 if no S).
 * `fields` holds OCRA_COUNTER / OCRA_TIME (1 / 2) when the suite names C / T; 64-bit values arrive as
 * halves. With `digits` 4 to 10 returns the code as a number; with 0 the whole HMAC replaces the start
 * of the I/O buffer and its length is returned. Called by the host library once per code.
 */
export function ocra(
  slot: u32,
  suiteLen: u32,
  questionLen: u32,
  passwordLen: u32,
  sessionLen: u32,
  fields: u32,
  counterHigh: u32,
  counterLow: u32,
  stepHigh: u32,
  stepLow: u32,
  digits: u32,
): i32 {
  if (!slotReady(slot)) return STATUS_BAD_SLOT;
  if (<u64>suiteLen + <u64>questionLen + <u64>passwordLen + <u64>sessionLen > <u64>IO_SIZE) return STATUS_BAD_LENGTH;
  const question = IO_BUFFER + <usize>suiteLen;
  const password = question + <usize>questionLen;
  const session = password + <usize>passwordLen;
  const value = ocraValue(
    slotAddress(slot),
    IO_BUFFER,
    suiteLen,
    fields,
    (<u64>counterHigh << 32) | <u64>counterLow,
    question,
    questionLen,
    password,
    passwordLen,
    session,
    sessionLen,
    (<u64>stepHigh << 32) | <u64>stepLow,
    digits,
  );
  if (digits == 0 && value > 0) {
    memory.copy(IO_BUFFER, OCRA_MAC, <usize>value);
    ocraForget();
  }
  return value;
}

/**
 * The code of a transfer (docs/transaction-signing.md): the I/O buffer holds the profile's seed
 * (`seedLen` bytes) then the canonical transfer (`txLen`). The same function the token runs on a
 * confirming hold; the bank calls it through the host library to verify. Zeroes the seed.
 */
export function transactionCode(seedLen: u32, txLen: u32): i32 {
  if (<u64>seedLen + <u64>txLen > <u64>IO_SIZE) return STATUS_BAD_LENGTH;
  // Slot 0 is the one-shot scratch: every one-shot call prepares it afresh.
  const code = signTransaction(IO_BUFFER, seedLen, IO_BUFFER + <usize>seedLen, txLen, slotAddress(0));
  memory.fill(IO_BUFFER, 0, seedLen);
  return code;
}
