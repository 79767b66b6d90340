/*
 * The silicon image's tick counter (clock.c's counter): RTC1 on the 32.768 kHz crystal, PRESCALER 0,
 * so a tick is 1/32,768 s and the 24-bit COUNTER wraps every 512 s (nRF51 RM chapter 19). The count
 * is extended to 64 bits in software: every sleep ends within half a wrap (COMPARE[0] is armed at most
 * 2^23 ticks ahead), so each read sees the counter less than one wrap after the last and a smaller
 * count means exactly one wrap. A sleep of any length is a chain of such sleeps (a 48-day one is
 * 16,200 of them; test/nrf51-model/ runs it). HFCLK is never requested (nrf_clock.c): asleep, only the
 * LFCLK crystal and the RTCs run.
 *
 * The manual's compare caveat: with COUNTER at N, a CC of N or N + 1 may not fire. The compare is
 * armed at least RTC_COMPARE_MARGIN ticks ahead and the counter is read again after arming; if it has
 * come within the margin, the CPU does not sleep (the deadline is at most 61 µs away).
 */
#include "mcu.h"
#include "nrf51.h"

#define CLOCK_RTC NRF51_RTC1
#define CLOCK_COMPARE 0u
#define WRAP ((uint64_t)RTC_COUNTER_MASK + 1u)
#define SLEEP_LIMIT (RTC_COUNTER_MASK / 2u + 1u)

static uint64_t offset; /* ticks64 = offset + high + COUNTER */
static uint64_t high;   /* the wraps seen so far, times 2^24 */
static uint32_t last_count;

void clock_counter_start(uint64_t ticks) {
  nrf_clock_lfclk_start();
  nrf_clock_hfclk_release();
  offset = ticks;
  high = 0;
  last_count = 0;
  nrf_rtc_start(CLOCK_RTC, 0);
}

uint64_t clock_ticks(void) {
  uint32_t count = nrf_rtc_counter(CLOCK_RTC);
  if (count < last_count) high += WRAP;
  last_count = count;
  return offset + high + count;
}

void clock_sleep_until(uint64_t deadline) {
  uint64_t now = clock_ticks();
  if (deadline <= now) return;
  uint64_t wait = deadline - now;
  if (wait > SLEEP_LIMIT) wait = SLEEP_LIMIT;
  if (wait < RTC_COMPARE_MARGIN) wait = RTC_COMPARE_MARGIN;
  uint32_t target = (last_count + (uint32_t)wait) & RTC_COUNTER_MASK;
  nrf_rtc_compare_arm(CLOCK_RTC, CLOCK_COMPARE, target, true, false);
  uint32_t left = (target - nrf_rtc_counter(CLOCK_RTC)) & RTC_COUNTER_MASK;
  if (left < RTC_COMPARE_MARGIN || left > wait) return; /* too close to be sure it fires, or passed */
  if (nrf_uart_readable()) return;
  mcu_sleep();
  nrf_rtc_compare_clear(CLOCK_RTC, CLOCK_COMPARE);
}
