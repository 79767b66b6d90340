/*
 * SPI0 (nRF51 RM chapter 24, SPI master): the panel's serial bus at 1 MHz, least significant bit
 * first (the memory LCD's order), mode 0. The nRF51's SPI master has no DMA: the CPU writes TXD,
 * waits for READY (the byte has been clocked out and one received) and reads RXD, which frees the
 * buffer for the next byte: 8 µs a byte at 1 MHz, which the press's latency counts (bench/mcu.ts).
 * QEMU 7.2 models no SPI on the nRF51 (its peripheral region is an unimplemented device there): the
 * emulator images write TXD and do not wait, since READY never comes; the silicon image waits.
 */
#include "mcu.h"
#include "nrf51.h"

void nrf_spi_init(void) {
  NRF_REG(NRF51_SPI0 + SPI_PSELSCK) = MICROBIT_SPI_SCK_PIN;
  NRF_REG(NRF51_SPI0 + SPI_PSELMOSI) = MICROBIT_SPI_MOSI_PIN;
  NRF_REG(NRF51_SPI0 + SPI_FREQUENCY) = SPI_FREQUENCY_1M;
  NRF_REG(NRF51_SPI0 + SPI_CONFIG) = SPI_CONFIG_LSB_FIRST;
  NRF_REG(NRF51_SPI0 + SPI_ENABLE) = SPI_ENABLE_ENABLED;
}

void nrf_spi_write(const uint8_t *bytes, size_t length) {
  for (size_t i = 0; i < length; i++) {
    NRF_REG(NRF51_SPI0 + SPI_TXD) = bytes[i];
#ifdef MCU_SILICON
    while (NRF_REG(NRF51_SPI0 + SPI_EVENTS_READY) == 0) {
    }
    NRF_REG(NRF51_SPI0 + SPI_EVENTS_READY) = 0;
    (void)NRF_REG(NRF51_SPI0 + SPI_RXD);
#endif
  }
}
