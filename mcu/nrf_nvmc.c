/*
 * NVMC (nRF51 RM chapter 6): page erase and word programming of the on-chip flash. The token's
 * 16 pages of records are the last 16 KiB of the part's 256 KiB (nrf51822.ld). Programming clears
 * bits only (a word written over a programmed word is ANDed with it, as on the real flash and in
 * QEMU's model, hw/nvram/nrf51_nvm.c). The CPU stalls while the NVMC works (RM §6.1): an erase takes
 * about 22 ms and a word about 48 µs on the real part; QEMU completes both at once, so the energy
 * model charges them from the datasheet figures instead (docs/hardware.md).
 */
#include "mcu.h"
#include "nrf51.h"

static void nvmc_wait(void) {
  while (NRF_REG(NRF51_NVMC + NVMC_READY) == 0) {
  }
}

void nrf_nvmc_erase_page(uint32_t address) {
  NRF_REG(NRF51_NVMC + NVMC_CONFIG) = NVMC_CONFIG_EEN;
  nvmc_wait();
  NRF_REG(NRF51_NVMC + NVMC_ERASEPAGE) = address;
  nvmc_wait();
  NRF_REG(NRF51_NVMC + NVMC_CONFIG) = NVMC_CONFIG_REN;
  nvmc_wait();
}

void nrf_nvmc_write_word(uint32_t address, uint32_t value) {
  NRF_REG(NRF51_NVMC + NVMC_CONFIG) = NVMC_CONFIG_WEN;
  nvmc_wait();
  NRF_REG(address) = value;
  nvmc_wait();
  NRF_REG(NRF51_NVMC + NVMC_CONFIG) = NVMC_CONFIG_REN;
  nvmc_wait();
}
