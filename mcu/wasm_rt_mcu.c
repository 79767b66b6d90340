/*
 * A bare-metal runtime for wasm2c 1.0.32 output (the contract is wasm-rt.h of that release): no
 * malloc, no mmap, no signals, no setjmp.
 *
 * - Linear memory is one static array of MCU_MEMORY_BYTES: the bytes below the firmware's heap base,
 *   rounded up (scripts/build-mcu.js computes it from token.wasm's staticBytes() and checks every data
 *   segment fits). The module declares one 64 KiB page, initial and maximum; memory.size would report
 *   that page, but the build refuses a module that uses memory.size or memory.grow (it greps the
 *   generated C), so nothing can look beyond the array. mcu/README.md says why this is safe here.
 * - Every load and store is bounds-checked by the generated code against `size` (the signal-handler
 *   scheme needs 64-bit address space and an MMU; on the M0 the checks are explicit). A failed check
 *   is a trap, and every trap goes to the fault path: the board resets, as after hal.fault.
 * - A funcref table of at most MCU_TABLE_ELEMENTS lives in static memory (the debug build declares an
 *   empty one). Nothing calls through it: the build refuses call_indirect.
 * - wasm_rt_grow_memory, table growth and exceptions are not provided: a module that needs them does
 *   not link, which is the intended failure.
 */
#include <stdarg.h>
#include <string.h>

#include "mcu.h"
#include "wasm-rt.h"

#ifndef MCU_MEMORY_BYTES
#error "MCU_MEMORY_BYTES (the firmware's static bytes, rounded up) must be defined by the build"
#endif

static uint8_t linear_memory[MCU_MEMORY_BYTES] __attribute__((aligned(8)));
static bool initialized;

void wasm_rt_init(void) {
  initialized = true;
}

bool wasm_rt_is_initialized(void) {
  return initialized;
}

void wasm_rt_free(void) {
  initialized = false;
}

void wasm_rt_trap(wasm_rt_trap_t trap) {
  mcu_fault(FAULT_TRAP, (uint32_t)trap);
}

/*
 * Equal signatures get equal numbers, as the contract asks: a hash of the signature. The numbers
 * only ever meet in call_indirect type checks; token.wasm has no table (the build checks), so a hash
 * collision could not make a wrong call succeed.
 */
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  uint32_t hash = 2166136261u; /* FNV-1a */
  uint32_t count = params + results;
  va_list types;
  va_start(types, results);
  hash = (hash ^ params) * 16777619u;
  hash = (hash ^ results) * 16777619u;
  for (uint32_t i = 0; i < count; i++) hash = (hash ^ (uint32_t)va_arg(types, int)) * 16777619u;
  va_end(types);
  return hash;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t *memory, uint32_t initial_pages, uint32_t max_pages) {
  memset(linear_memory, 0, sizeof linear_memory);
  memory->data = linear_memory;
  memory->pages = initial_pages;
  memory->max_pages = max_pages;
  memory->size = MCU_MEMORY_BYTES;
}

void wasm_rt_free_memory(wasm_rt_memory_t *memory) {
  memory->data = NULL;
  memory->size = 0;
}

static wasm_rt_funcref_t table_elements[MCU_TABLE_ELEMENTS];

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *table, uint32_t elements, uint32_t max_elements) {
  if (elements > MCU_TABLE_ELEMENTS) mcu_fault(FAULT_TRAP, WASM_RT_TRAP_EXHAUSTION);
  memset(table_elements, 0, sizeof table_elements);
  table->data = table_elements;
  table->size = elements;
  table->max_size = max_elements;
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *table) {
  table->data = NULL;
  table->size = 0;
}

/** The linear memory's bytes, for the HAL's bounds checks. */
uint8_t *mcu_memory(void) {
  return linear_memory;
}
