/*
 * A register model of the nRF51 peripherals the silicon image's drivers touch, written from the nRF51
 * Series Reference Manual v3.0 (RM) for host tests: CLOCK (chapter 13: LFCLK source and start),
 * GPIO (14: OUT, PIN_CNF), GPIOTE (15: task-mode channels, the PORT event), PPI (16: channels from an
 * event address to a task address), RTC0/RTC1 (19: PRESCALER, the 24-bit COUNTER and its overflow,
 * CC and COMPARE events, EVTEN/INTEN, the CLEAR/START/STOP/TRIGOVRFLW tasks), SPI0 (24: TXD, READY),
 * UART0 (29: ENABLE, STARTRX/STOPRX; a receiver that runs keeps the 16 MHz clock on) and the GPIO
 * SENSE mechanism (14: DETECT, raising GPIOTE's PORT event, 15).
 *
 * The drivers are compiled unchanged with -DNRF51_MODEL: their NRF_REG(address) is
 * *nrf51_model_register(address), a word the model preloads with what a read returns; what a write
 * did (a task triggered, an event cleared, a bit set) is applied at the next access or when the
 * model is asked anything. Time is virtual: it passes only while the CPU sleeps (mcu_sleep), in a
 * delay (mcu_delay_us), on the SPI bus (8 µs a byte at 1 MHz) or when a test lets it pass.
 */
#ifndef NRF51_MODEL_H
#define NRF51_MODEL_H

#include <stdbool.h>
#include <stdint.h>

/** Model time: 1/512,000,000 s, so a 32.768 kHz cycle (15,625) and a microsecond (512) are whole. */
#define MODEL_UNITS_PER_SECOND ((uint64_t)512000000)
#define MODEL_UNITS_PER_LFCLK ((uint64_t)15625)
#define MODEL_UNITS_PER_MICROSECOND ((uint64_t)512)

typedef struct {
  uint8_t byte;
  bool scs;        /* the panel's chip select (GPIO OUT) while the byte went out */
  uint64_t at;     /* model time */
} model_spi_byte_t;

typedef struct {
  uint64_t now;                 /* model time */
  uint64_t sleeps;              /* mcu_sleep calls that slept */
  uint64_t longest_sleep;       /* model time, one sleep */
  bool hfclk_requested;         /* HFCLKSTART or a TIMER started: the 16 MHz clock would run asleep */
  bool lfclk_running;
  uint32_t lfclk_source;
  uint32_t gpio_out;            /* the pins' levels as driven (GPIOTE task channels included) */
  uint32_t extcomin_toggles;    /* GPIOTE OUT tasks that toggled a pin */
  uint64_t last_toggle_at;
  uint32_t spi_count;
  model_spi_byte_t spi[4096];
  uint32_t compare_events_lost; /* CC written N or N+1 ahead of COUNTER (RM: may not fire): not fired */
  uint64_t sleeps_with_uart_rx; /* sleeps during which the UART's receiver ran (HFCLK on) */
  bool uart_rx_running;
} nrf51_model_t;

extern nrf51_model_t model;

void model_reset(void);
/** Applies the last register access, so the model's state is up to date. */
void model_settle(void);
/** Lets `units` of model time pass with the CPU asleep (events fire, PPI runs). */
void model_advance(uint64_t units);
/** The COUNTER of RTC `base` now; whether it runs. */
uint32_t model_rtc_counter(uint32_t base);
bool model_rtc_running(uint32_t base);
/** GPIOTE channel `n`'s CONFIG; PPI's enabled channels. */
uint32_t model_gpiote_config(uint32_t n);
uint32_t model_ppi_enabled(void);
/** Drives input pin `pin` from outside (a host's TX line, a button); SENSE may raise PORT. */
void model_set_input(uint32_t pin, bool high);
/** The same, `units` of model time from now (while the CPU sleeps, say). */
void model_schedule_input(uint32_t pin, bool high, uint64_t units);

#endif
