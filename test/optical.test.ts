// The optical channel: the bank's frame encoder, the simulated sensors and their comparators, and the
// firmware's decoder (assembly/optical/decoder.ts) reading a flickering page through the HAL's
// lightSensors(), on the release and the debug build. Virtual time only; every run is seeded.
import { readFileSync } from "node:fs";
import { crc32 as zlibCrc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { OPTICAL_MARKER, OPTICAL_MAX_PAYLOAD, SCAN_HZ } from "../host/abi.js";
import { Board } from "../host/board/board.js";
import { mulberry32 } from "../host/board/random.js";
import { type FlickerConfig, FlickerPage } from "../host/optical/flicker.js";
import { crc32, frameBytes, frameNibbles, frameText, parseFrameText } from "../host/optical/frame.js";
import { firmwareOnBoard, type SamplerConfig, scanUntilFrame } from "../host/optical/scan.js";
import type { FirmwareBuild } from "../host/token/firmware.js";

const BUILDS: FirmwareBuild[] = ["release", "debug"];

function payloadOf(length: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  return Uint8Array.from({ length }, () => next() & 0xff);
}

/** A token on a board held to a page showing `payload`; returns what the sampler got. */
function holdToPage(
  build: FirmwareBuild,
  payload: Uint8Array,
  page: Partial<FlickerConfig>,
  sampler: Partial<SamplerConfig>,
  repetitions = 3,
) {
  const board = new Board({ randomSeed: 1 });
  const firmware = firmwareOnBoard(build, board);
  // The page started a while before the token was held to it: the token starts mid-frame.
  const flicker = new FlickerPage(payload, page, board.clock.now() - 1234.5);
  board.light.aim((timeMs) => flicker.lightAt(timeMs));
  return { ...scanUntilFrame(firmware, board, repetitions * flicker.frameMs, sampler), frameMs: flicker.frameMs };
}

describe("the optical frame", () => {
  it("is the marker, the length and its complement, the payload and the CRC-32 of what follows the marker, high nibble first", () => {
    const payload = new TextEncoder().encode("0001-001-1234567");
    const bytes = frameBytes(payload);
    expect(bytes[0]).toBe(OPTICAL_MARKER);
    expect(bytes[1]).toBe(payload.length);
    expect(bytes[2]).toBe(0xff - payload.length);
    expect(bytes.subarray(3, 3 + payload.length)).toEqual(payload);
    expect(new DataView(bytes.buffer).getUint32(3 + payload.length)).toBe(zlibCrc32(bytes.subarray(1, 3 + payload.length)));
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926); // the CRC-32 check value
    expect(frameNibbles(payload).slice(0, 4)).toEqual([0xa, 0x5, 0x1, 0x0]);
    expect(() => frameBytes(new Uint8Array(0))).toThrow(/1 to 96 payload bytes/);
    expect(() => frameBytes(new Uint8Array(OPTICAL_MAX_PAYLOAD + 1))).toThrow(/1 to 96 payload bytes, got 97/);
  });

  it("typed by hand (manual entry) reads back, and any one mistyped character is refused", () => {
    const payload = payloadOf(30, 11);
    const text = frameText(payload);
    expect(parseFrameText(text)).toEqual(payload);
    expect(parseFrameText(text.toLowerCase().replaceAll(" ", "-"))).toEqual(payload);
    const digits = text.replaceAll(" ", "");
    for (let i = 0; i < digits.length; i++) {
      const wrong = (Number.parseInt(digits[i], 16) ^ 1).toString(16);
      expect(() => parseFrameText(digits.slice(0, i) + wrong + digits.slice(i + 1)), `character ${i}`).toThrow(RangeError);
    }
    expect(() => parseFrameText("A5 04 FB 5")).toThrow(/pairs of hex digits/);
    expect(() => parseFrameText("B504FB54455354DA19CE5D")).toThrow(/start with the marker A5, got B5/);
    expect(() => parseFrameText("A504FA54455354DA19CE5D")).toThrow(/length and its complement/);
    expect(() => parseFrameText("A504FB54455354DA19CE")).toThrow(/so it has 22 hex digits; got 20/);
    expect(() => parseFrameText("A504FB54455355DA19CE5D")).toThrow(/CRC-32\) does not match/);
  });

  it("docs/transaction-signing.md shows a frame this encoder makes", () => {
    const doc = readFileSync(new URL("../docs/transaction-signing.md", import.meta.url), "utf8");
    expect(doc).toContain(frameText(new TextEncoder().encode("TEST")));
  });
});

describe("the light sensors' comparators", () => {
  it("read a clean page's lines exactly, whatever its brightness, once they have seen the clock swing", () => {
    for (const [white, ambient] of [
      [0.9, 0.05],
      [0.3, 0.2],
      [1, 0.6],
    ]) {
      const board = new Board({ randomSeed: 1 });
      const page = new FlickerPage(payloadOf(20, 3), { white, ambient, noise: 0, jitter: 0 }, board.clock.now());
      board.light.aim((timeMs) => page.lightAt(timeMs));
      // Unpowered (the firmware is not in scan mode), the comparators read dark; powered, the page.
      board.clock.advance(5);
      expect(board.light.read()).toBe(0);
      board.light.power(true);
      let wrong = 0;
      for (let n = 0; n < 600; n++) {
        board.clock.advance(Math.round(((n + 1) * 1000) / SCAN_HZ) - Math.round((n * 1000) / SCAN_HZ));
        const mask = board.light.read();
        // The first two levels teach the comparators the swing.
        if (n > 20 && mask !== page.maskAt(board.clock.now())) wrong++;
      }
      expect(wrong, `white ${white} ambient ${ambient}`).toBe(0);
    }
  });
});

describe.each(BUILDS)("the firmware's decoder, %s build", (build) => {
  const payload = payloadOf(48, 7);

  it("decodes a frame held to the page mid-frame, at the page's three speeds", () => {
    for (const levelsPerSecond of [10, 20, 30]) {
      const result = holdToPage(build, payload, { levelsPerSecond }, {});
      expect(result.payload, `${levelsPerSecond} levels/s`).toEqual(payload);
      // Within the rest of the frame under way and one whole repetition.
      expect(result.elapsedMs).toBeLessThan(2 * result.frameMs);
    }
  });

  it("decodes through dim and glaring screens, edge jitter, noise, missed and doubled samples", () => {
    const hard: [Partial<FlickerConfig>, Partial<SamplerConfig>][] = [
      [{ white: 0.25, ambient: 0.15, noise: 0.01 }, {}],
      [{ white: 1, ambient: 0.7, noise: 0.02 }, {}],
      [{ jitter: 0.5 }, { timingJitter: 0.5 }],
      [{ noise: 0.08 }, {}],
      [{}, { missRate: 0.1 }],
      [{}, { doubleRate: 0.3 }],
      [
        { levelsPerSecond: 30, jitter: 0.3, noise: 0.05 },
        { missRate: 0.05, doubleRate: 0.05, timingJitter: 0.3 },
      ],
    ];
    for (const [page, sampler] of hard) {
      const result = holdToPage(build, payload, page, sampler, 4);
      expect(result.payload, JSON.stringify({ page, sampler })).toEqual(payload);
    }
  });

  it("never accepts a frame whose CRC-32 is wrong, and counts it", () => {
    // A page drawing a frame with one payload bit flipped after its CRC was computed.
    const board = new Board({ randomSeed: 1 });
    const firmware = firmwareOnBoard(build, board);
    const page = new FlickerPage(payload, { noise: 0 }, board.clock.now());
    const index = 2 * (3 + 5) + 1; // the low nibble of payload byte 5
    page.nibbles[index] ^= 0x4;
    board.light.aim((timeMs) => page.lightAt(timeMs));
    const result = scanUntilFrame(firmware, board, 3 * page.frameMs);
    expect(result.payload).toBeUndefined();
    expect(result.checksumFailures).toBeGreaterThanOrEqual(2);
  });

  it("in the dark (no page) gives nothing", () => {
    const board = new Board({ randomSeed: 1 });
    const firmware = firmwareOnBoard(build, board);
    const result = scanUntilFrame(firmware, board, 10_000);
    expect(result.payload).toBeUndefined();
    expect(result.checksumFailures).toBe(0);
    expect(result.samples).toBe(10 * SCAN_HZ);
  });
});
