/*
 * SPI0 (nRF51 RM chapter 24, SPI master): the panel's serial bus, at 1 MHz. The nRF51's SPI has no DMA: the CPU hands it one byte at a time and waits for READY.
 * QEMU 7.2 models no SPI on the nRF51 (its peripheral region is an unimplemented device there): the
 * bytes are written to TXD, but READY never comes, so the wait is left out. On the part it is 8 µs a
 * byte at 1 MHz, which the energy model charges (host/board/energy.ts, PANEL.spiHz).
 */
#include "mcu.h"
#include "nrf51.h"

void nrf_spi_init(void) {
  NRF_REG(NRF51_SPI0 + SPI_PSELSCK) = MICROBIT_SPI_SCK_PIN;
  NRF_REG(NRF51_SPI0 + SPI_PSELMOSI) = MICROBIT_SPI_MOSI_PIN;
  NRF_REG(NRF51_SPI0 + SPI_FREQUENCY) = SPI_FREQUENCY_1M;
  NRF_REG(NRF51_SPI0 + SPI_ENABLE) = SPI_ENABLE_ENABLED;
}

void nrf_spi_write(const uint8_t *bytes, size_t length) {
  for (size_t i = 0; i < length; i++) NRF_REG(NRF51_SPI0 + SPI_TXD) = bytes[i];
}
