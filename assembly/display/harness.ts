// Test entry for the display (build/display*.wasm): the drawing functions and the layout and font
// constants the host needs to decode a frame, all numbers only. Called by test/display.test.ts and
// by host tools that render screens; the firmware proper imports the same modules.

export { clear, drawBigDigits, drawNumber, drawRect, drawText, fillRect, setPixel, bigDigitOffset, bigDigitsWidth,
  textWidth, FB_BYTES, FB_HEIGHT, FB_WIDTH, FRAMEBUFFER } from "./framebuffer";
export { BIG_GLYPH_BYTES, BIG_GLYPH_HEIGHT, BIG_GLYPH_WIDTH, FONT_BIG, FONT_SMALL, SMALL_ADVANCE, SMALL_GLYPH_HEIGHT,
  SMALL_GLYPH_WIDTH } from "./font";
export { BATTERY_HEIGHT, BATTERY_MAX_LEVEL, BATTERY_WIDTH, BATTERY_X, BATTERY_Y, drawInfoScreen, drawOtpScreen,
  drawStatusScreen, OTP_COUNTDOWN_HEIGHT, OTP_COUNTDOWN_Y, OTP_DIGITS_Y, OTP_LABEL_MAX_CHARS, otpBarX, otpDigitX,
  SCREEN_ACTIVATING, SCREEN_ADD_CONFIRM, SCREEN_CLOCK_LOST, SCREEN_ERASE_CONFIRM, SCREEN_LOCKED, SCREEN_LOW_BATTERY, SCREEN_NOT_SET_UP,
  SCREEN_OFF, SCREEN_SELF_TEST_FAILED, SCREEN_STORAGE_ERROR } from "./screens";

/** Bytes of INPUT. */
export const INPUT_BYTES: u32 = 64;
/** Where the host writes ASCII text (a label) before passing INPUT as the text pointer of a draw call. */
export const INPUT: usize = memory.data(INPUT_BYTES);
