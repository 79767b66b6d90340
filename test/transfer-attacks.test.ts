// The attack transaction signing exists for (issue 23, step 5), at the token and the code: malware in
// the browser changes the transfer between the page and the bank. Either the page draws the changed
// transfer (the token shows the changed payee or amount: the holder refuses), or it draws the
// original while the bank holds the changed one (the token signs the original: its code is not the
// changed transfer's). Neither a login code nor another transfer's code stands for a transfer.
// The bank's rules (accepted once, within the expiry, wrong codes counted) are test/transactions.test.ts's.
import { describe, expect, it } from "vitest";
import { FlickerPage } from "../host/optical/flicker.js";
import { otpApi } from "../host/otp.js";
import type { FirmwareBuild } from "../host/token/firmware.js";
import { SimToken } from "../host/token/sim-token.js";
import { decodeTransfer, encodeTransfer, type Transfer, transferCode } from "../host/transaction.js";
import { fromHex } from "./helpers.js";

const SEED = fromHex("3132333435363738393031323334353637383930");
const ORIGINAL: Transfer = { bankCode: "0001", branch: "001", account: "1234567", amount: 30_000, nonce: fromHex("0102030405060708") };
const api = otpApi("release");

/** The token, held to a page drawing `shown`, signs it: its code. */
function signOnToken(build: FirmwareBuild, shown: Uint8Array): { code: string | null; mode: string } {
  const token = new SimToken({ build, boardConfig: { randomSeed: 1 } });
  token.addProfile({ seed: SEED, label: "BANK" });
  token.press();
  const page = new FlickerPage(shown, {}, token.board.clock.now());
  token.scanPage((timeMs) => page.lightAt(timeMs), 3 * page.frameMs);
  token.hold();
  return { code: token.screen().code, mode: token.screen().mode };
}

describe.each(["release", "debug"] as FirmwareBuild[])("malware between the page and the bank, %s build", (build) => {
  const original = encodeTransfer(ORIGINAL);
  const changedAmount = encodeTransfer({ ...ORIGINAL, amount: 3_000_000 });
  const changedPayee = encodeTransfer({ ...ORIGINAL, bankCode: "9900", account: "7654321" });

  it("a changed transfer drawn on the page is what the token shows: the holder sees the other payee or amount", () => {
    expect(decodeTransfer(changedAmount).amount).toBe(3_000_000);
    expect(decodeTransfer(changedPayee)).toMatchObject({ bankCode: "9900", account: "7654321" });
    // The token signs only what it shows: its code is the changed transfer's, never the original's.
    const signed = signOnToken(build, changedAmount);
    expect(signed.mode).toBe("transfer-code");
    expect(signed.code).toBe(transferCode(SEED, changedAmount));
    expect(signed.code).not.toBe(transferCode(SEED, original));
  });

  it("the original drawn while the bank holds a changed one: the code does not verify for the bank's transfer", () => {
    const signed = signOnToken(build, original);
    expect(signed.code).toBe(transferCode(SEED, original));
    for (const held of [changedAmount, changedPayee]) expect(signed.code).not.toBe(transferCode(SEED, held));
  });

  it("a code for another transfer, or the same transfer with another nonce, is another code", () => {
    const code = transferCode(SEED, original);
    expect(transferCode(SEED, encodeTransfer({ ...ORIGINAL, nonce: fromHex("0102030405060709") }))).not.toBe(code);
    expect(transferCode(SEED, encodeTransfer({ ...ORIGINAL, amount: 30_001 }))).not.toBe(code);
  });

  it("a login code is not the transfer code, and the transfer code is not a login code, at any step near now", () => {
    const code = transferCode(SEED, original);
    const now = 1_767_225_600; // 2026-01-01
    for (let step = -10; step <= 10; step++) {
      const time = now + 60 * step;
      expect(api.totp(SEED, time, { digits: 8 })).not.toBe(code);
      expect(api.totp(SEED, time)).not.toBe(code.slice(2));
    }
  });
});
