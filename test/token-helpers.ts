// Building simulated tokens for the device tests.
import { Board, DEFAULT_BOARD_START_MS, type BoardConfig } from "../host/board/board.js";
import type { FirmwareBuild } from "../host/token/firmware.js";
import { SimToken } from "../host/token/sim-token.js";

export const FIRMWARE_BUILDS: FirmwareBuild[] = ["release", "debug"];

/** The board's default start, 2025-01-01T00:00:00Z, in seconds. */
export const START_SECONDS = DEFAULT_BOARD_START_MS / 1000;

export function seedOf(length: number, salt: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 73 + salt * 151 + 11) & 0xff);
}

export function newToken(build: FirmwareBuild, config: BoardConfig = {}): SimToken {
  return new SimToken({ build, boardConfig: { randomSeed: 7, ...config } });
}

/**
 * A token booted from `image` on a board whose clock and RTC read `unixSeconds` (a fresh board, as
 * after a power cut with the RTC on its backup cell).
 */
export function tokenFromImage(build: FirmwareBuild, image: Uint8Array, unixSeconds: number, config: BoardConfig = {}): SimToken {
  const board = new Board({ randomSeed: 7, startMs: unixSeconds * 1000, ...config });
  return new SimToken({ build, board, flashImage: image });
}

/** The Unix time the token's RTC reads now. */
export function rtcTime(token: SimToken): number {
  return Number(token.rtcSeconds());
}
