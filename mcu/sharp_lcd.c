/*
 * The panel: a Sharp LS011B7DH03 memory-in-pixel LCD (160 x 68, 1 bit) on SPI, with the firmware's
 * 128 x 32 framebuffer in its middle, driven as its maker specifies (timings: host/mcu/panel.ts):
 *
 * - Power: the panel's VDD/VDDA come from a GPIO (PANEL_POWER_PIN, high drive); it is powered only
 *   while the firmware shows something. At power-on it is cleared (the "all clear" command), then DISP
 *   goes high and VCOM inversion starts; at power-off DISP goes low, inversion stops, the supply is cut
 *   (so it forgets its image: the next frame is written whole).
 * - VCOM: the EXTCOMIN pin is toggled once a second while the panel is on, by RTC0's COMPARE[0] at
 *   8 Hz through PPI channel 0 to GPIOTE channel 0's toggle task; PPI channel 1 clears RTC0 on the same
 *   event, so the next toggle comes a second later. The CPU sleeps through all of it.
 * - Frames: only the lines that changed since the last call, in one multiple-line write (a mode byte,
 *   then per line its address, the line's data and a dummy byte, then a final dummy byte), SCS high
 *   around it with its set-up and hold times. The framebuffer is in SSD1306 page layout (a byte is 8
 *   rows of one column: assembly/display/framebuffer.ts); the panel takes rows, so each changed row is
 *   gathered from its column bytes, leftmost pixel first (bit 0: the bus sends LSB first), a lit pixel
 *   dark (0) on the white (1) panel.
 *
 * QEMU 7.2 models no SPI, RTC, GPIOTE or PPI on the nRF51: on the emulator images the lines are found
 * and laid out exactly as they would be sent, and counted (the meter reports them), the pins move in
 * QEMU's GPIO model, and the rest is written to unimplemented registers. The silicon image's use of
 * those peripherals is tested on the host against a register model (test/nrf51-model/).
 */
#include <string.h>

#include "mcu.h"
#include "nrf51.h"

#define PANEL_WIDTH 160u
#define PANEL_HEIGHT 68u
#define LINE_BYTES (PANEL_WIDTH / 8u)
#define FB_WIDTH 128u
#define FB_ROWS 32u
#define FB_BYTES (FB_WIDTH * FB_ROWS / 8u)
#define FIRST_LINE ((PANEL_HEIGHT - FB_ROWS) / 2u + 1u) /* the panel numbers its lines from 1 */
#define FIRST_BYTE ((PANEL_WIDTH - FB_WIDTH) / 16u)   /* centred: whole bytes of margin each side */

_Static_assert(FB_BYTES == 512, "the firmware's framebuffer is 128 x 32");
_Static_assert(1 + LINE_BYTES + 1 == PANEL_LINE_BYTES, "a line on the bus is host/mcu/panel.ts's PANEL_LINE_BYTES");

/* Mode bytes, first bit on the wire first (LSB first): M0 write, M2 clear all. */
#define MODE_WRITE_LINES 0x01u
#define MODE_CLEAR_ALL 0x04u

#define EXTCOMIN_RTC NRF51_RTC0
#define EXTCOMIN_GPIOTE 0u
#define PPI_EXTCOMIN_TOGGLE 0u
#define PPI_EXTCOMIN_RESTART 1u
#define PPI_EXTCOMIN ((1u << PPI_EXTCOMIN_TOGGLE) | (1u << PPI_EXTCOMIN_RESTART))
#define EXTCOMIN_TICKS (PANEL_EXTCOMIN_SECONDS * (RTC_LFCLK_HZ / (PANEL_EXTCOMIN_PRESCALER + 1u)))

static uint32_t shown[FB_BYTES / 4u]; /* what the panel holds, compared a word at a time */
static bool powered;
static uint8_t line[1 + LINE_BYTES + 1];
static uint32_t lines_written;

void sharp_lcd_init(void) {
  nrf_gpio_output(PANEL_SCS_PIN, false);
  nrf_gpio_output(PANEL_DISP_PIN, false);
  nrf_gpio_output(PANEL_EXTCOMIN_PIN, false);
  nrf_gpio_output(PANEL_POWER_PIN, true);
  memset(line + 1, 0xff, LINE_BYTES); /* the margins: white; the trailing dummy byte stays 0 */
}

static void frame_begin(void) {
  nrf_gpio_write(PANEL_SCS_PIN, true);
  mcu_delay_us(PANEL_SCS_SETUP_MICROSECONDS);
}

static void frame_end(void) {
  mcu_delay_us(PANEL_SCS_HOLD_MICROSECONDS);
  nrf_gpio_write(PANEL_SCS_PIN, false);
  mcu_delay_us(PANEL_SCS_LOW_MICROSECONDS);
}

static void extcomin_start(void) {
  nrf_gpiote_toggle_task(EXTCOMIN_GPIOTE, PANEL_EXTCOMIN_PIN);
  uint32_t compare = EXTCOMIN_RTC + RTC_EVENTS_COMPARE(0);
  nrf_ppi_connect(PPI_EXTCOMIN_TOGGLE, compare, nrf_gpiote_out_task(EXTCOMIN_GPIOTE));
  nrf_ppi_connect(PPI_EXTCOMIN_RESTART, compare, EXTCOMIN_RTC + RTC_TASKS_CLEAR);
  nrf_ppi_enable(PPI_EXTCOMIN);
  nrf_rtc_compare_arm(EXTCOMIN_RTC, 0, EXTCOMIN_TICKS, false, true);
  nrf_rtc_start(EXTCOMIN_RTC, PANEL_EXTCOMIN_PRESCALER);
}

static void extcomin_stop(void) {
  nrf_rtc_stop(EXTCOMIN_RTC);
  nrf_rtc_compare_disarm(EXTCOMIN_RTC, 0);
  nrf_ppi_disable(PPI_EXTCOMIN);
  nrf_gpiote_release(EXTCOMIN_GPIOTE); /* the pin goes back to GPIO OUT: low */
}

static void power_on(void) {
  static const uint8_t clear_all[2] = {MODE_CLEAR_ALL, 0};
  nrf_gpio_write(PANEL_POWER_PIN, true);
  frame_begin();
  nrf_spi_write(clear_all, sizeof clear_all);
  frame_end();
  nrf_gpio_write(PANEL_DISP_PIN, true);
  extcomin_start();
  powered = true;
}

static void power_off(void) {
  nrf_gpio_write(PANEL_DISP_PIN, false);
  extcomin_stop();
  nrf_gpio_write(PANEL_POWER_PIN, false);
  powered = false;
}

/** One row as the panel takes it: its address, 20 data bytes (margins white), a dummy byte. */
static void send_row(const uint8_t *framebuffer, uint32_t row) {
  const uint8_t *page = framebuffer + (row >> 3) * FB_WIDTH;
  uint32_t bit = row & 7u;
  line[0] = (uint8_t)(FIRST_LINE + row);
  /* Eight columns make one byte of the row, the leftmost pixel in bit 0. */
  for (uint32_t byte = 0; byte < FB_WIDTH / 8u; byte++) {
    const uint8_t *columns = page + byte * 8u;
    uint32_t pixels = 0;
    for (uint32_t i = 8u; i-- > 0;) pixels = (pixels << 1) | ((uint32_t)(columns[i] >> bit) & 1u);
    line[1 + FIRST_BYTE + byte] = (uint8_t)~pixels;
  }
  nrf_spi_write(line, sizeof line);
  lines_written++;
}

uint32_t sharp_lcd_lines_written(void) {
  return lines_written;
}

bool sharp_lcd_powered(void) {
  return powered;
}

void sharp_lcd_show(const uint8_t *framebuffer, bool on) {
  if (!on) {
    if (powered) power_off();
    return;
  }
  bool fresh = !powered;
  if (fresh) power_on();
  /* The rows that changed: a page's 128 column bytes ORed together, four at a time. The framebuffer is
   * word-aligned (the firmware's static data is, and so is the linear memory). */
  const uint32_t *words = (const uint32_t *)(const void *)framebuffer;
  uint8_t changed[FB_ROWS / 8u];
  for (uint32_t page = 0; page < FB_ROWS / 8u; page++) {
    uint32_t bits = 0;
    for (uint32_t i = page * FB_WIDTH / 4u; i < (page + 1u) * FB_WIDTH / 4u; i++) bits |= words[i] ^ shown[i];
    bits |= bits >> 16;
    bits |= bits >> 8;
    changed[page] = fresh ? 0xffu : (uint8_t)bits;
  }
  static const uint8_t mode = MODE_WRITE_LINES, trailer = 0;
  bool any = false;
  for (uint32_t row = 0; row < FB_ROWS; row++) {
    if (!((changed[row >> 3] >> (row & 7u)) & 1u)) continue;
    if (!any) {
      frame_begin();
      nrf_spi_write(&mode, 1);
    }
    any = true;
    send_row(framebuffer, row);
  }
  if (any) {
    nrf_spi_write(&trailer, 1);
    frame_end();
  }
  memcpy(shown, framebuffer, FB_BYTES);
}
