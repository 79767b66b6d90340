// A simulated token whose flash lives in a file, so it survives restarts (npm start, otp-token
// token ...). The board runs on real time: its clock starts at the wall clock and its RTC is set
// to it, as a token's RTC would have kept time while the simulator was not running.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { Board } from "../board/board.js";
import { FLASH_SIZE_BYTES } from "../board/flash.js";
import { SimToken } from "./sim-token.js";

/** $OTP_TOKEN_HOME/token.flash, $OTP_TOKEN_HOME defaulting to ~/.otp-token. */
export function defaultFlashPath(): string {
  return join(process.env.OTP_TOKEN_HOME ?? join(homedir(), ".otp-token"), "token.flash");
}

/** Thrown for a file that is not a token flash image. */
export class FlashFileError extends Error {
  override name = "FlashFileError";
}

/**
 * A token on a real-time board, from the flash image at `path` (a new token if there is none); its
 * clock and RTC read `nowMs` (the wall clock unless a caller pins it).
 */
export function openTokenFile(path: string, nowMs: number = Date.now()): { token: SimToken; created: boolean } {
  const board = new Board({ startMs: nowMs });
  let flashImage: Uint8Array | undefined;
  if (existsSync(path)) {
    if (!statSync(path).isFile())
      throw new FlashFileError(`${path} is not a file: give --flash the path of a token flash image (created if missing)`);
    const image = readFileSync(path);
    if (image.length !== FLASH_SIZE_BYTES) {
      throw new FlashFileError(
        `${path} is ${image.length} bytes, not a ${FLASH_SIZE_BYTES}-byte token flash image; move it away or give --flash`,
      );
    }
    flashImage = new Uint8Array(image);
  }
  return { token: new SimToken({ board, flashImage }), created: flashImage === undefined };
}

/** Saves the token's flash to `path` (write then rename: a crash never leaves a torn image). */
export function saveTokenFile(token: SimToken, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, token.flashImage());
  renameSync(temporary, path);
}
