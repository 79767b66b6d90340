// HOTP (RFC 4226 §5.3, dynamic truncation §5.4) and TOTP (RFC 6238 §4.2) over a prepared HMAC key.
// Counters and times are unsigned 64-bit: RFC 6238's test times pass 2^32 and HOTP counters may
// use all 64 bits (RFC 4226 §5.1).
import { STATUS_NO_MATCH } from "../abi";
import { hmacCompute } from "../crypto/hmac";
import { MAX_DIGEST } from "../crypto/md";

export const MIN_DIGITS: u32 = 6;
export const MAX_DIGITS: u32 = 8;
export const MIN_PERIOD: u32 = 1;
export const MAX_PERIOD: u32 = 86400;
/** Largest verification window, in steps each way. */
export const MAX_WINDOW: u32 = 1000;

/** 10^n for n = 0..9 (10^10 does not fit: a 10-digit code is the 31-bit value itself, see decimalCode). */
const POW10: usize = memory.data<u32>([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000]);
const COUNTER: usize = memory.data(8);
const MAC: usize = memory.data(<i32>MAX_DIGEST);

export function validDigits(digits: u32): bool {
  return digits >= MIN_DIGITS && digits <= MAX_DIGITS;
}

export function validPeriod(period: u32): bool {
  return period >= MIN_PERIOD && period <= MAX_PERIOD;
}

/**
 * Dynamic truncation (RFC 4226 §5.3) of the `macLen`-byte HMAC at `mac` to `digits` decimal digits
 * (1 to 10), as a number. The 31-bit value is below 10^10, so ten digits keep it whole.
 */
export function decimalCode(mac: usize, macLen: u32, digits: u32): u32 {
  const offset = <usize>(load<u8>(mac + <usize>macLen - 1) & 0xf);
  const binary = bswap<u32>(load<u32>(mac + offset)) & 0x7fffffff;
  if (digits >= 10) return binary;
  return binary % load<u32>(POW10 + (<usize>digits << 2));
}

/** The HOTP value of `counter` under the prepared key: `digits` decimal digits as a number. */
export function hotpValue(prepared: usize, counter: u64, digits: u32): u32 {
  store<u64>(COUNTER, bswap<u64>(counter));
  const n = hmacCompute(prepared, COUNTER, 8, MAC);
  const value = decimalCode(MAC, n, digits);
  memory.fill(MAC, 0, MAX_DIGEST);
  store<u64>(COUNTER, 0);
  return value;
}

/** The TOTP step number T = floor((time - t0) / period) (RFC 6238 §4.2); the caller checks time >= t0. */
// @ts-ignore: decorator
@inline export function totpStep(time: u64, t0: u64, period: u32): u64 {
  return (time - t0) / <u64>period;
}

/**
 * Whole seconds left in the step that contains `time` (period - 1 .. 0): the token's countdown. The
 * bank's manual has the timer count 60 seconds down and the code change "when it reaches 0", so the
 * last second of a step shows 0 and the new code appears with period - 1.
 */
export function stepSecondsLeft(time: u64, t0: u64, period: u32): u32 {
  return period - 1 - <u32>((time - t0) % <u64>period);
}

/** Seconds since the step that contains `time` began (0 .. period - 1): how long its code has shown. */
// @ts-ignore: decorator
@inline export function stepSecondsIn(time: u64, t0: u64, period: u32): u32 {
  return <u32>((time - t0) % <u64>period);
}

/**
 * Checks `code` against the counters `counter - window .. counter + window` (skipping counters
 * below zero). Every candidate is computed and compared without data-dependent branches, so the
 * time taken says nothing about which one matched. The nearest match wins, the earlier on a tie.
 * Returns the matched offset plus `window` (0 .. 2*window), or STATUS_NO_MATCH.
 */
export function hotpVerify(prepared: usize, counter: u64, digits: u32, code: u32, window: u32): i32 {
  let result: i32 = STATUS_NO_MATCH;
  let found: u32 = 0;
  for (let distance: u32 = 0; distance <= window; distance++) {
    for (let side = 0; side < 2; side++) {
      if (distance == 0 && side == 1) break;
      const offset: i64 = side == 0 ? -(<i64>distance) : <i64>distance;
      if (offset < 0 && counter < <u64>distance) continue;
      const candidate = hotpValue(prepared, counter + <u64>offset, digits);
      // equal is 1 when candidate == code, computed without a branch.
      const equal = <u32>((<u64>(candidate ^ code) - 1) >>> 63);
      const take = equal & ~found;
      result = select<i32>(<i32>(offset + <i64>window), result, take != 0);
      found |= equal;
    }
  }
  return result;
}
