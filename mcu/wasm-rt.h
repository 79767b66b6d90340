/*
 * The wasm2c runtime contract as the generated code includes it: wasm-rt.h of wabt 1.0.32, unchanged
 * (scripts/build-mcu.js copies the installed one to build/mcu/wasm-rt-wabt.h), plus one definition
 * for the Cortex-M0.
 *
 * Every wasm load and store in the generated code copies through wasm_rt_memcpy, which wabt defines as
 * __builtin_memcpy. ARMv6-M has no unaligned loads (ARMv6-M ARM A3.2), so GCC cannot turn a copy from
 * an address of unknown alignment into one LDR: it calls memcpy, and that call was 44% of all the
 * instructions of an activation. Here a copy of 2, 4 or 8 bytes takes one (or two) aligned word
 * accesses when the address is aligned (AssemblyScript aligns its data), bytes otherwise. The bounds
 * check in front of every access is the generated code's and stays.
 */
#ifndef MCU_WASM_RT_H
#define MCU_WASM_RT_H

#include <stdint.h>
#include <string.h>

#include "wasm-rt-wabt.h"

typedef uint16_t __attribute__((may_alias, aligned(2))) mcu_u16_alias;
typedef uint32_t __attribute__((may_alias, aligned(4))) mcu_u32_alias;

static inline __attribute__((always_inline)) void *mcu_memcpy(void *to, const void *from, size_t n) {
  uintptr_t alignment = (uintptr_t)to | (uintptr_t)from;
  uint8_t *t = (uint8_t *)to;
  const uint8_t *f = (const uint8_t *)from;
  if (__builtin_constant_p(n)) {
    if (n == 1) {
      t[0] = f[0];
      return to;
    }
    if (n == 2 && LIKELY((alignment & 1) == 0)) {
      *(mcu_u16_alias *)t = *(const mcu_u16_alias *)f;
      return to;
    }
    if ((n == 4 || n == 8) && LIKELY((alignment & 3) == 0)) {
      ((mcu_u32_alias *)t)[0] = ((const mcu_u32_alias *)f)[0];
      if (n == 8) ((mcu_u32_alias *)t)[1] = ((const mcu_u32_alias *)f)[1];
      return to;
    }
    if (n <= 8) {
      for (size_t i = 0; i < n; i++) t[i] = f[i];
      return to;
    }
  }
  return memcpy(to, from, n);
}

#undef wasm_rt_memcpy
#define wasm_rt_memcpy mcu_memcpy

#endif
