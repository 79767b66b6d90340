/*
 * nRF51822 registers the token touches, in one place (nRF51 Series Reference Manual v3.0: the
 * register tables of each peripheral's chapter; base addresses from its "Instantiation" table).
 * Only what the HAL uses is here. Every access is a 32-bit volatile word access: QEMU's models
 * (hw/arm/nrf51_soc.c and the peripheral files it instantiates) accept nothing else.
 */
#ifndef NRF51_H
#define NRF51_H

#include <stdint.h>

#ifdef NRF51_MODEL
/*
 * Host tests (test/nrf51-model/): the same driver files compiled with the host's cc, every register
 * access going to a register model written from the Reference Manual (nrf51_model.c), which keeps the
 * registers in a struct and applies what a write does (a task, an event cleared) at the next access.
 */
volatile uint32_t *nrf51_model_register(uint32_t address);
#define NRF_REG(address) (*nrf51_model_register(address))
#else
#define NRF_REG(address) (*(volatile uint32_t *)(uintptr_t)(address))
#endif

/* Memory map (RM §5). The SoC has 256 KiB of flash in 1 KiB pages and 16 KiB of RAM. */
#define NRF51_FLASH_PAGE_BYTES 1024u
#define NRF51_RAM_BASE 0x20000000u

/* A peripheral's interrupt number is bits 12-16 of its base address (RM §8.3). */
#define NRF51_IRQ_OF(base) (((base) >> 12) & 0x1fu)

/* CLOCK (RM chapter 13): HFCLK and LFCLK sources. */
#define NRF51_CLOCK 0x40000000u
#define CLOCK_TASKS_HFCLKSTOP 0x004u
#define CLOCK_TASKS_LFCLKSTART 0x008u
#define CLOCK_EVENTS_LFCLKSTARTED 0x104u
#define CLOCK_INTENSET 0x304u
#define CLOCK_INTEN_LFCLKSTARTED 2u
#define CLOCK_HFCLKSTAT 0x40cu
#define CLOCK_LFCLKSTAT 0x418u
#define CLOCK_LFCLKSTAT_RUNNING (1u << 16)
#define CLOCK_LFCLKSTAT_SRC_MASK 3u
#define CLOCK_LFCLKSRC 0x518u
#define CLOCK_LFCLKSRC_XTAL 1u

/* RTC0 and RTC1 (RM chapter 19): a 24-bit COUNTER at 32,768 Hz / (PRESCALER + 1). */
#define NRF51_RTC0 0x4000b000u
#define NRF51_RTC1 0x40011000u
#define RTC_TASKS_START 0x000u
#define RTC_TASKS_STOP 0x004u
#define RTC_TASKS_CLEAR 0x008u
#define RTC_TASKS_TRIGOVRFLW 0x00cu
#define RTC_EVENTS_TICK 0x100u
#define RTC_EVENTS_OVRFLW 0x104u
#define RTC_EVENTS_COMPARE(n) (0x140u + 4u * (n))
#define RTC_INTENSET 0x304u
#define RTC_INTENCLR 0x308u
#define RTC_EVTENSET 0x344u
#define RTC_EVTENCLR 0x348u
#define RTC_BIT_TICK 1u
#define RTC_BIT_OVRFLW 2u
#define RTC_BIT_COMPARE(n) (1u << (16u + (n)))
#define RTC_COUNTER 0x504u
#define RTC_PRESCALER 0x508u
#define RTC_CC(n) (0x540u + 4u * (n))
#define RTC_COUNTER_MASK 0x00ffffffu
#define RTC_LFCLK_HZ 32768u

/* GPIOTE (RM chapter 15): channel n drives a pin from its OUT task (task mode). */
#define NRF51_GPIOTE 0x40006000u
#define GPIOTE_TASKS_OUT(n) (0x000u + 4u * (n))
#define GPIOTE_EVENTS_PORT 0x17cu
#define GPIOTE_INTENSET 0x304u
#define GPIOTE_INTEN_PORT (1u << 31)
#define GPIOTE_CONFIG(n) (0x510u + 4u * (n))
#define GPIOTE_CONFIG_MODE_TASK 3u
#define GPIOTE_CONFIG_PSEL(pin) ((uint32_t)(pin) << 8)
#define GPIOTE_CONFIG_POLARITY_TOGGLE (3u << 16)
#define GPIOTE_CONFIG_OUTINIT_LOW 0u

/* PPI (RM chapter 16): channel n triggers the task at TEP when the event at EEP happens. */
#define NRF51_PPI 0x4001f000u
#define PPI_CHENSET 0x504u
#define PPI_CHENCLR 0x508u
#define PPI_CH_EEP(n) (0x510u + 8u * (n))
#define PPI_CH_TEP(n) (0x514u + 8u * (n))

/* UART0 (RM chapter 29). */
#define NRF51_UART0 0x40002000u
#define UART_TASKS_STARTRX 0x000u
#define UART_TASKS_STOPRX 0x004u
#define UART_TASKS_STARTTX 0x008u
#define UART_TASKS_STOPTX 0x00cu
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
#define SPI_EVENTS_READY 0x108u
#define SPI_ENABLE 0x500u
#define SPI_ENABLE_ENABLED 1u
#define SPI_PSELSCK 0x508u
#define SPI_PSELMOSI 0x50cu
#define SPI_RXD 0x518u
#define SPI_TXD 0x51cu
#define SPI_FREQUENCY 0x524u
#define SPI_FREQUENCY_1M 0x10000000u
#define SPI_CONFIG 0x554u
#define SPI_CONFIG_LSB_FIRST 1u /* the memory LCD takes each byte's least significant bit first */

/* TIMER0-2 (RM chapter 18): 16 MHz base clock divided by 2^PRESCALER (0-9). */
#define NRF51_TIMER0 0x40008000u
#define NRF51_TIMER1 0x40009000u
#define NRF51_TIMER2 0x4000a000u
#define TIMER_TASKS_START 0x000u
#define TIMER_TASKS_STOP 0x004u
#define TIMER_TASKS_CLEAR 0x00cu
#define TIMER_TASKS_CAPTURE(n) (0x040u + 4u * (n))
#define TIMER_EVENTS_COMPARE(n) (0x140u + 4u * (n))
#define TIMER_INTENSET 0x304u
#define TIMER_INTENCLR 0x308u
#define TIMER_INTEN_COMPARE(n) (1u << (16u + (n)))
#define TIMER_MODE 0x504u
#define TIMER_MODE_TIMER 0u
#define TIMER_BITMODE 0x508u
#define TIMER_BITMODE_16 0u
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
#define GPIO_OUT 0x504u
#define GPIO_OUTSET 0x508u
#define GPIO_OUTCLR 0x50cu
#define GPIO_IN 0x510u
#define GPIO_PIN_CNF(n) (0x700u + 4u * (n))
#define GPIO_CNF_DIR_OUTPUT 1u
#define GPIO_CNF_INPUT_CONNECT 0u
#define GPIO_CNF_PULLUP (3u << 2)
#define GPIO_CNF_PULLDOWN (1u << 2)
#define GPIO_CNF_DRIVE_H0H1 (3u << 8) /* high drive: the panel's supply pin */
#define GPIO_CNF_SENSE_HIGH (2u << 16)
#define GPIO_CNF_SENSE_LOW (3u << 16)

/* Cortex-M0 system control space (ARMv6-M Architecture Reference Manual, B3). */
#define NVIC_ISER 0xe000e100u
#define NVIC_ICPR 0xe000e280u
#define SCB_AIRCR 0xe000ed0cu
#define SCB_SCR 0xe000ed10u
#define SCB_SCR_SEVONPEND (1u << 4) /* a newly pending interrupt, masked or not, wakes WFE */
#define SCB_AIRCR_SYSRESETREQ 0x05fa0004u

/* The BBC micro:bit's wiring of the nRF51822 (QEMU's `microbit` machine): button A, the UART and SPI pins. */
#define MICROBIT_BUTTON_A_PIN 17u
#define MICROBIT_UART_TX_PIN 24u
#define MICROBIT_UART_RX_PIN 25u
/* The panel on the micro:bit's edge-connector SPI pins (P0.23 SCK, P0.21 MOSI). */
#define MICROBIT_SPI_SCK_PIN 23u
#define MICROBIT_SPI_MOSI_PIN 21u
/* The panel's other pins, on free edge-connector pins: chip select (SCS, active high), display on
 * (DISP), the VCOM inversion input (EXTCOMIN) and the GPIO that powers it (VDD and VDDA, high drive). */
#define PANEL_SCS_PIN 16u
#define PANEL_DISP_PIN 18u
#define PANEL_EXTCOMIN_PIN 1u
#define PANEL_POWER_PIN 2u
/* The five light sensors' comparators (light.c): P0.03 the clock bar, P0.04-P0.07 the data bars (the
 * nibble's lowest bit on P0.04), and the GPIO that powers the photodiodes and comparators. */
#define LIGHT_SENSOR_FIRST_PIN 3u
#define LIGHT_POWER_PIN 8u

#endif
