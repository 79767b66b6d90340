/*
 * The token's battery-backed RTC as the firmware sees it through hal.rtcNow/hal.rtcSet: whole
 * seconds since the Unix epoch, or -1 while it has never been set, on top of a 64-bit count of
 * CLOCK_HZ ticks kept by the image's counter: RTC1 on the 32.768 kHz crystal on the silicon image
 * (clock_rtc.c), TIMER0 on the emulator images, since QEMU 7.2 has no RTC (clock_timer.c).
 *
 * Setting the time restarts the divider chain, as on the board simulator's RTC (host/board/rtc.ts):
 * the next second ticks a full second after the set.
 *
 * The fault path resets the CPU but not the RTC: the tick count and the time base are kept in the
 * retained (.noinit) block and picked up again after the reset (mcu_retained, main.c).
 */
#include "mcu.h"

static int64_t base_seconds;
static uint64_t base_ticks;
static bool valid;

void clock_init(void) {
  uint64_t ticks = 0;
  if (mcu_retained.magic == MCU_RETAINED_MAGIC) {
    ticks = mcu_retained.ticks;
    base_seconds = mcu_retained.base_seconds;
    base_ticks = mcu_retained.base_ticks;
    valid = mcu_retained.rtc_valid != 0;
  }
  clock_counter_start(ticks);
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

/* The state the fault path keeps across the CPU reset. */
void clock_retain(void) {
  mcu_retained.ticks = clock_ticks();
  mcu_retained.base_seconds = base_seconds;
  mcu_retained.base_ticks = base_ticks;
  mcu_retained.rtc_valid = valid ? 1u : 0u;
}
