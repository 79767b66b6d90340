/*
 * CLOCK (nRF51 RM chapter 13), silicon image: the 32.768 kHz crystal oscillator as LFCLK for the
 * RTCs, and no request for the 16 MHz crystal. The CPU runs from the internal 16 MHz RC (HFINT); the
 * clock controller starts it when the CPU wakes and stops it when the CPU sleeps with nothing else
 * asking for a 16 MHz clock (RM §13.1, HFCLK clock controller), so in System ON sleep only the LFCLK
 * and the RTCs run. QEMU 7.2 has no CLOCK model (a stub that reads 1): the emulator images keep time
 * with TIMER0 instead (clock_timer.c) and never call this.
 */
#include "mcu.h"
#include "nrf51.h"

/** Starts LFCLK from the crystal and sleeps until it runs (its start-up takes about 0.3 s). */
void nrf_clock_lfclk_start(void) {
  NRF_REG(NRF51_CLOCK + CLOCK_LFCLKSRC) = CLOCK_LFCLKSRC_XTAL;
  NRF_REG(NRF51_CLOCK + CLOCK_EVENTS_LFCLKSTARTED) = 0;
  NRF_REG(NRF51_CLOCK + CLOCK_INTENSET) = CLOCK_INTEN_LFCLKSTARTED; /* only wakes the CPU: interrupts are masked */
  NRF_REG(NVIC_ISER) = 1u << NRF51_IRQ_OF(NRF51_CLOCK);
  NRF_REG(NRF51_CLOCK + CLOCK_TASKS_LFCLKSTART) = 1;
  while (NRF_REG(NRF51_CLOCK + CLOCK_EVENTS_LFCLKSTARTED) == 0) mcu_sleep();
  NRF_REG(NRF51_CLOCK + CLOCK_EVENTS_LFCLKSTARTED) = 0;
}

/** Releases the 16 MHz crystal in case anything started it: HFCLK falls back to HFINT, off in sleep. */
void nrf_clock_hfclk_release(void) {
  NRF_REG(NRF51_CLOCK + CLOCK_TASKS_HFCLKSTOP) = 1;
}
