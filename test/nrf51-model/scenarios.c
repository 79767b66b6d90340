/*
 * The silicon image's clock, panel and light-sensor drivers (mcu/clock.c, clock_rtc.c, nrf_clock.c, nrf_rtc.c,
 * nrf_ppi.c, nrf_gpiote.c, nrf_gpio.c, nrf_spi.c, sharp_lcd.c, nrf_uart.c, light.c), compiled unchanged against the register
 * model (nrf51_model.c) and run through one scenario, named on the command line. It prints what
 * happened as one JSON object; test/mcu-registers.test.ts runs each scenario and checks the facts.
 * The board functions the drivers call (sleep, delay) are the model's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mcu.h"
#include "nrf51.h"
#include "nrf51_model.h"

mcu_retained_t mcu_retained;

void model_sleep(void);

void mcu_sleep(void) {
  model_sleep();
}

void mcu_delay_us(uint32_t microseconds) {
  model_advance((uint64_t)microseconds * MODEL_UNITS_PER_MICROSECOND);
}

#define START_SECONDS INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define DAY INT64_C(86400)

/* Sleeps until the clock reads `seconds`, as main.c's loop does with no button and no link. */
static void sleep_until_second(int64_t seconds) {
  uint64_t deadline = clock_ticks_at(seconds);
  while (clock_ticks() < deadline) clock_sleep_until(deadline);
}

static void print_clock(const char *name, uint64_t lf_start) {
  model_settle();
  printf("\"%s\": {\"seconds\": %" PRId64 ", \"ticks\": %" PRIu64 ", \"lfclkCycles\": %" PRIu64 "}", name, clock_seconds(), clock_ticks(),
         model.now / MODEL_UNITS_PER_LFCLK - lf_start);
}

static uint64_t start_clock(void) {
  model_reset();
  clock_init();
  clock_set_seconds(START_SECONDS);
  model_settle();
  return model.now / MODEL_UNITS_PER_LFCLK;
}

static void print_model(void) {
  model_settle();
  printf("\"sleeps\": %" PRIu64 ", \"longestSleepLfclk\": %" PRIu64 ", \"hfclkRequested\": %s, \"lfclkRunning\": %s, \"lfclkSource\": %u, "
         "\"compareEventsLost\": %u, \"rtc1Running\": %s, \"rtc1Counter\": %u",
         model.sleeps, model.longest_sleep / MODEL_UNITS_PER_LFCLK, model.hfclk_requested ? "true" : "false",
         model.lfclk_running ? "true" : "false", model.lfclk_source, model.compare_events_lost,
         model_rtc_running(NRF51_RTC1) ? "true" : "false", model_rtc_counter(NRF51_RTC1));
}

/* The counter wraps (TRIGOVRFLW puts it 16 counts before): a second across the wrap is a second. */
static void overflow(void) {
  uint64_t lf = start_clock();
  printf("{");
  print_clock("start", lf);
  NRF_REG(NRF51_RTC1 + RTC_TASKS_TRIGOVRFLW) = 1;
  printf(", \"counterAfterTrigger\": %u, ", model_rtc_counter(NRF51_RTC1));
  /* The clock has not seen the jump yet: it reads it now as the counter running backwards, which the
   * extension takes for one wrap. The firmware's time base is rebased on that reading. */
  clock_set_seconds(START_SECONDS);
  uint64_t before = clock_ticks();
  sleep_until_second(START_SECONDS + 1);
  printf("\"ticksAcrossWrap\": %" PRIu64 ", \"counterAfterWrap\": %u, ", clock_ticks() - before, model_rtc_counter(NRF51_RTC1));
  sleep_until_second(START_SECONDS + 1000);
  print_clock("after1000s", lf);
  printf(", ");
  print_model();
  printf("}\n");
}

/* 48 days asleep with nothing to do: the clock must come out exactly 48 days later. */
static void sleep48(void) {
  uint64_t lf = start_clock();
  printf("{");
  print_clock("start", lf);
  sleep_until_second(START_SECONDS + 48 * DAY);
  printf(", ");
  print_clock("end", lf);
  printf(", ");
  print_model();
  printf("}\n");
}

/*
 * Deadlines one to three counts away, again and again: a compare armed N + 1 ahead may not fire (RM),
 * and the next match would then come a whole wrap (512 s) later, unseen by the clock. Counts the
 * sleeps that overslept and how far the clock is from the model's time at the end.
 */
static void near_deadline(void) {
  uint64_t lf = start_clock();
  uint64_t ticks0 = clock_ticks();
  uint64_t late = 0, rounds = 2000;
  for (uint64_t i = 0; i < rounds; i++) {
    uint64_t now = clock_ticks();
    uint64_t deadline = now + 1 + (i % 3);
    uint64_t from = model.now / MODEL_UNITS_PER_LFCLK;
    while (clock_ticks() < deadline) clock_sleep_until(deadline);
    model_settle();
    if (model.now / MODEL_UNITS_PER_LFCLK - from > (deadline - now) + RTC_COMPARE_MARGIN) late++;
    model_advance(MODEL_UNITS_PER_LFCLK * (i % 5) / 2); /* some time awake between */
  }
  model_settle();
  int64_t clock_error = (int64_t)(clock_ticks() - ticks0) - (int64_t)(model.now / MODEL_UNITS_PER_LFCLK - lf);
  printf("{\"rounds\": %" PRIu64 ", \"lateWakes\": %" PRIu64 ", \"compareEventsLost\": %u, \"clockErrorTicks\": %" PRId64 "}\n", rounds, late,
         model.compare_events_lost, clock_error);
}

/* The panel: powered, cleared, DISP and EXTCOMIN only while it shows something. */
static uint32_t framebuffer[128];

static unsigned pin(uint32_t n) {
  model_settle();
  return (model.gpio_out >> n) & 1u;
}

static void print_pins(const char *name) {
  printf("\"%s\": {\"power\": %u, \"disp\": %u, \"scs\": %u, \"extcominChannel\": %u, \"ppi\": %u, \"rtc0Running\": %s}", name,
         pin(PANEL_POWER_PIN), pin(PANEL_DISP_PIN), pin(PANEL_SCS_PIN), model_gpiote_config(0), model_ppi_enabled(),
         model_rtc_running(NRF51_RTC0) ? "true" : "false");
}

static void print_spi(uint32_t from) {
  printf("[");
  for (uint32_t i = from; i < model.spi_count; i++) printf("%s[%u,%u]", i > from ? "," : "", model.spi[i].byte, model.spi[i].scs);
  printf("]");
}

static void panel(void) {
  model_reset();
  clock_init(); /* LFCLK running, as on the board */
  sharp_lcd_init();
  nrf_spi_init();
  printf("{");
  print_pins("init");
  model_advance(10 * MODEL_UNITS_PER_SECOND);
  printf(", \"togglesBeforeShown\": %u, ", model.extcomin_toggles);
  /* A framebuffer with one lit column pixel: row 0, column 0 (page 0, byte 0, bit 0). */
  memset(framebuffer, 0, sizeof framebuffer);
  framebuffer[0] = 1u;
  uint64_t sleeps = model.sleeps;
  uint32_t from = model.spi_count;
  uint64_t t0 = model.now;
  sharp_lcd_show((const uint8_t *)framebuffer, true);
  model_settle();
  printf("\"firstFrameMicroseconds\": %" PRIu64 ", \"firstFrame\": ", (model.now - t0) / MODEL_UNITS_PER_MICROSECOND);
  print_spi(from);
  printf(", ");
  print_pins("shown");
  uint32_t toggles = model.extcomin_toggles;
  model_advance(10 * MODEL_UNITS_PER_SECOND);
  printf(", \"togglesIn10sShown\": %u, \"cpuWakesFor10sShown\": %" PRIu64 ", \"extcominLevel\": %u, ", model.extcomin_toggles - toggles,
         model.sleeps - sleeps, pin(PANEL_EXTCOMIN_PIN));
  /* Row 9 changes (page 1, bit 1 of column 5): one line is sent. */
  ((uint8_t *)framebuffer)[128 + 5] = 2u;
  from = model.spi_count;
  sharp_lcd_show((const uint8_t *)framebuffer, true);
  printf("\"changedFrame\": ");
  print_spi(from);
  printf(", ");
  sharp_lcd_show((const uint8_t *)framebuffer, false);
  print_pins("off");
  toggles = model.extcomin_toggles;
  from = model.spi_count;
  model_advance(10 * MODEL_UNITS_PER_SECOND);
  printf(", \"togglesIn10sOff\": %u, \"bytesWhileOff\": %u, \"extcominLevelOff\": %u, \"linesWritten\": %u}\n", model.extcomin_toggles - toggles,
         model.spi_count - from, pin(PANEL_EXTCOMIN_PIN), sharp_lcd_lines_written());
}

/*
 * The link: no host for a minute (the UART off, its RX pin sensed), a host attached (its line high:
 * PORT wakes the CPU, the UART starts), the host gone (the UART stops after LINK_IDLE_SECONDS).
 * main.c's loop, reduced to the link: poll, then sleep until the link's deadline.
 */
/* Returns the clock ticks when the link last started or stopped during the pass (0: it did not). */
static uint64_t link_pass(uint64_t ticks) {
  uint64_t end = clock_ticks() + ticks, changed = 0;
  bool was = nrf_uart_link_running();
  while (clock_ticks() < end) {
    nrf_gpiote_port_clear();
    nrf_uart_link_poll(clock_ticks());
    if (nrf_uart_link_running() != was) {
      was = !was;
      changed = clock_ticks();
    }
    uint64_t deadline = nrf_uart_link_deadline();
    clock_sleep_until(deadline < end ? deadline : end);
  }
  return changed;
}

static const char *yes(bool value) {
  return value ? "true" : "false";
}

static void link(void) {
  start_clock();
  NRF_REG(SCB_SCR) = SCB_SCR_SEVONPEND;
  nrf_gpiote_port_wake();
  model_set_input(MICROBIT_UART_RX_PIN, false);
  nrf_uart_init();
  uint64_t sleeps = model.sleeps;
  link_pass(60 * (uint64_t)CLOCK_HZ);
  printf("{\"detached\": {\"running\": %s, \"sleeps\": %" PRIu64 ", \"sleepsWithRx\": %" PRIu64 "}, ", yes(nrf_uart_link_running()),
         model.sleeps - sleeps, model.sleeps_with_uart_rx);
  /* The host's line goes high half a second into a 5 s sleep: the PORT event wakes the CPU then. */
  uint64_t before = clock_ticks();
  model_schedule_input(MICROBIT_UART_RX_PIN, true, MODEL_UNITS_PER_SECOND / 2);
  uint64_t started = link_pass(5 * (uint64_t)CLOCK_HZ);
  printf("\"attached\": {\"running\": %s, \"rxRunning\": %s, \"startedAfterTicks\": %" PRIu64 "}, ", yes(nrf_uart_link_running()),
         yes(model.uart_rx_running), started - before);
  model_set_input(MICROBIT_UART_RX_PIN, false);
  uint64_t gone = clock_ticks();
  uint64_t stopped = link_pass(60 * (uint64_t)CLOCK_HZ);
  uint64_t with_rx = model.sleeps_with_uart_rx;
  link_pass(60 * (uint64_t)CLOCK_HZ);
  printf("\"gone\": {\"running\": %s, \"rxRunning\": %s, \"stoppedAfterTicks\": %" PRIu64 ", \"sleepsWithRxLater\": %" PRIu64 "}, ",
         yes(nrf_uart_link_running()), yes(model.uart_rx_running), stopped - gone, model.sleeps_with_uart_rx - with_rx);
  printf("\"hfclkRequested\": %s}\n", yes(model.hfclk_requested));
}

/*
 * Button A on the silicon image: its pin's SENSE wakes the CPU through PORT when it goes down, and,
 * with the SENSE turned round as main.c's button_poll does, when it comes up again.
 */
static void button(void) {
  start_clock();
  NRF_REG(SCB_SCR) = SCB_SCR_SEVONPEND;
  nrf_gpiote_port_wake();
  nrf_gpio_button_init();
  uint64_t t0 = clock_ticks();
  model_schedule_input(MICROBIT_BUTTON_A_PIN, false, MODEL_UNITS_PER_SECOND * 3 / 10);
  clock_sleep_until(t0 + 10 * (uint64_t)CLOCK_HZ);
  bool down = nrf_gpio_button_down();
  uint64_t pressed = clock_ticks() - t0;
  nrf_gpiote_port_clear();
  nrf_gpio_button_sense(down);
  uint64_t t1 = clock_ticks();
  model_schedule_input(MICROBIT_BUTTON_A_PIN, true, MODEL_UNITS_PER_SECOND / 5);
  clock_sleep_until(t1 + 10 * (uint64_t)CLOCK_HZ);
  bool up = !nrf_gpio_button_down();
  uint64_t released = clock_ticks() - t1;
  nrf_gpiote_port_clear();
  nrf_gpio_button_sense(!up);
  /* Nothing more happens: the next sleep runs to its deadline. */
  uint64_t t2 = clock_ticks();
  clock_sleep_until(t2 + 10 * (uint64_t)CLOCK_HZ);
  printf("{\"down\": %s, \"pressedAfterTicks\": %" PRIu64 ", \"up\": %s, \"releasedAfterTicks\": %" PRIu64 ", \"idleSleepTicks\": %" PRIu64 "}\n",
         yes(down), pressed, yes(up), released, clock_ticks() - t2);
}

/*
 * Scan mode's sampling on the part (light.c): RTC1 COMPARE[1] beside the clock's COMPARE[0], the
 * sensors' power on P0.08, the comparators on P0.03-P0.07, as main.c's loop takes the samples
 * (light_sample_due, else sleep until the next deadline).
 */
static void light(void) {
  start_clock();
  NRF_REG(SCB_SCR) = SCB_SCR_SEVONPEND;
  light_init();
  model_settle();
  unsigned power_init = pin(LIGHT_POWER_PIN);
  /* The comparators show 0b10101: the clock bar (P0.03), data bits 2 and 4 (P0.05, P0.07). */
  for (uint32_t line = 0; line < 5; line++) model_set_input(LIGHT_SENSOR_FIRST_PIN + line, (0x15u >> line) & 1u);
  uint32_t read_off = light_read();
  bool due_off = light_sample_due();
  light_scan_begin();
  model_settle();
  unsigned power_on = pin(LIGHT_POWER_PIN);
  /* One second of scanning. */
  uint64_t t0 = clock_ticks();
  uint64_t sleeps0 = model.sleeps;
  int64_t second0 = clock_seconds();
  uint32_t samples = 0, wrong_masks = 0, short_gaps = 0, long_gaps = 0, other_gaps = 0;
  uint64_t last = t0;
  uint64_t end = t0 + CLOCK_HZ;
  while (clock_ticks() < end) {
    if (light_sample_due()) {
      uint64_t at = clock_ticks();
      if (samples > 0) {
        uint64_t gap = at - last;
        if (gap == 136) short_gaps++;
        else if (gap == 137) long_gaps++;
        else other_gaps++;
      }
      last = at;
      samples++;
      if (light_read() != 0x15u) wrong_masks++;
      continue;
    }
    clock_sleep_until(end);
  }
  uint64_t scan_sleeps = model.sleeps - sleeps0;
  int64_t scan_seconds = clock_seconds() - second0;
  light_scan_end();
  model_settle();
  unsigned power_off = pin(LIGHT_POWER_PIN);
  /* Another second, not scanning: nothing due, one sleep to the deadline. */
  uint64_t t1 = clock_ticks();
  uint64_t sleeps1 = model.sleeps;
  uint32_t samples_after = 0;
  while (clock_ticks() < t1 + CLOCK_HZ) {
    if (light_sample_due()) samples_after++;
    else clock_sleep_until(t1 + CLOCK_HZ);
  }
  printf("{\"powerInit\": %u, \"readOff\": %u, \"dueOff\": %s, \"powerOn\": %u, \"samples\": %u"
         ", \"wrongMasks\": %u, \"gaps136\": %u, \"gaps137\": %u, \"otherGaps\": %u, \"scanSleeps\": %" PRIu64
         ", \"scanSeconds\": %" PRId64 ", \"powerOff\": %u, \"readAfter\": %u, \"samplesAfter\": %u, \"sleepsAfter\": %" PRIu64 ", ",
         power_init, read_off, yes(due_off), power_on, samples, wrong_masks, short_gaps, long_gaps, other_gaps, scan_sleeps,
         scan_seconds, power_off, light_read(), samples_after, model.sleeps - sleeps1);
  print_model();
  printf("}\n");
}

int main(int argc, char **argv) {
  const char *scenario = argc > 1 ? argv[1] : "";
  if (!strcmp(scenario, "overflow")) overflow();
  else if (!strcmp(scenario, "sleep48")) sleep48();
  else if (!strcmp(scenario, "near-deadline")) near_deadline();
  else if (!strcmp(scenario, "panel")) panel();
  else if (!strcmp(scenario, "link")) link();
  else if (!strcmp(scenario, "button")) button();
  else if (!strcmp(scenario, "light")) light();
  else {
    fprintf(stderr, "scenarios: overflow | sleep48 | near-deadline | panel | link | button | light\n");
    return 2;
  }
  return 0;
}
