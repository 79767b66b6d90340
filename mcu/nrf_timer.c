/*
 * TIMER0 and TIMER1 (nRF51 RM chapter 18), emulator images. TIMER0 counts the token's clock at
 * 16 MHz / 2^9 = 31,250 Hz in 32-bit mode (clock_timer.c extends it to 64 bits). The silicon image
 * counts with RTC1 on the 32.768 kHz crystal instead (clock_rtc.c): a running TIMER keeps the 16 MHz
 * clock on; QEMU 7.2 models no RTC (hw/arm/nrf51_soc.c instantiates TIMER0-2 and leaves the RTCs
 * unimplemented).
 *
 * TIMER1 is the instruction meter of the harness image: it runs at 16 MHz only while a firmware entry
 * point runs. Under `qemu -icount shift=N`, virtual time advances 2^N ns per guest instruction, so its
 * count converts exactly to instructions (host/mcu/meter.ts).
 *
 * QEMU's model only updates its counter on CAPTURE, CC writes and compare events, and TASKS_STOP does
 * not update it: every read is a CAPTURE, and a stop is preceded by one. Its TASKS_START on a stopped
 * timer that holds a count adds that count a second time at the next update (hw/timer/nrf51_timer.c:
 * START sets the update base to "now minus the count" while the count is kept): so a timer is only
 * ever started from zero (CLEAR first), and the software keeps what it had counted.
 */
#include "mcu.h"
#include "nrf51.h"

#define CLOCK_COMPARE 0u
#define CLOCK_CAPTURE 3u
#define METER_CAPTURE 0u

static void timer_setup(uint32_t base, uint32_t prescaler) {
  NRF_REG(base + TIMER_TASKS_STOP) = 1;
  NRF_REG(base + TIMER_MODE) = TIMER_MODE_TIMER;
  NRF_REG(base + TIMER_BITMODE) = TIMER_BITMODE_32;
  NRF_REG(base + TIMER_PRESCALER) = prescaler;
  NRF_REG(base + TIMER_TASKS_CLEAR) = 1;
}

static uint32_t timer_capture(uint32_t base, uint32_t channel) {
  NRF_REG(base + TIMER_TASKS_CAPTURE(channel)) = 1;
  return NRF_REG(base + TIMER_CC(channel));
}

void nrf_timer_clock_start(void) {
  NRF_REG(NRF51_TIMER0 + TIMER_TASKS_CLEAR) = 1;
  NRF_REG(NRF51_TIMER0 + TIMER_TASKS_START) = 1;
}

uint32_t nrf_timer_clock_stop(void) {
  uint32_t count = timer_capture(NRF51_TIMER0, CLOCK_CAPTURE);
  NRF_REG(NRF51_TIMER0 + TIMER_TASKS_STOP) = 1;
  return count;
}

uint32_t nrf_timer_clock_count(void) {
  return timer_capture(NRF51_TIMER0, CLOCK_CAPTURE);
}

void nrf_timer_clock_compare(uint32_t count) {
  NRF_REG(NRF51_TIMER0 + TIMER_EVENTS_COMPARE(CLOCK_COMPARE)) = 0;
  NRF_REG(NRF51_TIMER0 + TIMER_CC(CLOCK_COMPARE)) = count;
  NRF_REG(NRF51_TIMER0 + TIMER_INTENSET) = TIMER_INTEN_COMPARE(CLOCK_COMPARE);
}

void nrf_timer_clock_compare_clear(void) {
  NRF_REG(NRF51_TIMER0 + TIMER_EVENTS_COMPARE(CLOCK_COMPARE)) = 0;
}

void nrf_timer_init(void) {
  timer_setup(NRF51_TIMER0, CLOCK_PRESCALER);
  timer_setup(NRF51_TIMER1, 0);
  NRF_REG(NVIC_ISER) = 1u << NRF51_IRQ_OF(NRF51_TIMER0);
}

static bool meter_running;
static uint32_t meter_counted; /* ticks of the meter's earlier runs since nrf_timer_meter_start */

static void meter_run(void) {
  NRF_REG(NRF51_TIMER1 + TIMER_TASKS_CLEAR) = 1;
  NRF_REG(NRF51_TIMER1 + TIMER_TASKS_START) = 1;
}

static uint32_t meter_halt(void) {
  uint32_t ticks = timer_capture(NRF51_TIMER1, METER_CAPTURE);
  NRF_REG(NRF51_TIMER1 + TIMER_TASKS_STOP) = 1;
  return ticks;
}

void nrf_timer_meter_start(void) {
  NRF_REG(NRF51_TIMER1 + TIMER_TASKS_STOP) = 1;
  meter_counted = 0;
  meter_running = true;
  meter_run();
}

/** The meter's count so far, without stopping it. */
uint32_t nrf_timer_meter_read(void) {
  return meter_counted + (meter_running ? timer_capture(NRF51_TIMER1, METER_CAPTURE) : 0u);
}

uint32_t nrf_timer_meter_stop(void) {
  meter_running = false;
  return meter_counted + meter_halt();
}

/* The CPU sleeping (waiting for the RNG) runs no instructions: the meter stops meanwhile. */
void nrf_timer_meter_pause(void) {
  if (meter_running) meter_counted += meter_halt();
}

void nrf_timer_meter_resume(void) {
  if (meter_running) meter_run();
}
