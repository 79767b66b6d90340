/*
 * RTC0 and RTC1 (nRF51 RM chapter 19): a 24-bit COUNTER on LFCLK, fRTC = 32,768 Hz / (PRESCALER + 1).
 * PRESCALER can only be written while the RTC is stopped. A COMPARE[n] event fires when COUNTER equals
 * CC[n]; the manual warns that with COUNTER at N a CC written as N or N + 1 may not fire (Compare
 * feature), so callers arm at least RTC_COMPARE_MARGIN ticks ahead. An event reaches the PPI only when
 * enabled in EVTEN, and wakes the CPU only when enabled in INTEN (Event control feature).
 * Silicon image only: QEMU 7.2 has no RTC (hw/arm/nrf51_soc.c leaves it unimplemented).
 */
#include "mcu.h"
#include "nrf51.h"

void nrf_rtc_start(uint32_t rtc, uint32_t prescaler) {
  NRF_REG(rtc + RTC_TASKS_STOP) = 1;
  NRF_REG(rtc + RTC_TASKS_CLEAR) = 1;
  NRF_REG(rtc + RTC_PRESCALER) = prescaler;
  NRF_REG(rtc + RTC_TASKS_START) = 1;
}

void nrf_rtc_stop(uint32_t rtc) {
  NRF_REG(rtc + RTC_TASKS_STOP) = 1;
  NRF_REG(rtc + RTC_TASKS_CLEAR) = 1;
}

uint32_t nrf_rtc_counter(uint32_t rtc) {
  return NRF_REG(rtc + RTC_COUNTER) & RTC_COUNTER_MASK;
}

/** Arms COMPARE[channel] at `count` (24 bits), routed to the CPU's wake-up and/or the PPI. */
void nrf_rtc_compare_arm(uint32_t rtc, uint32_t channel, uint32_t count, bool wake, bool ppi) {
  NRF_REG(rtc + RTC_EVENTS_COMPARE(channel)) = 0;
  NRF_REG(rtc + RTC_CC(channel)) = count & RTC_COUNTER_MASK;
  if (wake) {
    NRF_REG(rtc + RTC_INTENSET) = RTC_BIT_COMPARE(channel);
    NRF_REG(NVIC_ISER) = 1u << NRF51_IRQ_OF(rtc);
  }
  if (ppi) NRF_REG(rtc + RTC_EVTENSET) = RTC_BIT_COMPARE(channel);
}

bool nrf_rtc_compare_fired(uint32_t rtc, uint32_t channel) {
  return NRF_REG(rtc + RTC_EVENTS_COMPARE(channel)) != 0;
}

void nrf_rtc_compare_clear(uint32_t rtc, uint32_t channel) {
  NRF_REG(rtc + RTC_EVENTS_COMPARE(channel)) = 0;
}

/** Stops COMPARE[channel] from waking the CPU or reaching the PPI. */
void nrf_rtc_compare_disarm(uint32_t rtc, uint32_t channel) {
  NRF_REG(rtc + RTC_INTENCLR) = RTC_BIT_COMPARE(channel);
  NRF_REG(rtc + RTC_EVTENCLR) = RTC_BIT_COMPARE(channel);
  NRF_REG(rtc + RTC_EVENTS_COMPARE(channel)) = 0;
}
