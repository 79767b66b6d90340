/*
 * The emulator images' tick counter (clock.c's counter): TIMER0 at 16 MHz / 2^9 = 31,250 Hz in 32-bit
 * mode (nrf_timer.c), extended to 64 bits; every sleep is cut to half the counter's wrap period, so no
 * wrap goes unseen. QEMU 7.2 has no RTC; on an nRF51 a running TIMER keeps the 16 MHz clock on (some
 * hundreds of µA), which is why the silicon image counts with RTC1 instead (clock_rtc.c).
 *
 * Harness images pace the clock from the test host: it is frozen except while the host lets time
 * pass (FRAME_ADVANCE), so a test sees exactly the virtual time it asked for, as with SimToken.
 */
#include "mcu.h"
#include "nrf51.h"

#define HALF_WRAP 0x80000000u

static uint64_t offset; /* ticks64 = offset + high + the hardware count */
static uint64_t high;   /* the wraps of the 32-bit counter seen so far, times 2^32 */
static uint32_t last_count;
static bool frozen;
static uint64_t frozen_at;

void clock_counter_start(uint64_t ticks) {
  nrf_timer_init();
  offset = ticks;
#ifdef MCU_HARNESS
  frozen = true;
  frozen_at = offset;
#else
  nrf_timer_clock_start();
#endif
}

uint64_t clock_ticks(void) {
  if (frozen) return frozen_at;
  uint32_t count = nrf_timer_clock_count();
  if (count < last_count) high += (uint64_t)1 << 32;
  last_count = count;
  return offset + high + count;
}

bool clock_frozen(void) {
  return frozen;
}

/* Stops the clock reading exactly `at` (the host's fence), whatever instant the CPU noticed it. */
void clock_freeze(uint64_t at) {
  if (frozen) return;
  nrf_timer_clock_stop();
  /* The counter restarts from zero at the thaw: the count so far lives in `offset`. */
  offset = at;
  high = 0;
  last_count = 0;
  frozen = true;
  frozen_at = at;
}

void clock_thaw(void) {
  if (!frozen) return;
  frozen = false;
  nrf_timer_clock_start();
}

void clock_sleep_until(uint64_t deadline) {
  if (!frozen) {
    uint64_t now = clock_ticks();
    if (deadline <= now) return;
    uint64_t wait = deadline - now;
    if (wait > HALF_WRAP) wait = HALF_WRAP;
    nrf_timer_clock_compare(last_count + (uint32_t)wait);
    /* A compare that matched before the CC write armed nothing: look again before sleeping. */
    if (clock_ticks() >= now + wait) return;
  }
  if (nrf_uart_readable()) return;
  mcu_sleep();
  nrf_timer_clock_compare_clear();
}
