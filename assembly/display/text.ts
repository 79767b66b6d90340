// Number formatting into ASCII bytes in caller-given static buffers (no strings are allocated).

/** Most decimal digits of a u32 (4294967295). */
export const MAX_DECIMAL_DIGITS: u32 = 10;

/** Number of decimal digits of `value` (1 for 0). */
export function decimalDigits(value: u32): u32 {
  let digits: u32 = 1;
  for (let rest = value / 10; rest != 0; rest /= 10) digits++;
  return digits;
}

/**
 * Writes `value` in decimal at `dst`, zero-padded to at least `minDigits` (at most 10) digits;
 * returns the number of bytes written.
 */
export function formatDecimal(dst: usize, value: u32, minDigits: u32): u32 {
  const length = max(decimalDigits(value), min(minDigits, MAX_DECIMAL_DIGITS));
  for (let i = length; i > 0; i--) {
    store<u8>(dst + i - 1, 0x30 + value % 10);
    value /= 10;
  }
  return length;
}

/** Writes the low `digits` (at most 8) hex digits of `value`, upper case, at `dst`; returns `digits`. */
export function formatHex(dst: usize, value: u32, digits: u32): u32 {
  digits = min(digits, 8);
  for (let i = digits; i > 0; i--) {
    const nibble = value & 15;
    store<u8>(dst + i - 1, nibble < 10 ? 0x30 + nibble : 0x37 + nibble);
    value >>>= 4;
  }
  return digits;
}

/** Copies `length` ASCII bytes from `src` to `dst`; returns `length` (for appending). */
// @ts-ignore: decorator
@inline export function copyText(dst: usize, src: usize, length: u32): u32 {
  memory.copy(dst, src, length);
  return length;
}
