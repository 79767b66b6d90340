/*
 * UART0 (nRF51 RM chapter 29) on the micro:bit's USB-serial pins, 115200 baud 8N1: the factory link.
 * Reception is polled; the RXDRDY interrupt is enabled only so that a byte wakes the sleeping CPU
 * (interrupts stay masked, main.c). RXDRDY is cleared before RXD is read: QEMU raises it again for
 * the next byte of its FIFO, which is then a fresh event that wakes the CPU.
 */
#include "mcu.h"
#include "nrf51.h"

void nrf_uart_init(void) {
  NRF_REG(NRF51_UART0 + UART_PSELTXD) = MICROBIT_UART_TX_PIN;
  NRF_REG(NRF51_UART0 + UART_PSELRXD) = MICROBIT_UART_RX_PIN;
  NRF_REG(NRF51_UART0 + UART_BAUDRATE) = UART_BAUDRATE_115200;
  NRF_REG(NRF51_UART0 + UART_ENABLE) = UART_ENABLE_ENABLED;
  NRF_REG(NRF51_UART0 + UART_INTENSET) = UART_INTEN_RXDRDY;
  NRF_REG(NRF51_UART0 + UART_TASKS_STARTTX) = 1;
  NRF_REG(NRF51_UART0 + UART_TASKS_STARTRX) = 1;
  NRF_REG(NVIC_ISER) = 1u << NRF51_IRQ_OF(NRF51_UART0);
}

void nrf_uart_write(const uint8_t *bytes, size_t length) {
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
