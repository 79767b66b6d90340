// Elligator 2 for Curve25519: RFC 9380 §6.7.1 map_to_curve_elligator2 with the curve25519 constants
// of §6.7.1 and Appendix G.2.1 (J = 486662, K = 1, Z = 2), returning the Montgomery u-coordinate only,
// which is all CPace needs (draft-irtf-cfrg-cpace-21 §8.2: "the v coordinate ... is discarded").
//
//   1. x1 = -(J / K) * inv0(1 + Z * u^2)   (1 + 2u^2 is never 0: -1/2 is not a square mod p)
//   3. gx1 = x1^3 + (J / K) * x1^2 + x1 / K^2
//   4. x2 = -x1 - (J / K)
//   6-7. x = x1 if is_square(gx1), else x2
//
// The straightforward form costs one inversion and one Legendre symbol (two fixed exponentiations of
// about 265 field operations each, a fifth of one X25519); the projective form of Appendix G.2.1 saves
// the inversion but then the affine u for the ladder needs it anyway. Constant time: both
// exponentiations always run and x is chosen with a masked swap.
import { FE, feAdd, feDecode, feEncode, feInvert, feLegendre, feMul, feMulSmall, feSquare, feSwap, fieldWipe, S0, S1, S2 } from "./field25519";

/** Curve25519's Montgomery coefficient A (RFC 7748 §4.1), J in RFC 9380. */
const J: i64 = 486662;

// p - 1, little-endian: the Legendre symbol of a non-square.
const P_MINUS_ONE: usize = memory.data<u8>([
  0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
]);

/**
 * Writes the u-coordinate (32 bytes, little-endian, canonical) of map_to_curve_elligator2(u) to `out`,
 * where u is the field element at `input` decoded as RFC 7748 decodeUCoordinate does (32 bytes
 * little-endian, bit 255 ignored, values p .. 2^255 - 1 taken mod p). `out` may be `input`.
 * Called once per activation (the CPace generator).
 */
export function elligator2(out: usize, input: usize): void {
  const u = S0, x1 = S2;
  feDecode(u, input);
  feSquare(S1, u);
  feMulSmall(S1, S1, 2);
  store<i32>(S1, load<i32>(S1) + 1);                  // 1 + Z u^2
  feInvert(x1, S1);
  feMulSmall(x1, x1, -J);                             // x1 = -J / (1 + Z u^2)
  feSquare(S1, x1);
  feMulSmall(u, x1, J);
  feAdd(S1, S1, u);
  store<i32>(S1, load<i32>(S1) + 1);                  // x1^2 + J x1 + 1
  feMul(S1, S1, x1);                                  // gx1
  feLegendre(S1, S1, u);
  feEncode(out, S1);
  let difference: u64 = 0;
  for (let i: usize = 0; i < 32; i += 8) difference |= load<u64>(out + i) ^ load<u64>(P_MINUS_ONE + i);
  // 1 exactly when gx1 is not a square.
  const nonSquare = ((difference | (0 - difference)) >> 63) ^ 1;
  memory.copy(u, x1, FE);
  store<i32>(u, load<i32>(u) + <i32>J);
  feMulSmall(u, u, -1);                               // x2 = -x1 - J
  feSwap(nonSquare, x1, u);
  feEncode(out, x1);
  fieldWipe();
}
