// The two fonts of the 128x32 panel, as constant tables in static memory (no allocation, nothing
// built at start-up). Only the characters the screens need are stored.

import { nameGlyphColumns } from "./name-font";

/** Small font: 5x7 pixel glyphs on a 6-pixel advance (one blank column between characters). */
export const SMALL_GLYPH_WIDTH: i32 = 5;
export const SMALL_GLYPH_HEIGHT: i32 = 7;
export const SMALL_ADVANCE: i32 = 6;

/**
 * Small-font glyphs, 5 column bytes each, bit 0 = top row: the SSD1306 page layout. Order: 0-9,
 * A-Z, then the symbols in SMALL_SYMBOLS. 43 glyphs, 215 bytes.
 */
export const FONT_SMALL: usize = memory.data<u8>([
  0x3e, 0x51, 0x49, 0x45, 0x3e, // 0 (slashed, unlike O)
  0x00, 0x42, 0x7f, 0x40, 0x00, // 1
  0x62, 0x51, 0x49, 0x49, 0x46, // 2
  0x22, 0x41, 0x49, 0x49, 0x36, // 3
  0x18, 0x14, 0x12, 0x7f, 0x10, // 4
  0x27, 0x45, 0x45, 0x45, 0x39, // 5
  0x3c, 0x4a, 0x49, 0x49, 0x30, // 6
  0x01, 0x71, 0x09, 0x05, 0x03, // 7
  0x36, 0x49, 0x49, 0x49, 0x36, // 8
  0x06, 0x49, 0x49, 0x29, 0x1e, // 9
  0x7e, 0x09, 0x09, 0x09, 0x7e, // A
  0x7f, 0x49, 0x49, 0x49, 0x36, // B
  0x3e, 0x41, 0x41, 0x41, 0x22, // C
  0x7f, 0x41, 0x41, 0x22, 0x1c, // D
  0x7f, 0x49, 0x49, 0x49, 0x41, // E
  0x7f, 0x09, 0x09, 0x09, 0x01, // F
  0x3e, 0x41, 0x49, 0x49, 0x7a, // G
  0x7f, 0x08, 0x08, 0x08, 0x7f, // H
  0x00, 0x41, 0x7f, 0x41, 0x00, // I
  0x20, 0x40, 0x41, 0x3f, 0x01, // J
  0x7f, 0x08, 0x14, 0x22, 0x41, // K
  0x7f, 0x40, 0x40, 0x40, 0x40, // L
  0x7f, 0x02, 0x0c, 0x02, 0x7f, // M
  0x7f, 0x04, 0x08, 0x10, 0x7f, // N
  0x3e, 0x41, 0x41, 0x41, 0x3e, // O
  0x7f, 0x09, 0x09, 0x09, 0x06, // P
  0x3e, 0x41, 0x51, 0x21, 0x5e, // Q
  0x7f, 0x09, 0x19, 0x29, 0x46, // R
  0x26, 0x49, 0x49, 0x49, 0x32, // S
  0x01, 0x01, 0x7f, 0x01, 0x01, // T
  0x3f, 0x40, 0x40, 0x40, 0x3f, // U
  0x1f, 0x20, 0x40, 0x20, 0x1f, // V
  0x3f, 0x40, 0x38, 0x40, 0x3f, // W
  0x63, 0x14, 0x08, 0x14, 0x63, // X
  0x07, 0x08, 0x70, 0x08, 0x07, // Y
  0x61, 0x51, 0x49, 0x45, 0x43, // Z
  0x08, 0x08, 0x08, 0x08, 0x08, // -
  0x00, 0x36, 0x36, 0x00, 0x00, // :
  0x00, 0x60, 0x60, 0x00, 0x00, // .
  0x20, 0x10, 0x08, 0x04, 0x02, // /
  0x23, 0x13, 0x08, 0x64, 0x62, // %
  0x14, 0x14, 0x14, 0x14, 0x14, // = (the transfer screens' HOLD=SIGN PRESS=NO)
  0x02, 0x01, 0x51, 0x09, 0x06, // ? (also drawn for any character without a glyph)
]);

/** The symbols after the letters in FONT_SMALL, in order: - : . / % = ? (the fallback last) */
const SMALL_SYMBOLS: usize = memory.data<u8>([0x2d, 0x3a, 0x2e, 0x2f, 0x25, 0x3d, 0x3f]);
const SMALL_SYMBOL_COUNT: u32 = 7;
const SMALL_FIRST_SYMBOL: u32 = 36;

/**
 * The glyph of an ASCII character in FONT_SMALL, or 0 for a space. Lower-case letters use the
 * upper-case glyphs; any other character shows as "?".
 */
export function smallGlyph(c: u32): usize {
  let index: u32 = SMALL_FIRST_SYMBOL + SMALL_SYMBOL_COUNT - 1;
  const letter = (c | 0x20) - 0x61;
  if (c == 0x20) return 0;
  if (c - 0x30 < 10) index = c - 0x30;
  else if (letter < 26) index = letter + 10;
  else {
    for (let i: u32 = 0; i < SMALL_SYMBOL_COUNT; i++) {
      if (<u32>load<u8>(SMALL_SYMBOLS + i) == c) index = SMALL_FIRST_SYMBOL + i;
    }
  }
  return FONT_SMALL + <usize>index * SMALL_GLYPH_WIDTH;
}

/** Where nameGlyph unpacks a glyph of name-font.ts (5 column bytes, padded to 8). */
const NAME_GLYPH: usize = memory.data(8, 8);

/**
 * The glyph of a character of a bank account name (JIS X 0201): the half-width katakana and ( ) from
 * name-font.ts, anything else as smallGlyph draws it.
 */
export function nameGlyph(c: u32): usize {
  const columns = nameGlyphColumns(c);
  if (columns == 0) return smallGlyph(c);
  store<u64>(NAME_GLYPH, columns);
  return NAME_GLYPH;
}

/** Large font for the code: digits 0-9 only, 12x16 pixels, strokes two pixels wide. */
export const BIG_GLYPH_WIDTH: i32 = 12;
export const BIG_GLYPH_HEIGHT: i32 = 16;
/** Bytes per large glyph: one little-endian u16 per row. */
export const BIG_GLYPH_BYTES: i32 = 32;

/**
 * Large-font glyphs, 16 rows of u16 each, top row first; in a row the most significant of the low
 * 12 bits is the leftmost pixel, so each literal below reads as the picture. 320 bytes.
 */
export const FONT_BIG: usize = memory.data<u16>([
  // 0
  0b000111111000,
  0b001111111100,
  0b011100001110,
  0b011000000110,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b011000000110,
  0b011100001110,
  0b001111111100,
  0b000111111000,
  // 1
  0b000001100000,
  0b000011100000,
  0b000111100000,
  0b001101100000,
  0b000001100000,
  0b000001100000,
  0b000001100000,
  0b000001100000,
  0b000001100000,
  0b000001100000,
  0b000001100000,
  0b000001100000,
  0b000001100000,
  0b000001100000,
  0b001111111100,
  0b001111111100,
  // 2
  0b001111111100,
  0b011111111110,
  0b111000000111,
  0b110000000011,
  0b000000000011,
  0b000000000111,
  0b000000001110,
  0b000000111100,
  0b000011110000,
  0b000111000000,
  0b001110000000,
  0b011100000000,
  0b111000000000,
  0b110000000000,
  0b111111111111,
  0b111111111111,
  // 3
  0b001111111100,
  0b011111111110,
  0b111000000111,
  0b110000000011,
  0b000000000011,
  0b000000000011,
  0b000000000111,
  0b000001111110,
  0b000001111110,
  0b000000000111,
  0b000000000011,
  0b000000000011,
  0b110000000011,
  0b111000000111,
  0b011111111110,
  0b001111111100,
  // 4
  0b000000001100,
  0b000000011100,
  0b000000111100,
  0b000001111100,
  0b000011101100,
  0b000111001100,
  0b001110001100,
  0b011100001100,
  0b111000001100,
  0b110000001100,
  0b111111111111,
  0b111111111111,
  0b000000001100,
  0b000000001100,
  0b000000001100,
  0b000000001100,
  // 5
  0b111111111111,
  0b111111111111,
  0b110000000000,
  0b110000000000,
  0b110000000000,
  0b110111111100,
  0b111111111110,
  0b111000000111,
  0b000000000011,
  0b000000000011,
  0b000000000011,
  0b000000000011,
  0b110000000011,
  0b111000000111,
  0b011111111110,
  0b001111111100,
  // 6
  0b000011111100,
  0b001111111100,
  0b011100000000,
  0b011000000000,
  0b110000000000,
  0b110000000000,
  0b110111111000,
  0b111111111110,
  0b111000000111,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b111000000111,
  0b011111111110,
  0b001111111100,
  // 7
  0b111111111111,
  0b111111111111,
  0b000000000011,
  0b000000000111,
  0b000000000110,
  0b000000001110,
  0b000000001100,
  0b000000011100,
  0b000000011000,
  0b000000111000,
  0b000000110000,
  0b000001110000,
  0b000001100000,
  0b000001100000,
  0b000001100000,
  0b000001100000,
  // 8
  0b001111111100,
  0b011111111110,
  0b111000000111,
  0b110000000011,
  0b110000000011,
  0b111000000111,
  0b011111111110,
  0b011111111110,
  0b111000000111,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b111000000111,
  0b011111111110,
  0b001111111100,
  // 9
  0b001111111100,
  0b011111111110,
  0b111000000111,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b110000000011,
  0b111000000111,
  0b011111111111,
  0b000111111011,
  0b000000000011,
  0b000000000011,
  0b000000000110,
  0b000000001110,
  0b001111111100,
  0b001111110000,
]);
