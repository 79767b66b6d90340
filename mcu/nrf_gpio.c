/*
 * GPIO (nRF51 RM chapter 14): button A of the micro:bit, P0.17, active low with a pull-up, and the
 * panel's control pins (outputs). On the silicon image the button's SENSE makes a press (and, with
 * the SENSE turned round while it is down, the release) wake the CPU through GPIOTE's PORT event.
 * QEMU 7.2 models neither GPIOTE nor a way to drive an input pin from outside, so harness images
 * instead drive the pin as an output from a link command (the input buffer stays connected, and
 * QEMU's model then reads back on IN what OUT drives: hw/gpio/nrf51_gpio.c). The firmware sees the
 * pin through the same read either way.
 */
#include "mcu.h"
#include "nrf51.h"

#define BUTTON_MASK (1u << MICROBIT_BUTTON_A_PIN)
#define BUTTON_INPUT (GPIO_CNF_INPUT_CONNECT | GPIO_CNF_PULLUP)

void nrf_gpio_button_init(void) {
#ifdef MCU_HARNESS
  NRF_REG(NRF51_GPIO + GPIO_OUTSET) = BUTTON_MASK;
  NRF_REG(NRF51_GPIO + GPIO_PIN_CNF(MICROBIT_BUTTON_A_PIN)) = GPIO_CNF_DIR_OUTPUT | GPIO_CNF_INPUT_CONNECT;
#else
  NRF_REG(NRF51_GPIO + GPIO_PIN_CNF(MICROBIT_BUTTON_A_PIN)) = BUTTON_INPUT | GPIO_CNF_SENSE_LOW;
#endif
}

bool nrf_gpio_button_down(void) {
  return (NRF_REG(NRF51_GPIO + GPIO_IN) & BUTTON_MASK) == 0;
}

/* SENSE for the level the button is not at: the next change, press or release, raises DETECT (RM §14.1.2). */
void nrf_gpio_button_sense(bool down) {
#ifndef MCU_HARNESS
  NRF_REG(NRF51_GPIO + GPIO_PIN_CNF(MICROBIT_BUTTON_A_PIN)) = BUTTON_INPUT | (down ? GPIO_CNF_SENSE_HIGH : GPIO_CNF_SENSE_LOW);
#else
  (void)down;
#endif
}

#ifdef MCU_HARNESS
void nrf_gpio_button_drive(bool down) {
  NRF_REG(NRF51_GPIO + (down ? GPIO_OUTCLR : GPIO_OUTSET)) = BUTTON_MASK;
}
#endif

/** A pin as an output driving low; high drive for a pin that supplies a part. */
void nrf_gpio_output(uint32_t pin, bool high_drive) {
  NRF_REG(NRF51_GPIO + GPIO_OUTCLR) = 1u << pin;
  NRF_REG(NRF51_GPIO + GPIO_PIN_CNF(pin)) = GPIO_CNF_DIR_OUTPUT | (high_drive ? GPIO_CNF_DRIVE_H0H1 : 0u);
}

void nrf_gpio_write(uint32_t pin, bool high) {
  NRF_REG(NRF51_GPIO + (high ? GPIO_OUTSET : GPIO_OUTCLR)) = 1u << pin;
}
