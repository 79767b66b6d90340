/*
 * GPIOTE (nRF51 RM chapter 15): a channel in task mode owns its pin, and its OUT task sets, clears or
 * toggles it (the panel's EXTCOMIN, toggled from the PPI); the PORT event gathers the GPIO pins' SENSE
 * (DETECT) and wakes the CPU (button A on the silicon image). Releasing a channel (CONFIG.MODE
 * disabled) gives the pin back to the GPIO block's OUT register.
 */
#include "mcu.h"
#include "nrf51.h"

void nrf_gpiote_toggle_task(uint32_t channel, uint32_t pin) {
  NRF_REG(NRF51_GPIOTE + GPIOTE_CONFIG(channel)) =
      GPIOTE_CONFIG_MODE_TASK | GPIOTE_CONFIG_PSEL(pin) | GPIOTE_CONFIG_POLARITY_TOGGLE | GPIOTE_CONFIG_OUTINIT_LOW;
}

void nrf_gpiote_release(uint32_t channel) {
  NRF_REG(NRF51_GPIOTE + GPIOTE_CONFIG(channel)) = 0;
}

uint32_t nrf_gpiote_out_task(uint32_t channel) {
  return NRF51_GPIOTE + GPIOTE_TASKS_OUT(channel);
}

/** The PORT event (any pin's SENSE) wakes the CPU. */
void nrf_gpiote_port_wake(void) {
  NRF_REG(NRF51_GPIOTE + GPIOTE_EVENTS_PORT) = 0;
  NRF_REG(NRF51_GPIOTE + GPIOTE_INTENSET) = GPIOTE_INTEN_PORT;
  NRF_REG(NVIC_ISER) = 1u << NRF51_IRQ_OF(NRF51_GPIOTE);
}

void nrf_gpiote_port_clear(void) {
  NRF_REG(NRF51_GPIOTE + GPIOTE_EVENTS_PORT) = 0;
}
