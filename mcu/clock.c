/*
 * The token's battery-backed RTC as the firmware sees it through hal.rtcNow/hal.rtcSet: whole
 * seconds since the Unix epoch, or -1 while it has never been set. Underneath, a 64-bit count of
 * CLOCK_HZ ticks made from TIMER0's 32-bit counter (nrf_timer.c); every sleep is cut to half the
 * counter's wrap period, so no wrap goes unseen.
 *
 * Setting the time restarts the divider chain, as on the board simulator's RTC (host/board/rtc.ts):
 * the next second ticks a full second after the set.
 *
 * The fault path resets the CPU but not the RTC: the tick count and the time base are kept in the
 * retained (.noinit) block and picked up again after the reset (mcu_retained, main.c).
 *
 * Harness images pace the clock from the test host: it is frozen except while the host lets time
 * pass (FRAME_ADVANCE), so a test sees exactly the virtual time it asked for, as with SimToken.
 */
#include "mcu.h"
#include "nrf51.h"

#define HALF_WRAP 0x80000000u

static uint64_t offset;   /* ticks64 = offset + high + the hardware count */
static uint64_t high;     /* the wraps of the 32-bit counter seen so far, times 2^32 */
static uint32_t last_count;
static bool frozen;
static uint64_t frozen_at;
static int64_t base_seconds;
static uint64_t base_ticks;
static bool valid;

void clock_init(void) {
  nrf_timer_init();
  if (mcu_retained.magic == MCU_RETAINED_MAGIC) {
    offset = mcu_retained.ticks;
    base_seconds = mcu_retained.base_seconds;
    base_ticks = mcu_retained.base_ticks;
    valid = mcu_retained.rtc_valid != 0;
  }
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

bool clock_valid(void) {
  return valid;
}

int64_t clock_seconds(void) {
  if (!valid) return -1;
  return base_seconds + (int64_t)((clock_ticks() - base_ticks) / CLOCK_HZ);
}

void clock_set_seconds(int64_t seconds) {
  if (seconds < 0) return;
  base_seconds = seconds;
  base_ticks = clock_ticks();
  valid = true;
}

uint64_t clock_ticks_at(int64_t seconds) {
  if (!valid) return UINT64_MAX;
  if (seconds <= base_seconds) return base_ticks;
  uint64_t elapsed = (uint64_t)(seconds - base_seconds);
  if (elapsed > (UINT64_MAX - base_ticks) / CLOCK_HZ) return UINT64_MAX;
  return base_ticks + elapsed * CLOCK_HZ;
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

/* The state the fault path keeps across the CPU reset. */
void clock_retain(void) {
  mcu_retained.ticks = clock_ticks();
  mcu_retained.base_seconds = base_seconds;
  mcu_retained.base_ticks = base_ticks;
  mcu_retained.rtc_valid = valid ? 1u : 0u;
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
