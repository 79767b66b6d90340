/*
 * The five light sensors (docs/transaction-signing.md, docs/hardware.md) and their sampling timer.
 * Each photodiode's comparator drives one GPIO input: P0.03 the clock bar, P0.04-P0.07 the data bars
 * (bit 1-4 of the HAL's mask, P0.04 the nibble's lowest bit), so one read of the GPIO IN register,
 * shifted by three, is the mask lightSensors() returns. The photodiodes and comparators are powered
 * from P0.08 only while scanning (a sensor front end left on would cost more than the sleep floor).
 *
 * Scan mode is the firmware's: it calls the HAL's lightPower(1) when the holder starts it on the token (a
 * hold on the info screen) and lightPower(0) on a frame, a press or its timeout (main.c), which power
 * the front end and start or stop the sampling timer here.
 *
 * While scanning, a timer wakes the CPU SCAN_HZ (240) times a second, four samples to each frame of a
 * 60 Hz screen and eight to a level of the page's fastest speed; between samples the CPU sleeps. On
 * the part that timer is RTC1's COMPARE[1], on the 32.768 kHz crystal that already keeps the token's
 * time (COMPARE[0] is the clock's wake-up: clock_rtc.c), so scanning never starts the 16 MHz clock
 * between samples; the period alternates 136 and 137 ticks (32768 / 240 = 136.5). QEMU 7.2 has no RTC:
 * the emulator's images sample with TIMER2 at 1 MHz (16-bit, as TIMER2 is on the nRF51), 4,167 us.
 *
 * QEMU has no way to drive an input from outside either: harness images drive the five pins as
 * outputs with their input buffers connected (as the button: nrf_gpio.c), from a sample stream the
 * host sends (harness.c), and read them back through the same IN register.
 */
#include "mcu.h"
#include "nrf51.h"

#define SENSOR_MASK (0x1fu << LIGHT_SENSOR_FIRST_PIN)

#ifdef MCU_SILICON
#define SAMPLE_RTC NRF51_RTC1
#define SAMPLE_CHANNEL 1u
static uint32_t next_sample;
static uint32_t sample_count;
#else
#define SAMPLE_TIMER NRF51_TIMER2
#define SAMPLE_PRESCALER 4u /* 1 MHz */
#define SAMPLE_PERIOD_US ((1000000u + SCAN_HZ / 2u) / SCAN_HZ)
#define SAMPLE_COMPARE 0u
#endif

static bool scanning;

void light_init(void) {
  nrf_gpio_output(LIGHT_POWER_PIN, false);
  for (uint32_t pin = LIGHT_SENSOR_FIRST_PIN; pin < LIGHT_SENSOR_FIRST_PIN + 5u; pin++) {
#ifdef MCU_HARNESS
    NRF_REG(NRF51_GPIO + GPIO_OUTCLR) = 1u << pin;
    NRF_REG(NRF51_GPIO + GPIO_PIN_CNF(pin)) = GPIO_CNF_DIR_OUTPUT | GPIO_CNF_INPUT_CONNECT;
#else
    /* A comparator drives it; the pull-down holds it dark while the front end is unpowered. */
    NRF_REG(NRF51_GPIO + GPIO_PIN_CNF(pin)) = GPIO_CNF_INPUT_CONNECT | GPIO_CNF_PULLDOWN;
#endif
  }
}

bool light_scanning(void) {
  return scanning;
}

/** The comparators' outputs now: bit 0 the clock bar, bits 1-4 the data bars; 0 when not scanning. */
uint32_t light_read(void) {
  if (!scanning) return 0;
  return (NRF_REG(NRF51_GPIO + GPIO_IN) & SENSOR_MASK) >> LIGHT_SENSOR_FIRST_PIN;
}

#ifdef MCU_SILICON
static void arm_next(void) {
  /* 136 and 137 ticks in turn: 240.0 samples a second on the 32,768 Hz counter. */
  next_sample += (sample_count++ & 1u) ? 137u : 136u;
  /* A sample that ran past the next instant (or too close to it to fire: nrf_rtc.c) moves the rest on. */
  uint32_t ahead = (next_sample - nrf_rtc_counter(SAMPLE_RTC)) & RTC_COUNTER_MASK;
  if (ahead < RTC_COMPARE_MARGIN || ahead > RTC_COUNTER_MASK / 2u) next_sample = nrf_rtc_counter(SAMPLE_RTC) + RTC_COMPARE_MARGIN;
  nrf_rtc_compare_arm(SAMPLE_RTC, SAMPLE_CHANNEL, next_sample, true, false);
}
#endif

/** Powers the sensors and starts the sampling timer: the first sample is one period away. */
void light_scan_begin(void) {
  if (scanning) return;
  scanning = true;
  nrf_gpio_write(LIGHT_POWER_PIN, true);
#ifdef MCU_SILICON
  sample_count = 0;
  next_sample = nrf_rtc_counter(SAMPLE_RTC);
  arm_next();
#else
  NRF_REG(SAMPLE_TIMER + TIMER_TASKS_STOP) = 1;
  NRF_REG(SAMPLE_TIMER + TIMER_MODE) = TIMER_MODE_TIMER;
  NRF_REG(SAMPLE_TIMER + TIMER_BITMODE) = TIMER_BITMODE_16;
  NRF_REG(SAMPLE_TIMER + TIMER_PRESCALER) = SAMPLE_PRESCALER;
  NRF_REG(SAMPLE_TIMER + TIMER_TASKS_CLEAR) = 1;
  NRF_REG(SAMPLE_TIMER + TIMER_EVENTS_COMPARE(SAMPLE_COMPARE)) = 0;
  NRF_REG(SAMPLE_TIMER + TIMER_CC(SAMPLE_COMPARE)) = SAMPLE_PERIOD_US;
  NRF_REG(SAMPLE_TIMER + TIMER_INTENSET) = TIMER_INTEN_COMPARE(SAMPLE_COMPARE);
  NRF_REG(NVIC_ISER) = 1u << NRF51_IRQ_OF(SAMPLE_TIMER);
  NRF_REG(SAMPLE_TIMER + TIMER_TASKS_START) = 1;
#endif
}

/** Stops the sampling timer and turns the sensors off. */
void light_scan_end(void) {
  if (!scanning) return;
  scanning = false;
#ifdef MCU_SILICON
  nrf_rtc_compare_disarm(SAMPLE_RTC, SAMPLE_CHANNEL);
#else
  NRF_REG(SAMPLE_TIMER + TIMER_TASKS_STOP) = 1;
  NRF_REG(SAMPLE_TIMER + TIMER_INTENCLR) = TIMER_INTEN_COMPARE(SAMPLE_COMPARE);
  NRF_REG(SAMPLE_TIMER + TIMER_EVENTS_COMPARE(SAMPLE_COMPARE)) = 0;
#endif
  nrf_gpio_write(LIGHT_POWER_PIN, false);
}

/**
 * While scanning: whether the sampling timer's instant came since the last call (the next one is then
 * armed), so the main loop takes one sample. Never waits: the main loop sleeps, and the timer's event
 * wakes it (light_scan_begin enabled it) as it does for the clock's wake-up and the button.
 */
bool light_sample_due(void) {
  if (!scanning) return false;
#ifdef MCU_SILICON
  if (!nrf_rtc_compare_fired(SAMPLE_RTC, SAMPLE_CHANNEL)) return false;
  nrf_rtc_compare_clear(SAMPLE_RTC, SAMPLE_CHANNEL);
  arm_next();
#else
  if (NRF_REG(SAMPLE_TIMER + TIMER_EVENTS_COMPARE(SAMPLE_COMPARE)) == 0) return false;
  NRF_REG(SAMPLE_TIMER + TIMER_EVENTS_COMPARE(SAMPLE_COMPARE)) = 0;
  /* The next compare one period on; the 16-bit counter wraps, and so does CC. */
  uint32_t cc = NRF_REG(SAMPLE_TIMER + TIMER_CC(SAMPLE_COMPARE));
  NRF_REG(SAMPLE_TIMER + TIMER_CC(SAMPLE_COMPARE)) = (cc + SAMPLE_PERIOD_US) & 0xffffu;
#endif
  return true;
}

#ifdef MCU_HARNESS
/** The comparators' outputs as the recorded stream gives them (harness images drive the pins). */
void light_drive(uint32_t mask) {
  NRF_REG(NRF51_GPIO + GPIO_OUTSET) = (mask << LIGHT_SENSOR_FIRST_PIN) & SENSOR_MASK;
  NRF_REG(NRF51_GPIO + GPIO_OUTCLR) = (~mask << LIGHT_SENSOR_FIRST_PIN) & SENSOR_MASK;
}
#endif
