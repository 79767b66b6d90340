// The panel's bus and timing, defined once: mcu/sharp_lcd.c and mcu/nrf_spi.c use them through
// build/mcu/token_abi.h (scripts/build-mcu.js writes every numeric export of this file there), the
// energy model (host/board/energy.ts) and the press latency (bench/mcu.ts) from here.
//
// The panel is a Sharp LS011B7DH03 memory-in-pixel LCD (160 x 68, 1 bit). Its own data sheet was not
// reachable here; the timings are those of its sibling LS013B7DH03's data sheet (same interface),
// taken as stand-ins: SCLK up to 1 MHz, SCS set up 6 µs before the first clock and held 2 µs after
// the last, SCS low at least 6 µs between frames, EXTCOMIN toggled about once a second (VCOM inversion).

/** Hz of the SPI clock to the panel (nRF51 SPI FREQUENCY K1000; the panel's maximum). */
export const PANEL_SPI_HZ = 1_000_000;
/** µs SCS must be high before the first clock, held after the last, and low between frames. */
export const PANEL_SCS_SETUP_MICROSECONDS = 6;
export const PANEL_SCS_HOLD_MICROSECONDS = 2;
export const PANEL_SCS_LOW_MICROSECONDS = 6;
/** Bytes per line written (address, 20 data bytes, dummy) and per frame (mode byte, final dummy). */
export const PANEL_LINE_BYTES = 22;
export const PANEL_FRAME_OVERHEAD_BYTES = 2;
/** Seconds between EXTCOMIN toggles while the panel shows something (RTC0 at 8 Hz, 8 ticks). */
export const PANEL_EXTCOMIN_SECONDS = 1;
/** RTC0's prescaler for EXTCOMIN: 32,768 Hz / 4,096 = 8 Hz (nRF51 RM chapter 19: PRESCALER is 12 bits). */
export const PANEL_EXTCOMIN_PRESCALER = 4095;
