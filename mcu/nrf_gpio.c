/*
 * GPIO (nRF51 RM chapter 14): button A of the micro:bit, P0.17, active low with a pull-up. On a
 * board the pin's SENSE makes a press wake the CPU (GPIOTE PORT event); QEMU 7.2 models neither
 * GPIOTE nor a way to drive an input pin from outside, so harness images instead drive the pin as an
 * output from a link command (the input buffer stays connected, and QEMU's model then reads back on
 * IN what OUT drives: hw/gpio/nrf51_gpio.c). The firmware sees the pin through the same read either way.
 */
#include "mcu.h"
#include "nrf51.h"

#define BUTTON_MASK (1u << MICROBIT_BUTTON_A_PIN)

void nrf_gpio_button_init(void) {
#ifdef MCU_HARNESS
  NRF_REG(NRF51_GPIO + GPIO_OUTSET) = BUTTON_MASK;
  NRF_REG(NRF51_GPIO + GPIO_PIN_CNF(MICROBIT_BUTTON_A_PIN)) = GPIO_CNF_DIR_OUTPUT | GPIO_CNF_INPUT_CONNECT;
#else
  NRF_REG(NRF51_GPIO + GPIO_PIN_CNF(MICROBIT_BUTTON_A_PIN)) = GPIO_CNF_INPUT_CONNECT | GPIO_CNF_PULLUP | GPIO_CNF_SENSE_LOW;
#endif
}

bool nrf_gpio_button_down(void) {
  return (NRF_REG(NRF51_GPIO + GPIO_IN) & BUTTON_MASK) == 0;
}

#ifdef MCU_HARNESS
void nrf_gpio_button_drive(bool down) {
  NRF_REG(NRF51_GPIO + (down ? GPIO_OUTCLR : GPIO_OUTSET)) = BUTTON_MASK;
}
#endif
