/*
 * The panel: a Sharp LS011B7DH03 memory-in-pixel LCD (160 x 68, 1 bit) on SPI, with the firmware's
 * 128 x 32 framebuffer in its middle (VCOM is toggled by its EXTCOMIN pin, not by the bus). A memory LCD keeps what it was sent, so after each firmware call
 * only the lines that changed are written, with the panel's multiple-line write (Sharp, "Programming
 * Sharp's Memory LCDs": a mode byte, then per line its address, the line's data and a dummy byte, then
 * a final dummy byte). The framebuffer is in SSD1306 page layout (a byte is 8 rows of one column:
 * assembly/display/framebuffer.ts); the panel takes rows, so each changed row is gathered from its
 * column bytes.
 *
 * QEMU 7.2 models no SPI on the nRF51: the lines are found and laid out exactly as they would be sent,
 * and counted (the meter reports them; the energy model charges their transfer and the panel's write),
 * but nothing is clocked out. When the firmware turns its panel off the panel's supply is cut, so it
 * forgets its image: the next frame is written whole.
 */
#include <string.h>

#include "mcu.h"

#define PANEL_WIDTH 160u
#define PANEL_HEIGHT 68u
#define LINE_BYTES (PANEL_WIDTH / 8u)
#define FB_WIDTH 128u
#define FB_ROWS 32u
#define FB_BYTES (FB_WIDTH * FB_ROWS / 8u)
#define FIRST_LINE ((PANEL_HEIGHT - FB_ROWS) / 2u + 1u) /* the panel numbers its lines from 1 */
#define FIRST_BYTE ((PANEL_WIDTH - FB_WIDTH) / 16u)   /* centred: whole bytes of margin each side */

_Static_assert(FB_BYTES == 512, "the firmware's framebuffer is 128 x 32");

static uint32_t shown[FB_BYTES / 4u]; /* what the panel holds, compared a word at a time */
static bool blank_panel = true; /* off, or never written: it holds nothing */
static uint8_t line[1 + LINE_BYTES + 1];
static uint32_t lines_written;

#define MODE_WRITE_LINES 0x01u /* the write command; VCOM is driven by the EXTCOMIN pin */

/** One row as the panel takes it: its address, 20 data bytes (margins white), a dummy byte. */
static void send_row(const uint8_t *framebuffer, uint32_t row) {
  const uint8_t *page = framebuffer + (row >> 3) * FB_WIDTH;
  uint32_t bit = row & 7u;
  line[0] = (uint8_t)(FIRST_LINE + row);
  /* Eight columns make one byte of the row, the leftmost pixel in its top bit. */
  for (uint32_t byte = 0; byte < FB_WIDTH / 8u; byte++) {
    const uint8_t *columns = page + byte * 8u;
    uint32_t pixels = 0;
    for (uint32_t i = 0; i < 8u; i++) pixels = (pixels << 1) | ((uint32_t)(columns[i] >> bit) & 1u);
    line[1 + FIRST_BYTE + byte] = (uint8_t)pixels;
  }
  nrf_spi_write(line, sizeof line);
  lines_written++;
}

uint32_t sharp_lcd_lines_written(void) {
  return lines_written;
}

void sharp_lcd_show(const uint8_t *framebuffer, bool on) {
  if (!on) {
    blank_panel = true;
    return;
  }
  /* The rows that changed: a page's 128 column bytes ORed together, four at a time. The framebuffer is
   * word-aligned (the firmware's static data is, and so is the linear memory). */
  const uint32_t *words = (const uint32_t *)(const void *)framebuffer;
  uint8_t changed[FB_ROWS / 8u];
  for (uint32_t page = 0; page < FB_ROWS / 8u; page++) {
    uint32_t bits = 0;
    for (uint32_t i = page * FB_WIDTH / 4u; i < (page + 1u) * FB_WIDTH / 4u; i++) bits |= words[i] ^ shown[i];
    bits |= bits >> 16;
    bits |= bits >> 8;
    changed[page] = blank_panel ? 0xffu : (uint8_t)bits;
  }
  static const uint8_t mode = MODE_WRITE_LINES, trailer = 0;
  bool any = false;
  for (uint32_t row = 0; row < FB_ROWS; row++) {
    if (!((changed[row >> 3] >> (row & 7u)) & 1u)) continue;
    if (!any) nrf_spi_write(&mode, 1);
    any = true;
    send_row(framebuffer, row);
  }
  if (any) nrf_spi_write(&trailer, 1);
  memcpy(shown, framebuffer, FB_BYTES);
  blank_panel = false;
}
