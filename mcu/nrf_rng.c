/*
 * RNG (nRF51 RM chapter 21): the firmware's hal.random. Bias correction (CONFIG.DECEN) is on, as
 * key material needs; the CPU sleeps between bytes (VALRDY wakes it).
 */
#include "mcu.h"
#include "nrf51.h"

void nrf_rng_fill(uint8_t *bytes, size_t length) {
  NRF_REG(NRF51_RNG + RNG_CONFIG) = RNG_CONFIG_DECEN;
  NRF_REG(NRF51_RNG + RNG_INTENSET) = RNG_INTEN_VALRDY;
  NRF_REG(NVIC_ISER) = 1u << NRF51_IRQ_OF(NRF51_RNG);
  NRF_REG(NRF51_RNG + RNG_EVENTS_VALRDY) = 0;
  NRF_REG(NRF51_RNG + RNG_TASKS_START) = 1;
  for (size_t i = 0; i < length; i++) {
    while (NRF_REG(NRF51_RNG + RNG_EVENTS_VALRDY) == 0) mcu_sleep();
    NRF_REG(NRF51_RNG + RNG_EVENTS_VALRDY) = 0;
    bytes[i] = (uint8_t)NRF_REG(NRF51_RNG + RNG_VALUE);
  }
  NRF_REG(NRF51_RNG + RNG_TASKS_STOP) = 1;
}
