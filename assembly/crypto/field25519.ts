// Arithmetic in the field of Curve25519, GF(p) with p = 2^255 - 19 (RFC 7748 §4.1, §5), shared by the
// X25519 ladder (x25519.ts) and the Elligator 2 map (elligator2.ts).
//
// Field elements are ten signed limbs in radix 2^25.5 (limb i holds bits from ceil(25.5 i),
// alternately 26 and 25 bits wide), stored as i32 and multiplied as i64: WebAssembly has no
// 64x64->128 multiply, and 26-bit limbs keep every column sum of a product below 2^61. A reduced
// element has limbs 0..9 within their widths, except that limb 1 may be off by up to 2^16 either way;
// a sum or difference of two reduced elements is a valid multiplication input without carrying.
// Multiplication and squaring are written out (100 and 55 products; the terms follow
// h_k = sum over i+j = k mod 10 of f_i g_j, times 2 when i and j are both odd, times 19 when
// i+j >= 10, as in ref10): on a token's wasm interpreter the loop overhead would cost more than the
// products.
//
// Constant time: no branch and no memory index depends on a field value; the conditional swap is a
// mask; inversion and the Legendre symbol are fixed exponentiations.
//
// Static scratch (312 bytes): a 32-byte scalar, then seven field elements of 40 bytes, S0..S6. Only
// one of X25519 and Elligator 2 runs at a time; each zeroes the whole region before it returns
// (fieldWipe). The exponentiations use S3..S6.

export const FE: usize = 40;
const SCRATCH_SIZE: usize = 32 + 7 * FE;
const SCRATCH: usize = memory.data(<i32>SCRATCH_SIZE);
/** 32 bytes for a clamped scalar (the ladder). */
export const SCALAR: usize = SCRATCH;
export const S0: usize = SCRATCH + 32;
export const S1: usize = S0 + FE;
export const S2: usize = S1 + FE;
export const S3: usize = S2 + FE;
export const S4: usize = S3 + FE;
export const S5: usize = S4 + FE;
export const S6: usize = S5 + FE;

/** Zeroes the scratch: it held secret scalars and field values. */
export function fieldWipe(): void {
  memory.fill(SCRATCH, 0, SCRATCH_SIZE);
}

const MASK26: i64 = 0x3ffffff;
const MASK25: i64 = 0x1ffffff;

// Carries the ten column sums of a product into a reduced element at `out` (2^255 = 19 mod p).
function carryStore(out: usize, h0: i64, h1: i64, h2: i64, h3: i64, h4: i64, h5: i64, h6: i64, h7: i64, h8: i64, h9: i64): void {
  h1 += h0 >> 26; h0 &= MASK26;
  h2 += h1 >> 25; h1 &= MASK25;
  h3 += h2 >> 26; h2 &= MASK26;
  h4 += h3 >> 25; h3 &= MASK25;
  h5 += h4 >> 26; h4 &= MASK26;
  h6 += h5 >> 25; h5 &= MASK25;
  h7 += h6 >> 26; h6 &= MASK26;
  h8 += h7 >> 25; h7 &= MASK25;
  h9 += h8 >> 26; h8 &= MASK26;
  h0 += (h9 >> 25) * 19; h9 &= MASK25;
  h1 += h0 >> 26; h0 &= MASK26;
  store<i32>(out, <i32>h0, 0);
  store<i32>(out, <i32>h1, 4);
  store<i32>(out, <i32>h2, 8);
  store<i32>(out, <i32>h3, 12);
  store<i32>(out, <i32>h4, 16);
  store<i32>(out, <i32>h5, 20);
  store<i32>(out, <i32>h6, 24);
  store<i32>(out, <i32>h7, 28);
  store<i32>(out, <i32>h8, 32);
  store<i32>(out, <i32>h9, 36);
}

/** out = f * g. Any of the three may be the same element. */
export function feMul(out: usize, f: usize, g: usize): void {
  const f0 = <i64>load<i32>(f, 0), f1 = <i64>load<i32>(f, 4), f2 = <i64>load<i32>(f, 8), f3 = <i64>load<i32>(f, 12);
  const f4 = <i64>load<i32>(f, 16), f5 = <i64>load<i32>(f, 20), f6 = <i64>load<i32>(f, 24), f7 = <i64>load<i32>(f, 28);
  const f8 = <i64>load<i32>(f, 32), f9 = <i64>load<i32>(f, 36);
  const g0 = <i64>load<i32>(g, 0), g1 = <i64>load<i32>(g, 4), g2 = <i64>load<i32>(g, 8), g3 = <i64>load<i32>(g, 12);
  const g4 = <i64>load<i32>(g, 16), g5 = <i64>load<i32>(g, 20), g6 = <i64>load<i32>(g, 24), g7 = <i64>load<i32>(g, 28);
  const g8 = <i64>load<i32>(g, 32), g9 = <i64>load<i32>(g, 36);
  const g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4, g5_19 = 19 * g5;
  const g6_19 = 19 * g6, g7_19 = 19 * g7, g8_19 = 19 * g8, g9_19 = 19 * g9;
  const f1_2 = 2 * f1, f3_2 = 2 * f3, f5_2 = 2 * f5, f7_2 = 2 * f7, f9_2 = 2 * f9;
  const h0 = f0 * g0 + f1_2 * g9_19 + f2 * g8_19 + f3_2 * g7_19 + f4 * g6_19 + f5_2 * g5_19 + f6 * g4_19 + f7_2 * g3_19 + f8 * g2_19 + f9_2 * g1_19;
  const h1 = f0 * g1 + f1 * g0 + f2 * g9_19 + f3 * g8_19 + f4 * g7_19 + f5 * g6_19 + f6 * g5_19 + f7 * g4_19 + f8 * g3_19 + f9 * g2_19;
  const h2 = f0 * g2 + f1_2 * g1 + f2 * g0 + f3_2 * g9_19 + f4 * g8_19 + f5_2 * g7_19 + f6 * g6_19 + f7_2 * g5_19 + f8 * g4_19 + f9_2 * g3_19;
  const h3 = f0 * g3 + f1 * g2 + f2 * g1 + f3 * g0 + f4 * g9_19 + f5 * g8_19 + f6 * g7_19 + f7 * g6_19 + f8 * g5_19 + f9 * g4_19;
  const h4 = f0 * g4 + f1_2 * g3 + f2 * g2 + f3_2 * g1 + f4 * g0 + f5_2 * g9_19 + f6 * g8_19 + f7_2 * g7_19 + f8 * g6_19 + f9_2 * g5_19;
  const h5 = f0 * g5 + f1 * g4 + f2 * g3 + f3 * g2 + f4 * g1 + f5 * g0 + f6 * g9_19 + f7 * g8_19 + f8 * g7_19 + f9 * g6_19;
  const h6 = f0 * g6 + f1_2 * g5 + f2 * g4 + f3_2 * g3 + f4 * g2 + f5_2 * g1 + f6 * g0 + f7_2 * g9_19 + f8 * g8_19 + f9_2 * g7_19;
  const h7 = f0 * g7 + f1 * g6 + f2 * g5 + f3 * g4 + f4 * g3 + f5 * g2 + f6 * g1 + f7 * g0 + f8 * g9_19 + f9 * g8_19;
  const h8 = f0 * g8 + f1_2 * g7 + f2 * g6 + f3_2 * g5 + f4 * g4 + f5_2 * g3 + f6 * g2 + f7_2 * g1 + f8 * g0 + f9_2 * g9_19;
  const h9 = f0 * g9 + f1 * g8 + f2 * g7 + f3 * g6 + f4 * g5 + f5 * g4 + f6 * g3 + f7 * g2 + f8 * g1 + f9 * g0;
  carryStore(out, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
}

/** out = f^2 (55 products instead of 100). */
export function feSquare(out: usize, f: usize): void {
  const f0 = <i64>load<i32>(f, 0), f1 = <i64>load<i32>(f, 4), f2 = <i64>load<i32>(f, 8), f3 = <i64>load<i32>(f, 12);
  const f4 = <i64>load<i32>(f, 16), f5 = <i64>load<i32>(f, 20), f6 = <i64>load<i32>(f, 24), f7 = <i64>load<i32>(f, 28);
  const f8 = <i64>load<i32>(f, 32), f9 = <i64>load<i32>(f, 36);
  const f0_2 = 2 * f0;
  const f1_2 = 2 * f1;
  const f2_2 = 2 * f2;
  const f3_2 = 2 * f3;
  const f4_2 = 2 * f4;
  const f5_2 = 2 * f5;
  const f7_2 = 2 * f7;
  const f6_19 = 19 * f6;
  const f8_19 = 19 * f8;
  const f5_38 = 38 * f5;
  const f6_38 = 38 * f6;
  const f7_38 = 38 * f7;
  const f8_38 = 38 * f8;
  const f9_38 = 38 * f9;
  const h0 = f0 * f0 + f1_2 * f9_38 + f2 * f8_38 + f3_2 * f7_38 + f4 * f6_38 + f5 * f5_38;
  const h1 = f0_2 * f1 + f2 * f9_38 + f3 * f8_38 + f4 * f7_38 + f5 * f6_38;
  const h2 = f0_2 * f2 + f1_2 * f1 + f3_2 * f9_38 + f4 * f8_38 + f5_2 * f7_38 + f6 * f6_19;
  const h3 = f0_2 * f3 + f1_2 * f2 + f4 * f9_38 + f5 * f8_38 + f6 * f7_38;
  const h4 = f0_2 * f4 + f1_2 * f3_2 + f2 * f2 + f5_2 * f9_38 + f6 * f8_38 + f7 * f7_38;
  const h5 = f0_2 * f5 + f1_2 * f4 + f2_2 * f3 + f6 * f9_38 + f7 * f8_38;
  const h6 = f0_2 * f6 + f1_2 * f5_2 + f2_2 * f4 + f3_2 * f3 + f7_2 * f9_38 + f8 * f8_19;
  const h7 = f0_2 * f7 + f1_2 * f6 + f2_2 * f5 + f3_2 * f4 + f8 * f9_38;
  const h8 = f0_2 * f8 + f1_2 * f7_2 + f2_2 * f6 + f3_2 * f5_2 + f4 * f4 + f9 * f9_38;
  const h9 = f0_2 * f9 + f1_2 * f8 + f2_2 * f7 + f3_2 * f6 + f4_2 * f5;
  carryStore(out, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
}

/** out = f * c for a small constant |c| < 2^20 (ten products), reduced. */
export function feMulSmall(out: usize, f: usize, c: i64): void {
  carryStore(out,
    <i64>load<i32>(f, 0) * c, <i64>load<i32>(f, 4) * c, <i64>load<i32>(f, 8) * c, <i64>load<i32>(f, 12) * c,
    <i64>load<i32>(f, 16) * c, <i64>load<i32>(f, 20) * c, <i64>load<i32>(f, 24) * c, <i64>load<i32>(f, 28) * c,
    <i64>load<i32>(f, 32) * c, <i64>load<i32>(f, 36) * c);
}

// Sums and differences are written out like the products: a loop would cost more than the limbs.

/** out = f + g, limb by limb (no carry: the result only feeds a multiplication). */
export function feAdd(out: usize, f: usize, g: usize): void {
  store<i32>(out, load<i32>(f, 0) + load<i32>(g, 0), 0);
  store<i32>(out, load<i32>(f, 4) + load<i32>(g, 4), 4);
  store<i32>(out, load<i32>(f, 8) + load<i32>(g, 8), 8);
  store<i32>(out, load<i32>(f, 12) + load<i32>(g, 12), 12);
  store<i32>(out, load<i32>(f, 16) + load<i32>(g, 16), 16);
  store<i32>(out, load<i32>(f, 20) + load<i32>(g, 20), 20);
  store<i32>(out, load<i32>(f, 24) + load<i32>(g, 24), 24);
  store<i32>(out, load<i32>(f, 28) + load<i32>(g, 28), 28);
  store<i32>(out, load<i32>(f, 32) + load<i32>(g, 32), 32);
  store<i32>(out, load<i32>(f, 36) + load<i32>(g, 36), 36);
}

/** out = f - g, limb by limb (no carry: the result only feeds a multiplication). */
export function feSub(out: usize, f: usize, g: usize): void {
  store<i32>(out, load<i32>(f, 0) - load<i32>(g, 0), 0);
  store<i32>(out, load<i32>(f, 4) - load<i32>(g, 4), 4);
  store<i32>(out, load<i32>(f, 8) - load<i32>(g, 8), 8);
  store<i32>(out, load<i32>(f, 12) - load<i32>(g, 12), 12);
  store<i32>(out, load<i32>(f, 16) - load<i32>(g, 16), 16);
  store<i32>(out, load<i32>(f, 20) - load<i32>(g, 20), 20);
  store<i32>(out, load<i32>(f, 24) - load<i32>(g, 24), 24);
  store<i32>(out, load<i32>(f, 28) - load<i32>(g, 28), 28);
  store<i32>(out, load<i32>(f, 32) - load<i32>(g, 32), 32);
  store<i32>(out, load<i32>(f, 36) - load<i32>(g, 36), 36);
}

/** out = f^(2^n), n >= 1. */
export function feSquareTimes(out: usize, f: usize, n: i32): void {
  feSquare(out, f);
  for (let i = 1; i < n; i++) feSquare(out, out);
}

/**
 * z^(2^250 - 1) into S6 and z^11 into S5: the common head of both exponentiations below, ref10's
 * addition chain (249 squarings, 10 multiplications). Uses S3..S6; `z` must be none of them.
 */
function fePow250(z: usize): void {
  const t0 = S5, t1 = S6, t2 = S3, t3 = S4;
  feSquare(t0, z);                 // z^2
  feSquareTimes(t1, t0, 2);        // z^8
  feMul(t1, z, t1);                // z^9
  feMul(t0, t0, t1);               // z^11
  feSquare(t2, t0);                // z^22
  feMul(t1, t1, t2);               // z^(2^5 - 1)
  feSquareTimes(t2, t1, 5);
  feMul(t1, t2, t1);               // z^(2^10 - 1)
  feSquareTimes(t2, t1, 10);
  feMul(t2, t2, t1);               // z^(2^20 - 1)
  feSquareTimes(t3, t2, 20);
  feMul(t2, t3, t2);               // z^(2^40 - 1)
  feSquareTimes(t2, t2, 10);
  feMul(t1, t2, t1);               // z^(2^50 - 1)
  feSquareTimes(t2, t1, 50);
  feMul(t2, t2, t1);               // z^(2^100 - 1)
  feSquareTimes(t3, t2, 100);
  feMul(t2, t3, t2);               // z^(2^200 - 1)
  feSquareTimes(t2, t2, 50);
  feMul(t1, t2, t1);               // z^(2^250 - 1)
}

/**
 * out = z^(p-2) = z^(2^255 - 21), which is 1/z for z != 0 and 0 for z = 0 (RFC 7748 §5; RFC 9380
 * §4 inv0): 254 squarings and 11 multiplications. Uses S3..S6; `z` must be none of them, `out` may be z.
 */
export function feInvert(out: usize, z: usize): void {
  fePow250(z);
  feSquareTimes(S6, S6, 5);        // z^(2^255 - 32)
  feMul(out, S6, S5);              // z^(2^255 - 21)
}

/**
 * out = z^((p-1)/2) = z^(2^254 - 10), the Legendre symbol of z: 1 for a non-zero square, p - 1 for a
 * non-square, 0 for zero (Euler's criterion; RFC 9380 §4 is_square). 254 squarings, 12
 * multiplications. Uses S3..S6 and `cube` (another element); `z` must be none of them, `out` may be z.
 */
export function feLegendre(out: usize, z: usize, cube: usize): void {
  feSquare(cube, z);
  feMul(cube, cube, z);            // z^3
  fePow250(z);
  feSquareTimes(S6, S6, 3);        // z^(2^253 - 8)
  feMul(S6, S6, cube);             // z^(2^253 - 5)
  feSquare(out, S6);               // z^(2^254 - 10)
}

// @ts-ignore: decorator
@inline function limbBits(i: usize): u32 {
  return 26 - <u32>(i & 1);
}

// Bit position of limb i: ceil(25.5 i).
// @ts-ignore: decorator
@inline function limbPosition(i: usize): u32 {
  return 26 * <u32>((i + 1) >> 1) + 25 * <u32>(i >> 1);
}

/**
 * Decodes a u-coordinate (RFC 7748 §5, decodeUCoordinate): 32 little-endian bytes with the top bit
 * masked off. A non-canonical value (p .. 2^255 - 1) is accepted as is and reduces in the arithmetic.
 */
export function feDecode(out: usize, bytes: usize): void {
  for (let i: usize = 0; i < 10; i++) {
    const position = limbPosition(i);
    // Every limb lies within one unaligned 4-byte load (shift + width <= 32); limb 9 stops at bit 254.
    const word = load<u32>(bytes + <usize>(position >> 3)) >> (position & 7);
    store<i32>(out + (i << 2), <i32>(word & ((1 << limbBits(i)) - 1)));
  }
}

// One carry pass over the limbs at `f` (all non-negative), folding the top carry back as 19 when `wrap`.
function feCarry(f: usize, wrap: bool): void {
  for (let i: usize = 0; i < 10; i++) {
    const bits = limbBits(i);
    const limb = load<i32>(f + (i << 2));
    const carry = limb >> bits;
    store<i32>(f + (i << 2), limb & ((1 << bits) - 1));
    if (i < 9) store<i32>(f + ((i + 1) << 2), load<i32>(f + ((i + 1) << 2)) + carry);
    else if (wrap) store<i32>(f, load<i32>(f) + carry * 19);
  }
}

/** Writes the canonical 32-byte little-endian encoding of `f` (RFC 7748 §5, encodeUCoordinate). Clobbers `f`. */
export function feEncode(out: usize, f: usize): void {
  // Add 2p so that every limb is non-negative, then carry twice: the value is now below 2^255 + 19.
  for (let i: usize = 0; i < 10; i++) {
    const twoP: i32 = i == 0 ? (1 << 27) - 38 : (1 << (limbBits(i) + 1)) - 2;
    store<i32>(f + (i << 2), load<i32>(f + (i << 2)) + twoP);
  }
  feCarry(f, true);
  feCarry(f, true);
  // q = 1 exactly when value + 19 >= 2^255, i.e. value >= p; then subtract p by adding 19 and
  // dropping bit 255.
  let q: i32 = 19;
  for (let i: usize = 0; i < 10; i++) q = (load<i32>(f + (i << 2)) + q) >> limbBits(i);
  store<i32>(f, load<i32>(f) + 19 * q);
  feCarry(f, false);
  let buffer: u64 = 0;
  let buffered: u32 = 0;
  for (let i: usize = 0; i < 10; i++) {
    buffer |= <u64>load<u32>(f + (i << 2)) << buffered;
    buffered += limbBits(i);
    while (buffered >= 8) {
      store<u8>(out++, <u8>buffer);
      buffer >>= 8;
      buffered -= 8;
    }
  }
  // The last 7 bits (255 = 31 * 8 + 7); bit 255 is zero.
  store<u8>(out, <u8>buffer);
}

// Swaps the elements at a and b when swap is 1, leaves them when 0, with the same instructions either way.
export function feSwap(swap: u64, a: usize, b: usize): void {
  const mask = 0 - swap;
  let x: u64;
  x = mask & (load<u64>(a, 0) ^ load<u64>(b, 0));
  store<u64>(a, load<u64>(a, 0) ^ x, 0);
  store<u64>(b, load<u64>(b, 0) ^ x, 0);
  x = mask & (load<u64>(a, 8) ^ load<u64>(b, 8));
  store<u64>(a, load<u64>(a, 8) ^ x, 8);
  store<u64>(b, load<u64>(b, 8) ^ x, 8);
  x = mask & (load<u64>(a, 16) ^ load<u64>(b, 16));
  store<u64>(a, load<u64>(a, 16) ^ x, 16);
  store<u64>(b, load<u64>(b, 16) ^ x, 16);
  x = mask & (load<u64>(a, 24) ^ load<u64>(b, 24));
  store<u64>(a, load<u64>(a, 24) ^ x, 24);
  store<u64>(b, load<u64>(b, 24) ^ x, 24);
  x = mask & (load<u64>(a, 32) ^ load<u64>(b, 32));
  store<u64>(a, load<u64>(a, 32) ^ x, 32);
  store<u64>(b, load<u64>(b, 32) ^ x, 32);
}

