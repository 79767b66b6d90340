/*
 * The register model (nrf51_model.h says what it covers). Sections of the nRF51 Series Reference
 * Manual v3.0 (RM) beside what each part implements.
 */
#include "nrf51_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcu.h"
#include "nrf51.h"

nrf51_model_t model;

/* A register a driver never reads back (SET/CLR, TXD): preloaded so that any write shows. */
#define WRITE_ONLY 0xdeadbeefu
#define WRAP (RTC_COUNTER_MASK + 1u)
#define LFXO_START_UNITS (MODEL_UNITS_PER_SECOND * 3 / 10) /* crystal start-up, about 0.3 s */
#define NO_TIME UINT64_MAX

typedef struct {
  uint32_t base;
  bool running;
  uint32_t prescaler;
  uint32_t counter;     /* at anchor_lf, with anchor_phase LFCLK cycles into the prescaled tick */
  uint64_t anchor_lf;
  uint32_t anchor_phase;
  uint32_t cc[4];
  bool suppressed[4];   /* RM 19, Compare: a CC written N or N + 1 with COUNTER at N may not fire */
  uint32_t events, inten, evten; /* bit layout of INTEN: TICK 0, OVRFLW 1, COMPARE[n] 16 + n */
} rtc_t;

static rtc_t rtcs[2];
static struct {
  uint32_t source, inten;
  bool started_event;
  uint64_t start_at; /* LFCLKSTART pending until then */
} clock_state;
static uint32_t gpio_out_reg, gpio_cnf[32], gpio_inputs;
static bool gpio_detect;
static struct {
  uint64_t at;
  uint32_t pin;
  bool high;
} scheduled_input;
static struct {
  uint32_t enable;
  bool rx;
} uart;
static uint32_t gpiote_config[4], gpiote_level[4], gpiote_inten;
static bool gpiote_port;
static uint32_t ppi_enabled, ppi_eep[16], ppi_tep[16];
static struct {
  uint32_t enable, frequency, config, psel_sck, psel_mosi;
  bool ready;
} spi;
static uint32_t other[4096]; /* UART0, NVIC, SCB: stored, no behaviour the drivers under test rely on */

static volatile uint32_t *pending_slot;
static uint32_t pending_address, pending_preload;
static uint32_t slot;

static void fail(const char *what, uint32_t address) {
  fprintf(stderr, "nrf51 model: %s (0x%08x)\n", what, address);
  exit(3);
}

void model_reset(void) {
  memset(&model, 0, sizeof model);
  memset(rtcs, 0, sizeof rtcs);
  rtcs[0].base = NRF51_RTC0;
  rtcs[1].base = NRF51_RTC1;
  memset(&clock_state, 0, sizeof clock_state);
  clock_state.start_at = NO_TIME;
  gpio_out_reg = 0;
  memset(gpio_cnf, 0, sizeof gpio_cnf);
  gpio_inputs = 1u << MICROBIT_BUTTON_A_PIN; /* button up: its pull-up */
  gpio_detect = false;
  scheduled_input.at = NO_TIME;
  memset(&uart, 0, sizeof uart);
  memset(gpiote_config, 0, sizeof gpiote_config);
  memset(gpiote_level, 0, sizeof gpiote_level);
  gpiote_inten = 0;
  gpiote_port = false;
  ppi_enabled = 0;
  memset(&spi, 0, sizeof spi);
  pending_slot = NULL;
}

static uint64_t lf_now(void) {
  return model.now / MODEL_UNITS_PER_LFCLK;
}

/* ---- GPIO (RM 14) and GPIOTE (RM 15): a task-mode channel owns its pin. ---- */

static void update_pins(void) {
  uint32_t out = gpio_out_reg;
  for (int n = 0; n < 4; n++) {
    if ((gpiote_config[n] & 3u) != GPIOTE_CONFIG_MODE_TASK) continue;
    uint32_t pin = (gpiote_config[n] >> 8) & 31u;
    out = (out & ~(1u << pin)) | (gpiote_level[n] << pin);
  }
  model.gpio_out = out;
}

/* RM 14, pin sensing: DETECT is the OR of every pin at its SENSE level; its rising edge is PORT. */
static void update_detect(void) {
  bool detect = false;
  for (uint32_t pin = 0; pin < 32; pin++) {
    uint32_t sense = (gpio_cnf[pin] >> 16) & 3u;
    bool level = (gpio_inputs >> pin) & 1u;
    if ((sense == 2u && level) || (sense == 3u && !level)) detect = true;
  }
  if (detect && !gpio_detect) gpiote_port = true;
  gpio_detect = detect;
}

static void set_input(uint32_t pin, bool high) {
  gpio_inputs = high ? gpio_inputs | (1u << pin) : gpio_inputs & ~(1u << pin);
  update_detect();
}

void model_set_input(uint32_t pin, bool high) {
  model_settle();
  set_input(pin, high);
}

void model_schedule_input(uint32_t pin, bool high, uint64_t units) {
  model_settle();
  scheduled_input.at = model.now + units;
  scheduled_input.pin = pin;
  scheduled_input.high = high;
}

static void gpiote_out_task(uint32_t n) {
  if ((gpiote_config[n] & 3u) != GPIOTE_CONFIG_MODE_TASK) return;
  uint32_t polarity = (gpiote_config[n] >> 16) & 3u;
  gpiote_level[n] = polarity == 3u ? gpiote_level[n] ^ 1u : polarity == 1u ? 1u : 0u;
  if (polarity == 3u) {
    model.extcomin_toggles++;
    model.last_toggle_at = model.now;
  }
  update_pins();
}

/* ---- RTC (RM 19). ---- */

static uint64_t rtc_steps(const rtc_t *r, uint64_t lf) {
  return (lf - r->anchor_lf + r->anchor_phase) / (r->prescaler + 1u);
}

static uint32_t rtc_counter_at(const rtc_t *r, uint64_t lf) {
  if (!r->running) return r->counter;
  return (uint32_t)((r->counter + rtc_steps(r, lf)) & RTC_COUNTER_MASK);
}

/* Brings counter and phase up to now (before a task or a CC write changes them). */
static void rtc_anchor(rtc_t *r) {
  uint64_t lf = lf_now();
  if (r->running) {
    uint64_t elapsed = lf - r->anchor_lf + r->anchor_phase;
    r->counter = rtc_counter_at(r, lf);
    r->anchor_phase = (uint32_t)(elapsed % (r->prescaler + 1u));
  }
  r->anchor_lf = lf;
}

static void rtc_task(rtc_t *r, uint32_t offset);

static void ppi_event(uint32_t address) {
  for (int ch = 0; ch < 16; ch++) {
    if (!((ppi_enabled >> ch) & 1u) || ppi_eep[ch] != address) continue;
    uint32_t task = ppi_tep[ch];
    if (task >= NRF51_GPIOTE && task < NRF51_GPIOTE + 0x10u) gpiote_out_task((task - NRF51_GPIOTE) / 4u);
    else if ((task & ~0xfffu) == NRF51_RTC0) rtc_task(&rtcs[0], task & 0xfffu);
    else if ((task & ~0xfffu) == NRF51_RTC1) rtc_task(&rtcs[1], task & 0xfffu);
    else fail("PPI task the model does not know", task);
  }
}

static void rtc_event(rtc_t *r, uint32_t bit, uint32_t offset) {
  /* RM 19, Event control: an event disabled in both EVTEN and INTEN is not generated. */
  if (!((r->inten | r->evten) & bit)) return;
  r->events |= bit;
  if (r->evten & bit) ppi_event(r->base + offset);
}

static void rtc_task(rtc_t *r, uint32_t offset) {
  rtc_anchor(r);
  switch (offset) {
    case RTC_TASKS_START:
      if (!model.lfclk_running) fail("RTC started while LFCLK is not running", r->base);
      r->running = true;
      r->anchor_phase = 0;
      break;
    case RTC_TASKS_STOP:
      r->running = false;
      break;
    case RTC_TASKS_CLEAR:
      r->counter = 0;
      r->anchor_phase = 0;
      break;
    case RTC_TASKS_TRIGOVRFLW:
      r->counter = 0xfffff0u;
      break;
    default:
      fail("RTC task the model does not know", r->base + offset);
  }
}

/** LFCLK cycle of the next event of `r` that anyone listens to (overflow or an enabled compare). */
static uint64_t rtc_next_event_lf(const rtc_t *r) {
  if (!r->running) return NO_TIME;
  if ((r->inten | r->evten) & RTC_BIT_TICK) fail("TICK events are not modelled", r->base);
  uint64_t lf = lf_now();
  uint32_t counter = rtc_counter_at(r, lf);
  uint64_t best = NO_TIME;
  if ((r->inten | r->evten) & RTC_BIT_OVRFLW) best = WRAP - counter;
  for (int n = 0; n < 4; n++) {
    if (!((r->inten | r->evten) & RTC_BIT_COMPARE(n))) continue;
    uint64_t d = (r->cc[n] - counter) & RTC_COUNTER_MASK;
    if (d == 0) d = WRAP;
    if (d < best) best = d;
  }
  if (best == NO_TIME) return NO_TIME;
  uint64_t steps = rtc_steps(r, lf) + best;
  return r->anchor_lf - r->anchor_phase + steps * (r->prescaler + 1u);
}

/* At LFCLK cycle `lf`, where rtc_next_event_lf said: the events of that count. */
static void rtc_fire(rtc_t *r) {
  uint32_t counter = rtc_counter_at(r, lf_now());
  if (counter == 0) rtc_event(r, RTC_BIT_OVRFLW, RTC_EVENTS_OVRFLW);
  for (uint32_t n = 0; n < 4; n++) {
    if (r->cc[n] != counter) continue;
    if (r->suppressed[n]) {
      r->suppressed[n] = false;
      if ((r->inten | r->evten) & RTC_BIT_COMPARE(n)) model.compare_events_lost++;
      continue;
    }
    rtc_event(r, RTC_BIT_COMPARE(n), RTC_EVENTS_COMPARE(n));
  }
}

/* ---- Time. ---- */

static uint64_t next_event_time(void) {
  uint64_t best = clock_state.start_at < scheduled_input.at ? clock_state.start_at : scheduled_input.at;
  for (int i = 0; i < 2; i++) {
    uint64_t lf = rtc_next_event_lf(&rtcs[i]);
    if (lf != NO_TIME && lf * MODEL_UNITS_PER_LFCLK < best) best = lf * MODEL_UNITS_PER_LFCLK;
  }
  return best;
}

static void run_events_until(uint64_t target) {
  for (;;) {
    uint64_t next = next_event_time();
    if (next == NO_TIME || next > target) break;
    if (next < model.now) fail("model time ran backwards", 0);
    bool due[2];
    for (int i = 0; i < 2; i++) {
      uint64_t lf = rtc_next_event_lf(&rtcs[i]);
      due[i] = lf != NO_TIME && lf * MODEL_UNITS_PER_LFCLK == next;
    }
    model.now = next;
    if (clock_state.start_at == next) {
      clock_state.start_at = NO_TIME;
      model.lfclk_running = true;
      model.lfclk_source = clock_state.source;
      clock_state.started_event = true;
    }
    for (int i = 0; i < 2; i++)
      if (due[i]) rtc_fire(&rtcs[i]);
    if (scheduled_input.at == next) {
      scheduled_input.at = NO_TIME;
      set_input(scheduled_input.pin, scheduled_input.high);
    }
  }
  if (target > model.now) model.now = target;
}

void model_advance(uint64_t units) {
  model_settle();
  run_events_until(model.now + units);
}

static bool wake_pending(void) {
  for (int i = 0; i < 2; i++)
    if (rtcs[i].inten & rtcs[i].events) return true;
  if ((clock_state.inten & CLOCK_INTEN_LFCLKSTARTED) && clock_state.started_event) return true;
  return (gpiote_inten & GPIOTE_INTEN_PORT) && gpiote_port;
}

/* The CPU's sleep (mcu_sleep of the image): until an event that is enabled to wake it. */
void model_sleep(void) {
  model_settle();
  if (wake_pending()) return;
  uint64_t from = model.now;
  while (!wake_pending()) {
    uint64_t next = next_event_time();
    if (next == NO_TIME) fail("the CPU sleeps with nothing to wake it", 0);
    run_events_until(next);
  }
  model.sleeps++;
  if (uart.rx) model.sleeps_with_uart_rx++;
  if (model.now - from > model.longest_sleep) model.longest_sleep = model.now - from;
}

/* ---- Register access. ---- */

static rtc_t *rtc_of(uint32_t address) {
  if ((address & ~0xfffu) == NRF51_RTC0) return &rtcs[0];
  if ((address & ~0xfffu) == NRF51_RTC1) return &rtcs[1];
  return NULL;
}

static uint32_t read_value(uint32_t address) {
  uint32_t offset = address & 0xfffu;
  rtc_t *r = rtc_of(address);
  if (r) {
    if (offset < 0x100u) return 0;
    if (offset == RTC_EVENTS_TICK) return r->events & 1u;
    if (offset == RTC_EVENTS_OVRFLW) return (r->events >> 1) & 1u;
    if (offset >= RTC_EVENTS_COMPARE(0) && offset <= RTC_EVENTS_COMPARE(3)) return (r->events >> (16 + (offset - 0x140u) / 4)) & 1u;
    if (offset == RTC_COUNTER) return rtc_counter_at(r, lf_now());
    if (offset == RTC_PRESCALER) return r->prescaler;
    if (offset >= RTC_CC(0) && offset <= RTC_CC(3)) return r->cc[(offset - 0x540u) / 4];
    return WRITE_ONLY;
  }
  switch (address & ~0xfffu) {
    case NRF51_CLOCK:
      if (offset < 0x100u) return 0;
      if (offset == CLOCK_EVENTS_LFCLKSTARTED) return clock_state.started_event;
      if (offset == CLOCK_LFCLKSRC) return clock_state.source;
      if (offset == CLOCK_LFCLKSTAT) return (model.lfclk_running ? CLOCK_LFCLKSTAT_RUNNING : 0u) | model.lfclk_source;
      return WRITE_ONLY;
    case NRF51_GPIOTE:
      if (offset < 0x100u) return 0;
      if (offset == GPIOTE_EVENTS_PORT) return gpiote_port;
      if (offset >= GPIOTE_CONFIG(0) && offset <= GPIOTE_CONFIG(3)) return gpiote_config[(offset - 0x510u) / 4];
      return WRITE_ONLY;
    case NRF51_PPI:
      if (offset >= PPI_CH_EEP(0) && offset < PPI_CH_EEP(16)) return (offset & 4u) ? ppi_tep[(offset - 0x514u) / 8] : ppi_eep[(offset - 0x510u) / 8];
      return WRITE_ONLY;
    case NRF51_SPI0:
      if (offset == SPI_EVENTS_READY) return spi.ready;
      if (offset == SPI_RXD) return 0;
      return WRITE_ONLY;
    case NRF51_UART0:
      if (offset < 0x100u) return 0;
      if (offset == UART_EVENTS_RXDRDY) return 0; /* no byte arrives in these scenarios */
      if (offset == UART_ENABLE) return uart.enable;
      return other[(address >> 2) & 4095u];
    case NRF51_GPIO:
      if (offset == GPIO_OUT) return gpio_out_reg;
      if (offset == GPIO_IN) {
        /* An output pin reads what it drives; an input what the outside drives. */
        uint32_t outputs = 0;
        for (uint32_t pin = 0; pin < 32; pin++) outputs |= (gpio_cnf[pin] & GPIO_CNF_DIR_OUTPUT) << pin;
        return (model.gpio_out & outputs) | (gpio_inputs & ~outputs);
      }
      if (offset >= GPIO_PIN_CNF(0) && offset <= GPIO_PIN_CNF(31)) return gpio_cnf[(offset - 0x700u) / 4];
      return WRITE_ONLY;
    default:
      return other[(address >> 2) & 4095u];
  }
}

static void write_value(uint32_t address, uint32_t value) {
  uint32_t offset = address & 0xfffu;
  rtc_t *r = rtc_of(address);
  if (r) {
    if (offset < 0x100u) {
      if (value) rtc_task(r, offset);
    } else if (offset >= 0x100u && offset < 0x200u) {
      uint32_t bit = offset == RTC_EVENTS_TICK ? 1u : offset == RTC_EVENTS_OVRFLW ? 2u : 1u << (16 + (offset - 0x140u) / 4);
      if (value == 0) r->events &= ~bit;
    } else if (offset == RTC_INTENSET) r->inten |= value;
    else if (offset == RTC_INTENCLR) r->inten &= ~value;
    else if (offset == RTC_EVTENSET) r->evten |= value;
    else if (offset == RTC_EVTENCLR) r->evten &= ~value;
    else if (offset == RTC_PRESCALER) {
      if (r->running) fail("PRESCALER written while the RTC runs (RM 19: it can only be written when stopped)", address);
      r->prescaler = value & 0xfffu;
    } else if (offset >= RTC_CC(0) && offset <= RTC_CC(3)) {
      uint32_t n = (offset - 0x540u) / 4;
      r->cc[n] = value & RTC_COUNTER_MASK;
      uint32_t ahead = (r->cc[n] - rtc_counter_at(r, lf_now())) & RTC_COUNTER_MASK;
      r->suppressed[n] = r->running && ahead == 1u; /* ahead == 0: the count was reached already */
    } else fail("RTC register the model does not know", address);
    return;
  }
  switch (address & ~0xfffu) {
    case NRF51_CLOCK:
      if (offset == CLOCK_TASKS_LFCLKSTART && value) clock_state.start_at = model.now + LFXO_START_UNITS;
      else if (offset == 0x000u && value) model.hfclk_requested = true; /* TASKS_HFCLKSTART */
      else if (offset == CLOCK_TASKS_HFCLKSTOP) {
      } else if (offset == CLOCK_EVENTS_LFCLKSTARTED && value == 0) clock_state.started_event = false;
      else if (offset == CLOCK_LFCLKSRC) clock_state.source = value & 3u;
      else if (offset == CLOCK_INTENSET) clock_state.inten |= value;
      else fail("CLOCK register the model does not know", address);
      return;
    case NRF51_GPIOTE:
      if (offset < 0x10u && value) gpiote_out_task(offset / 4);
      else if (offset == GPIOTE_EVENTS_PORT && value == 0) gpiote_port = false;
      else if (offset == GPIOTE_INTENSET) gpiote_inten |= value;
      else if (offset >= GPIOTE_CONFIG(0) && offset <= GPIOTE_CONFIG(3)) {
        uint32_t n = (offset - 0x510u) / 4;
        gpiote_config[n] = value;
        gpiote_level[n] = (value >> 20) & 1u; /* OUTINIT */
        update_pins();
      } else fail("GPIOTE register the model does not know", address);
      return;
    case NRF51_PPI:
      if (offset == PPI_CHENSET) ppi_enabled |= value;
      else if (offset == PPI_CHENCLR) ppi_enabled &= ~value;
      else if (offset >= PPI_CH_EEP(0) && offset < PPI_CH_EEP(16)) {
        if (offset & 4u) ppi_tep[(offset - 0x514u) / 8] = value;
        else ppi_eep[(offset - 0x510u) / 8] = value;
      } else fail("PPI register the model does not know", address);
      return;
    case NRF51_SPI0:
      if (offset == SPI_TXD) {
        if (spi.enable != SPI_ENABLE_ENABLED || spi.frequency != SPI_FREQUENCY_1M) fail("TXD written with the SPI not set up", address);
        if (model.spi_count < sizeof model.spi / sizeof model.spi[0]) {
          model.spi[model.spi_count] = (model_spi_byte_t){(uint8_t)value, (model.gpio_out >> PANEL_SCS_PIN) & 1u, model.now};
        }
        model.spi_count++;
        run_events_until(model.now + 8u * MODEL_UNITS_PER_MICROSECOND); /* 8 bits at 1 MHz */
        spi.ready = true;
      } else if (offset == SPI_EVENTS_READY && value == 0) spi.ready = false;
      else if (offset == SPI_ENABLE) spi.enable = value;
      else if (offset == SPI_FREQUENCY) spi.frequency = value;
      else if (offset == SPI_CONFIG) spi.config = value;
      else if (offset == SPI_PSELSCK) spi.psel_sck = value;
      else if (offset == SPI_PSELMOSI) spi.psel_mosi = value;
      else fail("SPI register the model does not know", address);
      return;
    case NRF51_GPIO:
      if (offset == GPIO_OUTSET) gpio_out_reg |= value;
      else if (offset == GPIO_OUTCLR) gpio_out_reg &= ~value;
      else if (offset == GPIO_OUT) gpio_out_reg = value;
      else if (offset >= GPIO_PIN_CNF(0) && offset <= GPIO_PIN_CNF(31)) gpio_cnf[(offset - 0x700u) / 4] = value;
      else fail("GPIO register the model does not know", address);
      update_pins();
      update_detect();
      return;
    case NRF51_UART0:
      if (offset == UART_TASKS_STARTRX && value) uart.rx = uart.enable == UART_ENABLE_ENABLED;
      else if (offset == UART_TASKS_STOPRX && value) uart.rx = false;
      else if (offset == UART_ENABLE) {
        uart.enable = value;
        if (value != UART_ENABLE_ENABLED) uart.rx = false;
      } else other[(address >> 2) & 4095u] = value;
      model.uart_rx_running = uart.rx;
      return;
    default:
      other[(address >> 2) & 4095u] = value;
  }
}

void model_settle(void) {
  if (!pending_slot) return;
  volatile uint32_t *at = pending_slot;
  pending_slot = NULL;
  if (*at != pending_preload) write_value(pending_address, *at);
}

volatile uint32_t *nrf51_model_register(uint32_t address) {
  model_settle();
  slot = read_value(address);
  pending_slot = &slot;
  pending_address = address;
  pending_preload = slot;
  return &slot;
}

uint32_t model_rtc_counter(uint32_t base) {
  model_settle();
  rtc_t *r = rtc_of(base);
  return rtc_counter_at(r, lf_now());
}

bool model_rtc_running(uint32_t base) {
  model_settle();
  return rtc_of(base)->running;
}

uint32_t model_gpiote_config(uint32_t n) {
  model_settle();
  return gpiote_config[n];
}

uint32_t model_ppi_enabled(void) {
  model_settle();
  return ppi_enabled;
}
