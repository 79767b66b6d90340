// X25519 (RFC 7748 §5): the Montgomery-ladder scalar multiplication on Curve25519, and the all-zero
// check of §6.1. CPace (draft-irtf-cfrg-cpace-21 §8.2) uses it as G_X25519.scalar_mult and
// scalar_mult_vfy: twice per activation on the token (docs/activation.md). Field arithmetic:
// field25519.ts.
//
// One X25519 costs 1287 multiplications, 1274 squarings and 255 multiplications by a24
// (255 ladder steps of 5 + 4 + 1, then the inversion's 11 + 254 and the final 1).
//
// Constant time: the ladder's conditional swap is a mask, not a branch; no branch and no memory index
// depends on the scalar; the field scratch is zeroed at the end of each call.
import {
  FE, feAdd, feDecode, feEncode, feInvert, feMul, feMulSmall, feSquare, feSub, feSwap, fieldWipe, S0, S1, S2, S3, S4,
  S5, S6, SCALAR,
} from "./field25519";

const X1: usize = S0;
const X2: usize = S1;
const Z2: usize = S2;
const X3: usize = S3;
const Z3: usize = S4;
const T0: usize = S5;
const T1: usize = S6;

/** (A - 2) / 4 for Curve25519's A = 486662 (RFC 7748 §5). */
const A24: i64 = 121665;

// The ladder of RFC 7748 §5 on the u-coordinate already decoded into X1 and the scalar at `scalar`.
function ladder(out: usize, scalar: usize): void {
  // decodeScalar25519: clear the three low bits and bit 255, set bit 254.
  memory.copy(SCALAR, scalar, 32);
  store<u8>(SCALAR, load<u8>(SCALAR) & 248);
  store<u8>(SCALAR, (load<u8>(SCALAR, 31) & 127) | 64, 31);
  memory.fill(X2, 0, FE);
  store<i32>(X2, 1);
  memory.fill(Z2, 0, FE);
  memory.copy(X3, X1, FE);
  memory.fill(Z3, 0, FE);
  store<i32>(Z3, 1);
  let swap: u64 = 0;
  for (let t: i32 = 254; t >= 0; t--) {
    const bit = <u64>((load<u8>(SCALAR + <usize>(t >> 3)) >> <u8>(t & 7)) & 1);
    swap ^= bit;
    feSwap(swap, X2, X3);
    feSwap(swap, Z2, Z3);
    swap = bit;
    feAdd(T0, X2, Z2);        // A
    feSub(Z2, X2, Z2);        // B
    feAdd(X2, X3, Z3);        // C
    feSub(Z3, X3, Z3);        // D
    feMul(X3, Z3, T0);        // DA
    feMul(Z3, X2, Z2);        // CB
    feSquare(T0, T0);         // AA
    feSquare(Z2, Z2);         // BB
    feAdd(T1, X3, Z3);
    feSub(Z3, X3, Z3);
    feSquare(X3, T1);         // x_3 = (DA + CB)^2
    feSquare(Z3, Z3);
    feMul(Z3, Z3, X1);        // z_3 = x_1 * (DA - CB)^2
    feMul(X2, T0, Z2);        // x_2 = AA * BB
    feSub(Z2, T0, Z2);        // E = AA - BB
    feMulSmall(T1, Z2, A24);
    feAdd(T1, T1, T0);
    feMul(Z2, Z2, T1);        // z_2 = E * (AA + a24 * E)
  }
  feSwap(swap, X2, X3);
  feSwap(swap, Z2, Z3);
  feInvert(Z2, Z2);
  feMul(X2, X2, Z2);
  feEncode(out, X2);
  fieldWipe();
}

/**
 * X25519(scalar, u) (RFC 7748 §5): the 32-byte little-endian u-coordinate of scalar * u at `out`.
 * `scalar` and `point` are 32 bytes each; the scalar is clamped and the top bit of u is ignored.
 * `out` may be either input. Called twice per activation on the token (its CPace share and K).
 */
export function x25519(out: usize, scalar: usize, point: usize): void {
  feDecode(X1, point);
  ladder(out, scalar);
}

/** X25519(scalar, 9): the public key of `scalar` (RFC 7748 §6.1). */
export function x25519Base(out: usize, scalar: usize): void {
  memory.fill(X1, 0, FE);
  store<i32>(X1, 9);
  ladder(out, scalar);
}

/**
 * True when the 32 bytes at `secret` are all zero: the shared secret of a low-order peer point, which
 * RFC 7748 §6.1 says to refuse. Reads every byte whatever their values.
 */
export function x25519IsZero(secret: usize): bool {
  const bits = load<u64>(secret) | load<u64>(secret, 8) | load<u64>(secret, 16) | load<u64>(secret, 24);
  // (bits | -bits) has its top bit set exactly when bits != 0.
  return <bool>(((bits | (0 - bits)) >> 63) ^ 1);
}
