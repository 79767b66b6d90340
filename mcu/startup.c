/*
 * Reset and fault vectors of the Cortex-M0 (ARMv6-M Architecture Reference Manual, B1.5.2: the vector
 * table; the nRF51 adds 32 peripheral interrupts, never taken here since interrupts stay masked).
 *
 * The stack sits at the bottom of RAM, below .data and .bss (nrf51822.ld): an overflow runs into
 * unmapped memory and faults instead of silently overwriting the firmware's memory (on the nRF51 the
 * fault during stacking is a LOCKUP, which resets the chip; QEMU 7.2 halts the CPU instead). Reset
 * paints the stack so its deepest use can be read back (mcu_stack_high_water).
 */
#include <string.h>

#include "mcu.h"

#define STACK_PAINT 0xa5a5a5a5u

extern uint32_t __stack_bottom[], __stack_top[];
extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern int main(void);

MCU_NORETURN void reset_handler(void);
void hard_fault_handler(void);
void unexpected_handler(void);

void reset_handler(void) {
  __asm volatile("cpsid i" ::: "memory");
  /* Paint from the bottom of the stack up to a little below where this function's frame lives. */
  uint32_t *sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  for (uint32_t *word = __stack_bottom; word < sp - 16; word++) *word = STACK_PAINT;
  memcpy(__data_start, __data_load, (size_t)((uintptr_t)__data_end - (uintptr_t)__data_start));
  memset(__bss_start, 0, (size_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start));
  main();
  mcu_fault(FAULT_HARDFAULT, 0);
}

/* The faulting pc is the 7th word the core pushed on entry (ARMv6-M ARM B1.5.6). */
__attribute__((naked)) void hard_fault_handler(void) {
  __asm volatile(
      "mov r0, sp\n"
      "ldr r1, [r0, #24]\n"
      "movs r0, %0\n"
      "bl mcu_fault\n" ::"i"(FAULT_HARDFAULT));
}

void unexpected_handler(void) {
  mcu_fault(FAULT_HARDFAULT, 0xffffffffu);
}

uint32_t mcu_stack_bytes(void) {
  return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)__stack_bottom);
}

/** Bytes of stack used at the deepest point since reset: the painted words that were overwritten. */
uint32_t mcu_stack_high_water(void) {
  const uint32_t *word = __stack_bottom;
  while (word < __stack_top && *word == STACK_PAINT) word++;
  return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)word);
}

typedef void (*vector_t)(void);

__attribute__((section(".vectors"), used)) const vector_t vectors[16 + 32] = {
    (vector_t)__stack_top,
    reset_handler,
    unexpected_handler, /* NMI */
    hard_fault_handler,
    [4 ... 47] = unexpected_handler,
};
