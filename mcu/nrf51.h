/*
 * nRF51822 registers the token touches, in one place (nRF51 Series Reference Manual v3.0: the
 * register tables of each peripheral's chapter; base addresses from its "Instantiation" table).
 * Only what the HAL uses is here. Every access is a 32-bit volatile word access: QEMU's models
 * (hw/arm/nrf51_soc.c and the peripheral files it instantiates) accept nothing else.
 */
#ifndef NRF51_H
#define NRF51_H

#include <stdint.h>

#define NRF_REG(address) (*(volatile uint32_t *)(uintptr_t)(address))

/* Memory map (RM §5). The SoC has 256 KiB of flash in 1 KiB pages and 16 KiB of RAM. */
#define NRF51_FLASH_PAGE_BYTES 1024u
#define NRF51_RAM_BASE 0x20000000u

/* A peripheral's interrupt number is bits 12-16 of its base address (RM §8.3). */
#define NRF51_IRQ_OF(base) (((base) >> 12) & 0x1fu)

/* UART0 (RM chapter 29). */
#define NRF51_UART0 0x40002000u
#define UART_TASKS_STARTRX 0x000u
#define UART_TASKS_STARTTX 0x008u
#define UART_EVENTS_RXDRDY 0x108u
#define UART_EVENTS_TXDRDY 0x11cu
#define UART_INTENSET 0x304u
#define UART_INTEN_RXDRDY (1u << 2)
#define UART_ENABLE 0x500u
#define UART_ENABLE_ENABLED 4u
#define UART_PSELTXD 0x50cu
#define UART_PSELRXD 0x514u
#define UART_RXD 0x518u
#define UART_TXD 0x51cu
#define UART_BAUDRATE 0x524u
#define UART_BAUDRATE_115200 0x01d7e000u

/* SPI0 (RM chapter 24: SPI master). */
#define NRF51_SPI0 0x40003000u
#define SPI_ENABLE 0x500u
#define SPI_ENABLE_ENABLED 1u
#define SPI_PSELSCK 0x508u
#define SPI_PSELMOSI 0x50cu
#define SPI_TXD 0x51cu
#define SPI_FREQUENCY 0x524u
#define SPI_FREQUENCY_1M 0x10000000u

/* TIMER0-2 (RM chapter 18): 16 MHz base clock divided by 2^PRESCALER (0-9). */
#define NRF51_TIMER0 0x40008000u
#define NRF51_TIMER1 0x40009000u
#define TIMER_TASKS_START 0x000u
#define TIMER_TASKS_STOP 0x004u
#define TIMER_TASKS_CLEAR 0x00cu
#define TIMER_TASKS_CAPTURE(n) (0x040u + 4u * (n))
#define TIMER_EVENTS_COMPARE(n) (0x140u + 4u * (n))
#define TIMER_INTENSET 0x304u
#define TIMER_INTEN_COMPARE(n) (1u << (16u + (n)))
#define TIMER_MODE 0x504u
#define TIMER_MODE_TIMER 0u
#define TIMER_BITMODE 0x508u
#define TIMER_BITMODE_32 3u
#define TIMER_PRESCALER 0x510u
#define TIMER_CC(n) (0x540u + 4u * (n))
#define TIMER_BASE_HZ 16000000u

/* RNG (RM chapter 21). */
#define NRF51_RNG 0x4000d000u
#define RNG_TASKS_START 0x000u
#define RNG_TASKS_STOP 0x004u
#define RNG_EVENTS_VALRDY 0x100u
#define RNG_INTENSET 0x304u
#define RNG_INTEN_VALRDY 1u
#define RNG_CONFIG 0x504u
#define RNG_CONFIG_DECEN 1u /* bias correction: needed for key material */
#define RNG_VALUE 0x508u

/* NVMC (RM chapter 6). */
#define NRF51_NVMC 0x4001e000u
#define NVMC_READY 0x400u
#define NVMC_CONFIG 0x504u
#define NVMC_CONFIG_REN 0u
#define NVMC_CONFIG_WEN 1u
#define NVMC_CONFIG_EEN 2u
#define NVMC_ERASEPAGE 0x508u

/* GPIO (RM chapter 14). */
#define NRF51_GPIO 0x50000000u
#define GPIO_OUTSET 0x508u
#define GPIO_OUTCLR 0x50cu
#define GPIO_IN 0x510u
#define GPIO_PIN_CNF(n) (0x700u + 4u * (n))
#define GPIO_CNF_DIR_OUTPUT 1u
#define GPIO_CNF_INPUT_CONNECT 0u
#define GPIO_CNF_PULLUP (3u << 2)
#define GPIO_CNF_SENSE_LOW (3u << 16)

/* Cortex-M0 system control space (ARMv6-M Architecture Reference Manual, B3). */
#define NVIC_ISER 0xe000e100u
#define NVIC_ICPR 0xe000e280u
#define SCB_AIRCR 0xe000ed0cu
#define SCB_AIRCR_SYSRESETREQ 0x05fa0004u

/* The BBC micro:bit's wiring of the nRF51822 (QEMU's `microbit` machine): button A, the UART and SPI pins. */
#define MICROBIT_BUTTON_A_PIN 17u
#define MICROBIT_UART_TX_PIN 24u
#define MICROBIT_UART_RX_PIN 25u
/* The panel on the micro:bit's edge-connector SPI pins (P0.23 SCK, P0.21 MOSI). */
#define MICROBIT_SPI_SCK_PIN 23u
#define MICROBIT_SPI_MOSI_PIN 21u

#endif
