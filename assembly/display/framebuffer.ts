// The 128x32 one-bit framebuffer in SSD1306 GDDRAM layout (SSD1306 datasheet §8.7, horizontal
// addressing): 4 pages of 128 bytes; byte (y >> 3) * 128 + x holds column x of rows 8p..8p+7, bit
// y & 7, 1 = pixel on. The host copies these 512 bytes to the panel (or the simulator) unchanged.
// Drawing primitives clip to the panel: nothing drawn off-screen wraps into another row or page.

import { BIG_GLYPH_BYTES, BIG_GLYPH_HEIGHT, BIG_GLYPH_WIDTH, FONT_BIG, SMALL_ADVANCE, SMALL_GLYPH_HEIGHT,
  SMALL_GLYPH_WIDTH, nameGlyph, smallGlyph } from "./font";
import { formatDecimal, MAX_DECIMAL_DIGITS } from "./text";

export const FB_WIDTH: i32 = 128;
export const FB_HEIGHT: i32 = 32;
export const FB_BYTES: i32 = 512;
export const FRAMEBUFFER: usize = memory.data(FB_BYTES);

/** Space between large digits, and between the two halves of a 6-8 digit code ("123 456"). */
export const BIG_DIGIT_GAP: i32 = 2;
export const BIG_GROUP_GAP: i32 = 8;

/** Scratch for drawNumber's digits. */
const NUMBER_TEXT: usize = memory.data(MAX_DECIMAL_DIGITS);

/** Turns every pixel off. Called by each screen before it draws. */
export function clear(): void {
  memory.fill(FRAMEBUFFER, 0, FB_BYTES);
}

/** Sets (on != 0) or clears one pixel; off-panel coordinates are ignored. */
export function setPixel(x: i32, y: i32, on: u32): void {
  if (<u32>x >= <u32>FB_WIDTH || <u32>y >= <u32>FB_HEIGHT) return;
  const at = FRAMEBUFFER + (<usize>(y >> 3) << 7) + <usize>x;
  const bit: u32 = 1 << (y & 7);
  const byte: u32 = load<u8>(at);
  store<u8>(at, on ? byte | bit : byte & ~bit);
}

/** Sets (on != 0) or clears a w x h rectangle whose top left is (x, y), clipped to the panel. */
export function fillRect(x: i32, y: i32, w: i32, h: i32, on: u32): void {
  const right = min(x + w, FB_WIDTH), bottom = min(y + h, FB_HEIGHT);
  for (let row = max(y, 0); row < bottom; row++) {
    for (let column = max(x, 0); column < right; column++) setPixel(column, row, on);
  }
}

/** Outline (one pixel wide, on) of a w x h rectangle whose top left is (x, y). */
export function drawRect(x: i32, y: i32, w: i32, h: i32): void {
  fillRect(x, y, w, 1, 1);
  fillRect(x, y + h - 1, w, 1, 1);
  fillRect(x, y, 1, h, 1);
  fillRect(x + w - 1, y, 1, h, 1);
}

/** Width in pixels of `length` small-font characters at `scale` (no trailing blank column). */
export function textWidth(length: u32, scale: i32): i32 {
  return length ? <i32>length * SMALL_ADVANCE * scale - scale : 0;
}

/** Draws one ASCII character of the small font, each pixel a scale x scale block, top left (x, y). */
export function drawChar(x: i32, y: i32, c: u32, scale: i32): void {
  drawGlyph(x, y, smallGlyph(c), scale);
}

/** Draws the 5x7 glyph at `glyph` (5 column bytes; 0: a space), each pixel a scale x scale block. */
function drawGlyph(x: i32, y: i32, glyph: usize, scale: i32): void {
  if (!glyph) return;
  for (let column = 0; column < SMALL_GLYPH_WIDTH; column++) {
    const bits = <u32>load<u8>(glyph + column);
    for (let row = 0; row < SMALL_GLYPH_HEIGHT; row++) {
      if ((bits >> row) & 1) fillRect(x + column * scale, y + row * scale, scale, scale, 1);
    }
  }
}

/**
 * Draws `length` ASCII bytes at `text` in the small font from (x, y); returns the x after the last
 * character's advance. Characters past the right edge are clipped, never wrapped.
 */
export function drawText(x: i32, y: i32, text: usize, length: u32, scale: i32): i32 {
  for (let i: u32 = 0; i < length && x < FB_WIDTH; i++) {
    drawChar(x, y, load<u8>(text + i), scale);
    x += SMALL_ADVANCE * scale;
  }
  return x;
}

/**
 * Draws `length` bytes of a bank account name (JIS X 0201: half-width katakana as well as the small
 * font's characters) at `text` from (x, y) at scale 1; returns the next x. Clipped like drawText.
 */
export function drawNameText(x: i32, y: i32, text: usize, length: u32): i32 {
  for (let i: u32 = 0; i < length && x < FB_WIDTH; i++) {
    drawGlyph(x, y, nameGlyph(load<u8>(text + i)), 1);
    x += SMALL_ADVANCE;
  }
  return x;
}

/** Draws `value` in decimal in the small font, zero-padded to `minDigits`; returns the next x. */
export function drawNumber(x: i32, y: i32, value: u32, minDigits: u32): i32 {
  return drawText(x, y, NUMBER_TEXT, formatDecimal(NUMBER_TEXT, value, minDigits), 1);
}

/** Width in pixels of `digits` large digits as drawBigDigits lays them out. */
export function bigDigitsWidth(digits: u32): i32 {
  return digits ? bigDigitOffset(digits, digits - 1) + BIG_GLYPH_WIDTH : 0;
}

/**
 * X offset of large digit `index` (0 = leftmost) within a run of `digits`: codes of 6 or more
 * digits are split into two halves by a wider gap ("123 456", "123 4567", "1234 5678").
 */
export function bigDigitOffset(digits: u32, index: u32): i32 {
  const offset = <i32>index * (BIG_GLYPH_WIDTH + BIG_DIGIT_GAP);
  return digits >= 6 && index >= digits >> 1 ? offset + BIG_GROUP_GAP - BIG_DIGIT_GAP : offset;
}

/** Draws one large digit (0-9) with its top left at (x, y). */
function drawBigDigit(x: i32, y: i32, digit: u32): void {
  const glyph = FONT_BIG + <usize>digit * BIG_GLYPH_BYTES;
  for (let row = 0; row < BIG_GLYPH_HEIGHT; row++) {
    const bits = <u32>load<u16>(glyph + (<usize>row << 1));
    for (let column = 0; column < BIG_GLYPH_WIDTH; column++) {
      if ((bits >> (BIG_GLYPH_WIDTH - 1 - column)) & 1) setPixel(x + column, y + row, 1);
    }
  }
}

/**
 * Draws the low `digits` (at most 10) decimal digits of `value` in the large font from (x, y),
 * leading zeros kept: 12345 with 6 digits shows "012 345".
 */
export function drawBigDigits(x: i32, y: i32, value: u32, digits: u32): void {
  digits = min(digits, MAX_DECIMAL_DIGITS);
  for (let i = digits; i > 0; i--) {
    drawBigDigit(x + bigDigitOffset(digits, i - 1), y, value % 10);
    value /= 10;
  }
}
