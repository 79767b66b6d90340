// The display: every screen drawn by the firmware's own code (build/display*.wasm, debug and
// size-optimised release) and checked from the pixels — the code is read back by glyph matching,
// regions are compared between frames. Renders are written to test-output/ for a person to look at.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeBigDigits, otpDigitCells, readBigFont, type DisplayLayoutExports } from "../host/display/decode.js";
import { PANEL_HEIGHT, PANEL_WIDTH, pixel, renderAscii, renderFramebuffer } from "../host/display/render.js";
import { buildDir, instantiate } from "../host/wasm.js";
import { ascii, pattern } from "./helpers.js";

/** The exports of assembly/display/harness.ts. */
interface DisplayHarness extends DisplayLayoutExports {
  FRAMEBUFFER: number;
  FONT_SMALL: number;
  SMALL_ADVANCE: number;
  FB_WIDTH: number;
  FB_HEIGHT: number;
  FB_BYTES: number;
  INPUT: number;
  INPUT_BYTES: number;
  OTP_COUNTDOWN_Y: number;
  OTP_COUNTDOWN_HEIGHT: number;
  OTP_LABEL_MAX_CHARS: number;
  BATTERY_X: number;
  BATTERY_Y: number;
  BATTERY_WIDTH: number;
  BATTERY_HEIGHT: number;
  BATTERY_MAX_LEVEL: number;
  SCREEN_OFF: number;
  SCREEN_NOT_SET_UP: number;
  SCREEN_ACTIVATING: number;
  SCREEN_LOCKED: number;
  SCREEN_CLOCK_LOST: number;
  SCREEN_LOW_BATTERY: number;
  SCREEN_SELF_TEST_FAILED: number;
  SCREEN_STORAGE_ERROR: number;
  SCREEN_ERASE_CONFIRM: number;
  SCREEN_ADD_CONFIRM: number;
  clear(): void;
  drawText(x: number, y: number, text: number, length: number, scale: number): number;
  drawNumber(x: number, y: number, value: number, minDigits: number): number;
  drawBigDigits(x: number, y: number, value: number, digits: number): void;
  textWidth(length: number, scale: number): number;
  bigDigitOffset(digits: number, index: number): number;
  drawOtpScreen(
    code: number,
    digits: number,
    secondsLeft: number,
    period: number,
    batteryLevel: number,
    label: number,
    labelLength: number,
  ): void;
  drawStatusScreen(kind: number, errorCode: number): void;
  drawInfoScreen(serialHigh: number, serialLow: number, versionMajor: number, versionMinor: number, batteryMillivolts: number): void;
  otpBarX(period: number): number;
}

const BUILDS = ["display.debug.wasm", "display.wasm"];

interface Display {
  wasm: DisplayHarness;
  /** A copy of the framebuffer as it is now. */
  frame(): Uint8Array;
  /** Writes ASCII into INPUT; returns [pointer, length] for a draw call. */
  input(text: string): [number, number];
  otp(code: number, digits: number, secondsLeft?: number, battery?: number, label?: string, period?: number): Uint8Array;
  status(kind: number, errorCode?: number): Uint8Array;
}

function load(file: string): Display {
  const wasm = instantiate<DisplayHarness>(file);
  const frame = () => new Uint8Array(wasm.memory.buffer, wasm.FRAMEBUFFER, wasm.FB_BYTES).slice();
  const input = (text: string): [number, number] => {
    const bytes = ascii(text);
    if (bytes.length > wasm.INPUT_BYTES) throw new Error(`${text.length} characters do not fit INPUT`);
    new Uint8Array(wasm.memory.buffer, wasm.INPUT, bytes.length).set(bytes);
    return [wasm.INPUT, bytes.length];
  };
  return {
    wasm,
    frame,
    input,
    otp(code, digits, secondsLeft = 42, battery = 3, label = "BANK", period = 60) {
      wasm.drawOtpScreen(code, digits, secondsLeft, period, battery, ...input(label));
      return frame();
    },
    status(kind, errorCode = 0) {
      wasm.drawStatusScreen(kind, errorCode);
      return frame();
    },
  };
}

/** Lit pixels in the rectangle [x0, x1) x [y0, y1). */
function litPixels(fb: Uint8Array, x0: number, y0: number, x1: number, y1: number): number {
  let count = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (pixel(fb, x, y)) count++;
  return count;
}

/** The rectangle's pixels as a "#"/"." string, for comparing regions of two frames. */
function region(fb: Uint8Array, x0: number, y0: number, x1: number, y1: number): string {
  let out = "";
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out += pixel(fb, x, y) ? "#" : ".";
  return out;
}

const blank = (fb: Uint8Array) => fb.every((byte) => byte === 0);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** A deterministic stream of u32s (xorshift32). */
function randoms(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const OUTPUT_DIR = new URL("../test-output/", import.meta.url);

describe.each(BUILDS)("%s", (file) => {
  const display = load(file);
  const { wasm } = display;
  const font = readBigFont(wasm);
  const statusKinds = [
    wasm.SCREEN_NOT_SET_UP,
    wasm.SCREEN_ACTIVATING,
    wasm.SCREEN_LOCKED,
    wasm.SCREEN_CLOCK_LOST,
    wasm.SCREEN_LOW_BATTERY,
    wasm.SCREEN_SELF_TEST_FAILED,
    wasm.SCREEN_STORAGE_ERROR,
    wasm.SCREEN_ERASE_CONFIRM,
    wasm.SCREEN_ADD_CONFIRM,
  ];

  it("exports the panel the host renders: 128x32, 512 bytes", () => {
    expect([wasm.FB_WIDTH, wasm.FB_HEIGHT, wasm.FB_BYTES]).toEqual([PANEL_WIDTH, PANEL_HEIGHT, 512]);
  });

  it("every 6, 7 and 8 digit code reads back from the pixels, leading zeros kept", () => {
    const next = randoms(0x5eed + file.length);
    const cases: [number, number][] = [];
    for (const digits of [6, 7, 8]) {
      const limit = 10 ** digits;
      for (const code of [0, 1, 12345, 123456 % limit, limit / 10 - 1, limit / 10, limit - 1]) cases.push([code, digits]);
    }
    for (let i = 0; i < 2000; i++) {
      const digits = 6 + (i % 3);
      cases.push([next() % 10 ** digits, digits]);
    }
    for (const [code, digits] of cases) {
      const fb = display.otp(code, digits, 1 + (code % 60), code % 5, "BANK");
      expect(decodeBigDigits(fb, font, otpDigitCells(wasm, digits)), `${code} with ${digits} digits`).toBe(
        String(code).padStart(digits, "0"),
      );
    }
    expect(decodeBigDigits(display.otp(0, 6), font, otpDigitCells(wasm, 6))).toBe("000000");
    expect(decodeBigDigits(display.otp(99999999, 8), font, otpDigitCells(wasm, 8))).toBe("99999999");
  });

  it("the decoder reports what is not a digit instead of guessing", () => {
    display.wasm.clear();
    expect(decodeBigDigits(display.frame(), font, otpDigitCells(wasm, 6))).toBe("??????");
    const fb = display.otp(123456, 6);
    const { xs, y } = otpDigitCells(wasm, 6);
    fb[((y + 8) >> 3) * 128 + xs[2] + 5] ^= 1 << ((y + 8) & 7); // one pixel flipped in the third digit
    expect(decodeBigDigits(fb, font, { xs, y })).toBe("12?456");
  });

  it("8 large digits fit the panel, centred, clear of the label and countdown rows", () => {
    for (const digits of [6, 7, 8]) {
      const { xs, y } = otpDigitCells(wasm, digits);
      const left = xs[0],
        right = xs[digits - 1] + wasm.BIG_GLYPH_WIDTH;
      expect(left).toBeGreaterThanOrEqual(0);
      expect(right).toBeLessThanOrEqual(128);
      expect(Math.abs(left - (128 - right))).toBeLessThanOrEqual(1);
      expect(y).toBeGreaterThanOrEqual(8);
      expect(y + wasm.BIG_GLYPH_HEIGHT).toBeLessThanOrEqual(wasm.OTP_COUNTDOWN_Y - 1);
      const fb = display.otp(88888888 % 10 ** digits, digits);
      expect(litPixels(fb, 0, 7, 128, 8) + litPixels(fb, 0, 24, 128, 25)).toBe(0);
    }
  });

  it("drawBigDigits keeps leading zeros; drawNumber pads to minDigits", () => {
    wasm.clear();
    wasm.drawBigDigits(0, 0, 42, 6);
    const cells = { y: 0, xs: [0, 1, 2, 3, 4, 5].map((i) => wasm.bigDigitOffset(6, i)) };
    expect(decodeBigDigits(display.frame(), font, cells)).toBe("000042");

    wasm.clear();
    expect(wasm.drawNumber(0, 0, 7, 3)).toBe(18);
    const number = display.frame();
    wasm.clear();
    wasm.drawText(0, 0, ...display.input("007"), 1);
    expect(same(number, display.frame())).toBe(true);
  });

  it("the seconds left show at the bottom left: 59 and 58 differ there, and only there and in the bar", () => {
    const barX = wasm.otpBarX(60);
    const y0 = wasm.OTP_COUNTDOWN_Y,
      y1 = y0 + wasm.OTP_COUNTDOWN_HEIGHT;
    const at59 = display.otp(123456, 6, 59),
      at58 = display.otp(123456, 6, 58);
    expect(region(at59, 0, y0, barX, y1)).not.toBe(region(at58, 0, y0, barX, y1));
    expect(litPixels(at58, 0, y0, barX, y1)).toBeGreaterThan(0);
    expect(region(at59, 0, 0, 128, y0)).toBe(region(at58, 0, 0, 128, y0));
    // The manual's "0": the last second of the step shows the digit 0 there.
    wasm.clear();
    wasm.drawText(wasm.SMALL_ADVANCE, y0, ...display.input("0"), 1);
    expect(region(display.frame(), 0, y0, barX, y1)).toBe(region(display.otp(1, 6, 0), 0, y0, barX, y1));
    // The number is the small-font text of the seconds, right-aligned in the field before the bar.
    wasm.clear();
    wasm.drawText(0, y0, ...display.input("42"), 1);
    expect(region(display.frame(), 0, y0, barX, y1)).toBe(region(display.otp(1, 6, 42), 0, y0, barX, y1));
  });

  it("the countdown bar grows with the seconds left: a sliver at 0, full as a code appears (59 of 60)", () => {
    const barX = wasm.otpBarX(60);
    const row = wasm.OTP_COUNTDOWN_Y + (wasm.OTP_COUNTDOWN_HEIGHT >> 1);
    const interior = 128 - barX - 4;
    let previous = 0;
    for (let secondsLeft = 0; secondsLeft <= 59; secondsLeft++) {
      const length = litPixels(display.otp(555555, 6, secondsLeft), barX + 2, row, 126, row + 1);
      expect(length, `${secondsLeft} s`).toBeGreaterThan(previous);
      previous = length;
    }
    expect(previous).toBe(interior);
    expect(same(display.otp(1, 6, 59), display.otp(1, 6, 60))).toBe(true); // clamped to the period less one
    // Other periods: the field widens with the period's digits, the bar still ends full.
    const barX30 = wasm.otpBarX(30),
      barX120 = wasm.otpBarX(120);
    expect(barX30).toBe(barX);
    expect(barX120).toBeGreaterThan(barX);
    const full = display.otp(1, 6, 119, 3, "X", 120);
    expect(litPixels(full, barX120 + 2, row, 126, row + 1)).toBe(128 - barX120 - 4);
  });

  it("the battery icon shows 0-4 bars at the top right and nothing else changes", () => {
    const x0 = wasm.BATTERY_X,
      y0 = wasm.BATTERY_Y;
    const x1 = x0 + wasm.BATTERY_WIDTH,
      y1 = y0 + wasm.BATTERY_HEIGHT;
    expect(x1).toBe(128);
    const frames = [0, 1, 2, 3, 4].map((level) => display.otp(314159, 6, 30, level));
    const lit = frames.map((fb) => litPixels(fb, x0, y0, x1, y1));
    for (let level = 1; level <= 4; level++) expect(lit[level]).toBeGreaterThan(lit[level - 1]);
    expect(lit[0]).toBeGreaterThan(0); // the empty outline
    for (const fb of frames) expect(region(fb, 0, 8, 128, 32)).toBe(region(frames[0], 0, 8, 128, 32));
    expect(same(display.otp(314159, 6, 30, 9), frames[4])).toBe(true); // clamped to 4
  });

  it("shows at most 12 label characters, and a long text is clipped at the right edge, never wrapped", () => {
    const twelve = display.otp(1, 6, 30, 2, "ABCDEFGHIJKL");
    expect(same(display.otp(1, 6, 30, 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), twelve)).toBe(true);
    expect(same(display.otp(1, 6, 30, 2, "ABCDEFGHIJK"), twelve)).toBe(false);
    expect(same(display.otp(1, 6, 30, 2, "bank"), display.otp(1, 6, 30, 2, "BANK"))).toBe(true);
    for (const scale of [1, 2]) {
      for (const [x, y] of [
        [0, 0],
        [100, 0],
        [123, 9],
        [127, 25],
        [-3, 30],
        [110, -5],
      ]) {
        wasm.clear();
        const next = wasm.drawText(x, y, ...display.input("W".repeat(40)), scale);
        expect(next).toBeGreaterThanOrEqual(128);
        const fb = display.frame();
        const height = 7 * scale;
        for (let py = 0; py < 32; py++) {
          for (let px = 0; px < 128; px++) {
            if (pixel(fb, px, py)) expect([px >= x, py >= y && py < y + height], `${x},${y} -> ${px},${py}`).toEqual([true, true]);
          }
        }
        expect(litPixels(fb, 0, 0, 128, 32)).toBeGreaterThan(0);
      }
    }
  });

  it("every status screen differs from every other, from blank and from the code screen; off is blank", () => {
    expect(blank(display.status(wasm.SCREEN_OFF))).toBe(true);
    expect(blank(display.status(99))).toBe(true);
    const frames = statusKinds.map((kind) => display.status(kind, 12));
    const otp = display.otp(123456, 6);
    for (let i = 0; i < frames.length; i++) {
      expect(blank(frames[i]), `kind ${statusKinds[i]}`).toBe(false);
      expect(same(frames[i], otp)).toBe(false);
      for (let j = i + 1; j < frames.length; j++) expect(same(frames[i], frames[j]), `${statusKinds[i]} vs ${statusKinds[j]}`).toBe(false);
    }
    // The error screens show the code; the others ignore it.
    for (const kind of [wasm.SCREEN_SELF_TEST_FAILED, wasm.SCREEN_STORAGE_ERROR]) {
      expect(same(display.status(kind, 3), display.status(kind, 4))).toBe(false);
    }
    expect(same(display.status(wasm.SCREEN_LOCKED, 3), display.status(wasm.SCREEN_LOCKED, 4))).toBe(true);
  });

  it("status screens say what they should (compared with the same text drawn by drawText)", () => {
    const centred = (lines: [number, string, number][]) => {
      wasm.clear();
      for (const [y, text, scale] of lines) {
        const [pointer, length] = display.input(text);
        wasm.drawText((128 - wasm.textWidth(length, scale)) >> 1, y, pointer, length, scale);
      }
      return display.frame();
    };
    const expected: [number, [number, string, number][]][] = [
      [wasm.SCREEN_NOT_SET_UP, [[9, "NOT SET UP", 2]]],
      [
        wasm.SCREEN_ACTIVATING,
        [
          [3, "ACTIVATING", 2],
          [22, "PRESS A TO CANCEL", 1],
        ],
      ],
      [wasm.SCREEN_LOCKED, [[9, "LOCKED", 2]]],
      [
        wasm.SCREEN_CLOCK_LOST,
        [
          [3, "CLOCK LOST", 2],
          [21, "SET TIME", 1],
        ],
      ],
      [
        wasm.SCREEN_LOW_BATTERY,
        [
          [1, "LOW", 2],
          [17, "BATTERY", 2],
        ],
      ],
      [
        wasm.SCREEN_SELF_TEST_FAILED,
        [
          [3, "SELF TEST FAIL", 1],
          [15, "E07", 2],
        ],
      ],
      [
        wasm.SCREEN_STORAGE_ERROR,
        [
          [3, "STORAGE ERR", 1],
          [15, "E123", 2],
        ],
      ],
      [
        wasm.SCREEN_ERASE_CONFIRM,
        [
          [1, "HOLD A", 2],
          [17, "TO ERASE", 2],
        ],
      ],
      [
        wasm.SCREEN_ADD_CONFIRM,
        [
          [1, "HOLD A", 2],
          [17, "TO ADD", 2],
        ],
      ],
    ];
    for (const [kind, lines] of expected) {
      const errorCode = kind === wasm.SCREEN_STORAGE_ERROR ? 123 : 7;
      expect(renderAscii(display.status(kind, errorCode)), `kind ${kind}`).toBe(renderAscii(centred(lines)));
    }
  });

  it("the info screen shows the serial in hex, the version and the battery voltage", () => {
    wasm.drawInfoScreen(0x01234567, 0x89abcdef, 1, 0, 2950);
    const info = display.frame();
    wasm.clear();
    for (const [y, text] of [
      [6, "SN 0123456789ABCDEF"],
      [19, "FW 1.0  BAT 2950MV"],
    ] as [number, string][]) {
      const [pointer, length] = display.input(text);
      wasm.drawText((128 - wasm.textWidth(length, 1)) >> 1, y, pointer, length, 1);
    }
    expect(renderAscii(info)).toBe(renderAscii(display.frame()));
    wasm.drawInfoScreen(0x01234567, 0x89abcdee, 1, 0, 2950);
    expect(same(display.frame(), info)).toBe(false);
  });

  it("extreme arguments draw within the framebuffer and their scratch, leaving fonts and INPUT intact", () => {
    const fonts = () => [
      new Uint8Array(wasm.memory.buffer, wasm.FONT_SMALL, 43 * 5).slice(),
      new Uint8Array(wasm.memory.buffer, wasm.FONT_BIG, 10 * wasm.BIG_GLYPH_BYTES).slice(),
    ];
    const before = fonts();
    const [pointer, length] = display.input("Z".repeat(wasm.INPUT_BYTES));
    const max = 0xffffffff;
    wasm.drawInfoScreen(max, max, max, max, max);
    for (const kind of [wasm.SCREEN_SELF_TEST_FAILED, wasm.SCREEN_STORAGE_ERROR]) wasm.drawStatusScreen(kind, max);
    wasm.drawOtpScreen(max, max, max, max, max, pointer, max);
    wasm.drawOtpScreen(0, 0, 0, 0, 0, pointer, 0);
    wasm.drawNumber(0, 0, max, max);
    wasm.drawBigDigits(0, 0, max, max);
    expect(fonts()).toEqual(before);
    expect(Buffer.from(new Uint8Array(wasm.memory.buffer, pointer, length)).toString("latin1")).toBe("Z".repeat(length));
  });

  it("renders as 16 lines of 128 half blocks, or 32 lines of #/. one per pixel", () => {
    const fb = display.otp(12345, 6, 42, 3, "BANK");
    const lines = renderFramebuffer(fb).split("\n");
    expect(lines).toHaveLength(16);
    for (const line of lines) expect([...line].length).toBe(128);
    expect(new Set([...lines.join("")])).toEqual(new Set(["▀", "▄", "█", " "]));
    const framed = renderFramebuffer(fb, { border: true }).split("\n");
    expect(framed).toHaveLength(18);
    for (const line of framed) expect([...line].length).toBe(130);
    const rows = renderAscii(fb).split("\n");
    expect(rows).toHaveLength(32);
    // Each half block is the pair of pixel rows it stands for.
    for (let y = 0; y < 32; y += 2) {
      for (let x = 0; x < 128; x++) {
        const top = rows[y][x] === "#",
          bottom = rows[y + 1][x] === "#";
        expect(lines[y >> 1][x]).toBe(top ? (bottom ? "█" : "▀") : bottom ? "▄" : " ");
      }
    }
    expect(renderAscii(pattern(512, 1))).not.toBe(renderAscii(pattern(512, 2)));
  });

  it("writes the renders to test-output/ for a person to look at", () => {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    const name = file.replace(/\.wasm$/, "");
    const screens: [string, Uint8Array][] = [
      ["otp-6", display.otp(12345, 6, 42, 3, "BANK")],
      ["otp-7", display.otp(1234567, 7, 9, 1, "PERSONAL")],
      ["otp-8", display.otp(90817263, 8, 0, 4, "CORP-01/TEST")],
      ...statusKinds.map((kind): [string, Uint8Array] => [`status-${kind}`, display.status(kind, 42)]),
    ];
    wasm.drawInfoScreen(0x01234567, 0x89abcdef, 1, 0, 2950);
    screens.push(["info", display.frame()]);
    for (const [screen, fb] of screens) {
      writeFileSync(new URL(`${name}.${screen}.txt`, OUTPUT_DIR), `${renderAscii(fb)}\n\n${renderFramebuffer(fb, { border: true })}\n`);
    }
  });
});

describe("display build", () => {
  it("the debug text has one fixed page, no memory.grow and no allocator", () => {
    const wat = readFileSync(`${buildDir()}display.debug.wat`, "utf8");
    expect(wat).toContain("(memory $0 1 1)");
    expect(wat).not.toContain("memory.grow");
    expect(wat).not.toMatch(/__alloc|__new|~lib\/rt/);
  });

  it("the size-optimised display, harness included, stays under 4 KiB", () => {
    expect(readFileSync(`${buildDir()}display.wasm`).length).toBeLessThan(4096);
  });

  it("both builds draw identical frames", () => {
    const [debug, release] = BUILDS.map(load);
    for (const code of [0, 123456, 9999999, 31415926]) {
      const digits = Math.max(String(code).length, 6);
      expect(same(debug.otp(code, digits, code % 61, code % 5), release.otp(code, digits, code % 61, code % 5))).toBe(true);
    }
    for (let kind = 0; kind <= 11; kind++) expect(same(debug.status(kind, kind), release.status(kind, kind))).toBe(true);
  });
});
