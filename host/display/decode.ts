// Reads the large digits of the code back out of a framebuffer by matching glyph bitmaps, so a test
// (or the simulator) can prove from the pixels alone which code the panel shows. The font and the
// digit positions come from the firmware's own exports, never from numbers repeated here.
import { pixel, PANEL_WIDTH } from "./render.js";

/** The firmware's large font: 10 glyphs (0-9), rows of little-endian u16, leftmost pixel = bit width-1. */
export interface BigFont {
  /** Glyph bytes, `glyphBytes` per digit, copied out of wasm memory at FONT_BIG. */
  glyphs: Uint8Array;
  width: number;
  height: number;
  glyphBytes: number;
}

/** Where the digits are: the top row and the left x of each digit, leftmost first. */
export interface DigitCells {
  y: number;
  xs: number[];
}

/** The exports of a module built from assembly/display (the harness, or the firmware exporting the same). */
export interface DisplayLayoutExports {
  memory: WebAssembly.Memory;
  FONT_BIG: number;
  BIG_GLYPH_WIDTH: number;
  BIG_GLYPH_HEIGHT: number;
  BIG_GLYPH_BYTES: number;
  OTP_DIGITS_Y: number;
  otpDigitX(digits: number, index: number): number;
}

/** Copies the large font out of the module's memory. */
export function readBigFont(exports: DisplayLayoutExports): BigFont {
  const glyphBytes = exports.BIG_GLYPH_BYTES;
  const glyphs = new Uint8Array(exports.memory.buffer, exports.FONT_BIG, glyphBytes * 10).slice();
  return { glyphs, width: exports.BIG_GLYPH_WIDTH, height: exports.BIG_GLYPH_HEIGHT, glyphBytes };
}

/** The cells of a `digits`-digit code on the OTP screen, as the firmware lays them out. */
export function otpDigitCells(exports: DisplayLayoutExports, digits: number): DigitCells {
  const xs = Array.from({ length: digits }, (_, index) => exports.otpDigitX(digits, index));
  return { y: exports.OTP_DIGITS_Y, xs };
}

function glyphPixel(font: BigFont, digit: number, x: number, y: number): boolean {
  const at = digit * font.glyphBytes + y * 2;
  const row = font.glyphs[at] | (font.glyphs[at + 1] << 8);
  return ((row >> (font.width - 1 - x)) & 1) === 1;
}

/**
 * The digit whose glyph exactly matches the cell with top left (x, y), or undefined when none does
 * (blank, damaged, overdrawn or misplaced).
 */
export function decodeBigDigit(fb: Uint8Array, font: BigFont, x: number, y: number, width = PANEL_WIDTH): number | undefined {
  for (let digit = 0; digit < 10; digit++) {
    let same = true;
    for (let row = 0; row < font.height && same; row++) {
      for (let column = 0; column < font.width && same; column++) {
        same = pixel(fb, x + column, y + row, width) === glyphPixel(font, digit, column, row);
      }
    }
    if (same) return digit;
  }
  return undefined;
}

/** Reads the digits in `cells` as a string, "?" for any cell that matches no glyph exactly. */
export function decodeBigDigits(fb: Uint8Array, font: BigFont, cells: DigitCells, width = PANEL_WIDTH): string {
  return cells.xs.map((x) => decodeBigDigit(fb, font, x, cells.y, width) ?? "?").join("");
}
