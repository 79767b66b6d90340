// The token with a transfer: held to the bank's flickering page it shows the payee and the amount a
// screen at a time; a hold signs exactly those bytes, a press refuses (issue 23, step 3). The real
// firmware on the simulated board, release and debug builds; virtual time only.
import { describe, expect, it } from "vitest";
import { STATUS_BAD_TRANSACTION, STATUS_DENIED, TRANSFER_SCREEN_SECONDS, TRANSFER_WINDOW_SECONDS } from "../host/abi.js";
import { FlickerPage } from "../host/optical/flicker.js";
import { otpApi } from "../host/otp.js";
import type { FirmwareBuild } from "../host/token/firmware.js";
import { SimToken } from "../host/token/sim-token.js";
import { encodeTransfer, type Transfer, transferCode } from "../host/transaction.js";
import { fromHex } from "./helpers.js";

const SEED = fromHex("3132333435363738393031323334353637383930");
const TRANSFER: Transfer = { bankCode: "0001", branch: "001", account: "1234567", amount: 1_234_567, nonce: fromHex("0011223344556677") };
const api = otpApi("release");

function tokenWithProfile(build: FirmwareBuild): SimToken {
  const token = new SimToken({ build, boardConfig: { randomSeed: 1 } });
  token.addProfile({ seed: SEED, label: "BANK" });
  token.press();
  return token;
}

/** Holds `token` to a page flickering `payload` until it takes a frame (three repetitions at most). */
function holdToPage(token: SimToken, payload: Uint8Array): number {
  const page = new FlickerPage(payload, {}, token.board.clock.now() - 700);
  return token.scanPage((timeMs) => page.lightAt(timeMs), 3 * page.frameMs);
}

describe.each(["release", "debug"] as FirmwareBuild[])("a transfer on the token, %s build", (build) => {
  it("shows the payee, then the amount; a hold signs the bytes it showed; a press puts the code away", () => {
    const token = tokenWithProfile(build);
    const bytes = encodeTransfer(TRANSFER);
    expect(holdToPage(token, bytes)).toBe(bytes.length);
    expect(token.screen().mode).toBe("transfer");
    const first = token.screen().profile;
    token.advance(TRANSFER_SCREEN_SECONDS * 1000);
    expect(token.screen().mode).toBe("transfer");
    expect(token.screen().profile).toBe(1 - first);
    token.hold();
    const screen = token.screen();
    expect(screen.mode).toBe("transfer-code");
    expect(screen.code).toBe(transferCode(SEED, bytes));
    // Not the login code of this moment: another key, another message.
    expect(screen.code).not.toBe(api.totp(SEED, Number(token.rtcSeconds()), { digits: 8 }));
    token.press();
    expect(token.screen().mode).toBe("otp");
    // Signing lent the login key's RAM to the transfer key: the login code is right again.
    expect(token.screen().code).toBe(api.totp(SEED, Number(token.rtcSeconds())));
  });

  it("a press refuses: no code, and the transfer is gone", () => {
    const token = tokenWithProfile(build);
    expect(holdToPage(token, encodeTransfer({ ...TRANSFER, amount: 9_999_999 }))).toBeGreaterThan(0);
    token.press();
    expect(token.screen().mode).toBe("otp");
    expect(token.screen().code).toBe(api.totp(SEED, Number(token.rtcSeconds())));
  });

  it("an unconfirmed transfer expires with its window", () => {
    const token = tokenWithProfile(build);
    expect(holdToPage(token, encodeTransfer(TRANSFER))).toBeGreaterThan(0);
    token.advance((TRANSFER_WINDOW_SECONDS - 1) * 1000);
    expect(token.screen().mode).toBe("transfer");
    token.advance(2000);
    expect(token.screen().mode).not.toBe("transfer");
  });

  it("scanSample, the browser's way: the sensors read a page drawn at 60 frames a second, a few ticks per frame", () => {
    // As web/token-ui.ts does it: at each animation frame the light under the sensors is read once and
    // the frame's 16-17 ms are cut into ticks of the sampling timer (SCAN_HZ), one scan() each.
    const token = tokenWithProfile(build);
    const bytes = encodeTransfer({ ...TRANSFER, name: "ﾔﾏﾀﾞ ﾀﾛｳ" });
    const page = new FlickerPage(bytes, { levelsPerSecond: 30, jitter: 0, noise: 0 }, token.board.clock.now() - 300);
    let light = [0, 0, 0, 0, 0];
    token.board.light.aim(() => light);
    let taken: { verdict: number; payload?: Uint8Array } | undefined;
    for (let frame = 0; frame < 3 * 60 * (page.frameMs / 1000) && !taken; frame++) {
      light = page.lightAt(token.board.clock.now());
      for (const slice of [4, 4, 4, 5]) {
        token.advance(slice);
        const result = token.scanSample();
        if (result.payload) {
          taken = result;
          break;
        }
      }
    }
    token.board.light.aim(undefined);
    expect(taken?.verdict).toBe(bytes.length);
    expect(taken?.payload).toEqual(bytes);
    expect(token.screen().mode).toBe("transfer");
    token.hold();
    expect(token.screen()).toMatchObject({ mode: "transfer-code", code: transferCode(SEED, bytes) });
  });

  it("refuses a sound frame that is not a transfer, and a transfer without a profile to sign it", () => {
    const token = tokenWithProfile(build);
    const notTransfer = encodeTransfer(TRANSFER);
    notTransfer[15] = 0xff; // an amount above 999,999,999,999
    expect(holdToPage(token, notTransfer)).toBe(STATUS_BAD_TRANSACTION);
    expect(token.screen().mode).toBe("otp");
    const empty = new SimToken({ build, boardConfig: { randomSeed: 1 } });
    expect(holdToPage(empty, encodeTransfer(TRANSFER))).toBe(STATUS_DENIED);
  });
});
