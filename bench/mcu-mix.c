/*
 * A QEMU TCG plugin for npm run bench (bench/mcu.ts): the instruction mix of each metered firmware
 * call on the emulated Cortex-M0, its cycle count under the ARM Cortex-M0 Technical Reference Manual's
 * timings (DDI 0432C, §3.3, Table 3-1), and where the instructions went (per translation block, which
 * the bench maps to function names).
 *
 * Debian's QEMU 7.2 ships no plugins, so the bench compiles this one with the host's cc when it can.
 * It declares the few plugin API functions it uses itself (include/qemu/qemu-plugin.h, API version 1)
 * rather than needing QEMU's headers and glib.
 *
 * A window opens when a translation block starts at begin= (nrf_timer_meter_start) and closes at end=
 * (nrf_timer_meter_stop); each closed window is appended to out= as text:
 *   W <instructions> <class counts...> <conditional branches taken> <not taken>
 *   B <block start address> <instructions executed in it>     (one line per block)
 *   E
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb, enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* Instruction classes, in the order the W line prints them. */
enum { ALU, LOAD_STORE, MULTIPLY, LOAD_STORE_MULTIPLE_REGISTERS, BRANCH_CONDITIONAL, BRANCH, BRANCH_LINK, OTHER_32BIT, CLASSES };

typedef struct block {
  uint64_t start;
  uint32_t instructions;
  uint32_t classes[CLASSES];
  uint32_t registers_moved; /* the N of LDM/STM/PUSH/POP, summed */
  uint32_t pops_to_pc;
  uint64_t conditional_at; /* address of a final conditional branch, or 0 */
  uint64_t executed;
  struct block *next_touched;
  int touched;
} block_t;

static uint64_t begin_address, end_address;
static const char *out_path;
static int metering;
static uint64_t counts[CLASSES], registers_moved, pops_to_pc, taken, not_taken, instructions;
static block_t *previous, *touched;

static int popcount8(unsigned v) {
  int n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}

/* Thumb (ARMv6-M) encodings: ARMv6-M Architecture Reference Manual, A5.2. */
static int classify(const uint8_t *bytes, size_t size, block_t *b) {
  uint16_t hw = (uint16_t)(bytes[0] | bytes[1] << 8);
  if (size == 4) return (hw & 0xf800) == 0xf000 && (bytes[3] & 0xd0) == 0xd0 ? BRANCH_LINK : OTHER_32BIT;
  if ((hw & 0xffc0) == 0x4340) return MULTIPLY;                               /* MULS */
  if ((hw & 0xff00) == 0x4700) return BRANCH;                                 /* BX, BLX */
  if ((hw & 0xf800) == 0x4800 || (hw & 0xf000) == 0x5000 || (hw & 0xe000) == 0x6000 || (hw & 0xe000) == 0x8000) return LOAD_STORE;
  if ((hw & 0xf000) == 0xc000 || (hw & 0xf600) == 0xb400) {                   /* LDM/STM, PUSH/POP */
    b->registers_moved += (uint32_t)popcount8(hw & 0xff) + ((hw & 0xf600) == 0xb400 ? (hw >> 8) & 1 : 0);
    if ((hw & 0xff00) == 0xbd00) b->pops_to_pc++;
    return LOAD_STORE_MULTIPLE_REGISTERS;
  }
  if ((hw & 0xf000) == 0xd000 && (hw & 0x0e00) != 0x0e00) return BRANCH_CONDITIONAL;
  if ((hw & 0xf800) == 0xe000) return BRANCH;
  return ALU;
}

static void flush_window(void) {
  FILE *f = fopen(out_path, "a");
  if (!f) return;
  fprintf(f, "W %" PRIu64, instructions);
  for (int c = 0; c < CLASSES; c++) fprintf(f, " %" PRIu64, counts[c]);
  fprintf(f, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", registers_moved, pops_to_pc, taken, not_taken);
  for (block_t *b = touched; b; b = b->next_touched) {
    fprintf(f, "B %" PRIx64 " %" PRIu64 "\n", b->start, b->executed * b->instructions);
    b->executed = 0;
    b->touched = 0;
  }
  fprintf(f, "E\n");
  fclose(f);
  touched = NULL;
  memset(counts, 0, sizeof counts);
  registers_moved = pops_to_pc = taken = not_taken = instructions = 0;
}

static void executed(unsigned int vcpu, void *data) {
  (void)vcpu;
  block_t *b = data;
  if (b->start == begin_address) metering = 1;
  if (b->start == end_address && metering) {
    metering = 0;
    flush_window();
  }
  if (metering) {
    if (previous && previous->conditional_at) {
      if (b->start == previous->conditional_at + 2) not_taken++;
      else taken++;
    }
    for (int c = 0; c < CLASSES; c++) counts[c] += b->classes[c];
    registers_moved += b->registers_moved;
    pops_to_pc += b->pops_to_pc;
    instructions += b->instructions;
    b->executed++;
    if (!b->touched) {
      b->touched = 1;
      b->next_touched = touched;
      touched = b;
    }
  }
  previous = b;
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  block_t *b = calloc(1, sizeof *b);
  if (!b) return;
  size_t n = qemu_plugin_tb_n_insns(tb);
  b->start = qemu_plugin_tb_vaddr(tb);
  b->instructions = (uint32_t)n;
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    int c = classify(qemu_plugin_insn_data(insn), qemu_plugin_insn_size(insn), b);
    b->classes[c]++;
    if (i == n - 1 && c == BRANCH_CONDITIONAL) b->conditional_at = qemu_plugin_insn_vaddr(insn);
  }
  qemu_plugin_register_vcpu_tb_exec_cb(tb, executed, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void finished(qemu_plugin_id_t id, void *data) {
  (void)id;
  (void)data;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  (void)info;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "out=", 4) == 0) out_path = argv[i] + 4;
    else if (strncmp(argv[i], "begin=", 6) == 0) begin_address = strtoull(argv[i] + 6, NULL, 0);
    else if (strncmp(argv[i], "end=", 4) == 0) end_address = strtoull(argv[i] + 4, NULL, 0);
  }
  if (!out_path || !begin_address || !end_address) return -1;
  qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
  qemu_plugin_register_atexit_cb(id, finished, NULL);
  return 0;
}
