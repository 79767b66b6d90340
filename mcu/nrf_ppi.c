/*
 * PPI (nRF51 RM chapter 16): a channel triggers a task when an event happens, without the CPU. The
 * panel's VCOM inversion uses it (sharp_lcd.c): RTC0's compare toggles EXTCOMIN through GPIOTE and
 * restarts RTC0, so the CPU sleeps through every toggle.
 */
#include "mcu.h"
#include "nrf51.h"

void nrf_ppi_connect(uint32_t channel, uint32_t event_address, uint32_t task_address) {
  NRF_REG(NRF51_PPI + PPI_CH_EEP(channel)) = event_address;
  NRF_REG(NRF51_PPI + PPI_CH_TEP(channel)) = task_address;
}

void nrf_ppi_enable(uint32_t channels) {
  NRF_REG(NRF51_PPI + PPI_CHENSET) = channels;
}

void nrf_ppi_disable(uint32_t channels) {
  NRF_REG(NRF51_PPI + PPI_CHENCLR) = channels;
}
