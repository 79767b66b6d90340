/*
 * UART0 (nRF51 RM chapter 29) on the micro:bit's USB-serial pins, 115200 baud 8N1: the factory link.
 * Reception is polled; the RXDRDY interrupt is enabled only so that a byte wakes the sleeping CPU
 * (interrupts stay masked, main.c). RXDRDY is cleared before RXD is read: QEMU raises it again for
 * the next byte of its FIFO, which is then a fresh event that wakes the CPU.
 *
 * On the silicon image the UART runs only while a host is attached: a running receiver keeps the
 * 16 MHz clock on (hundreds of µA). Detached, the RX pin is pulled down and its SENSE (high) wakes
 * the CPU through GPIOTE PORT when a host's idle-high TX line appears; the UART is then started, and
 * stopped again once the line has been low (the host gone) with no byte for LINK_IDLE_SECONDS. The
 * host's first frame must come after the line has been idle high for a millisecond (HELLO and BOOTED
 * are only sent when a host was attached at power-on). The emulator images keep the UART on (QEMU's
 * UART has no pins).
 */
#include "mcu.h"
#include "nrf51.h"

#define RX_MASK (1u << MICROBIT_UART_RX_PIN)
#define LINK_IDLE_SECONDS 10u

static void uart_start(void) {
  NRF_REG(NRF51_UART0 + UART_ENABLE) = UART_ENABLE_ENABLED;
  NRF_REG(NRF51_UART0 + UART_INTENSET) = UART_INTEN_RXDRDY;
  NRF_REG(NRF51_UART0 + UART_TASKS_STARTTX) = 1;
  NRF_REG(NRF51_UART0 + UART_TASKS_STARTRX) = 1;
  NRF_REG(NVIC_ISER) = 1u << NRF51_IRQ_OF(NRF51_UART0);
}

#ifdef MCU_SILICON
static bool running;
static uint64_t last_activity; /* clock ticks of the last byte, or of the start */

static bool rx_high(void) {
  return (NRF_REG(NRF51_GPIO + GPIO_IN) & RX_MASK) != 0;
}

static void rx_sense(bool on) {
  NRF_REG(NRF51_GPIO + GPIO_PIN_CNF(MICROBIT_UART_RX_PIN)) =
      GPIO_CNF_INPUT_CONNECT | GPIO_CNF_PULLDOWN | (on ? GPIO_CNF_SENSE_HIGH : 0u);
}

/** Starts the UART when a host's line is up; stops it when the line has been down and silent. Main loop, every pass. */
void nrf_uart_link_poll(uint64_t now) {
  if (!running) {
    if (!rx_high()) return;
    rx_sense(false);
    uart_start();
    running = true;
    last_activity = now;
  } else if (nrf_uart_readable() || rx_high()) {
    last_activity = now;
  } else if (now >= last_activity + (uint64_t)LINK_IDLE_SECONDS * CLOCK_HZ) {
    NRF_REG(NRF51_UART0 + UART_TASKS_STOPRX) = 1;
    NRF_REG(NRF51_UART0 + UART_TASKS_STOPTX) = 1;
    NRF_REG(NRF51_UART0 + UART_ENABLE) = 0;
    running = false;
    rx_sense(true);
  }
}

/** When the link wants the main loop to look again (to stop a silent link), or UINT64_MAX. */
uint64_t nrf_uart_link_deadline(void) {
  return running ? last_activity + (uint64_t)LINK_IDLE_SECONDS * CLOCK_HZ : UINT64_MAX;
}

bool nrf_uart_link_running(void) {
  return running;
}
#endif

void nrf_uart_init(void) {
  NRF_REG(NRF51_UART0 + UART_PSELTXD) = MICROBIT_UART_TX_PIN;
  NRF_REG(NRF51_UART0 + UART_PSELRXD) = MICROBIT_UART_RX_PIN;
  NRF_REG(NRF51_UART0 + UART_BAUDRATE) = UART_BAUDRATE_115200;
#ifdef MCU_SILICON
  running = false;
  rx_sense(true);
  nrf_uart_link_poll(0);
#else
  uart_start();
#endif
}

void nrf_uart_write(const uint8_t *bytes, size_t length) {
#ifdef MCU_SILICON
  if (!running) return; /* no host to hear it */
#endif
  for (size_t i = 0; i < length; i++) {
    NRF_REG(NRF51_UART0 + UART_EVENTS_TXDRDY) = 0;
    NRF_REG(NRF51_UART0 + UART_TXD) = bytes[i];
    /* TXD is ignored while a byte is pending: wait until this one is out. */
    while (NRF_REG(NRF51_UART0 + UART_EVENTS_TXDRDY) == 0) {
    }
  }
}

bool nrf_uart_readable(void) {
  return NRF_REG(NRF51_UART0 + UART_EVENTS_RXDRDY) != 0;
}

uint8_t nrf_uart_read(void) {
  while (!nrf_uart_readable()) mcu_sleep();
  NRF_REG(NRF51_UART0 + UART_EVENTS_RXDRDY) = 0;
  return (uint8_t)NRF_REG(NRF51_UART0 + UART_RXD);
}
