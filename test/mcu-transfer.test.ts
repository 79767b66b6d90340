// A transfer on the emulated Cortex-M0 (issue 23): the bank creates a transaction; its flickering
// frame, seen through the simulated page and sensors (host/optical/flicker.ts, host/board/light.ts),
// is recorded as the stream of masks a 240 Hz sampling timer reads; the harness feeds that stream into
// the nRF51's five sensor pins while the M0 samples in scan mode (mcu/light.c), sleeping between
// samples. The M0 decodes it, shows the payee, the kana name and the amount, signs on a hold, and its
// code is the V8 token's and the one the bank accepts. Release and debug images.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCAN_HZ, SCAN_WINDOW_SECONDS, STATUS_BAD_CHECKSUM, STATUS_BAD_TRANSACTION, TRANSFER_SCREEN_SECONDS } from "../host/abi.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import type { BankStore } from "../host/bank/store.js";
import { McuToken, type McuImage } from "../host/mcu/mcu-token.js";
import { FlickerPage } from "../host/optical/flicker.js";
import { parseFrameText } from "../host/optical/frame.js";
import { recordSamples } from "../host/optical/scan.js";
import { SimToken } from "../host/token/sim-token.js";
import { encodeTransfer, transferCode } from "../host/transaction.js";
import { activateToken, codeAt } from "./bank-helpers.js";
import { fromHex } from "./helpers.js";
import { MCU_SKIP, MCU_TIMEOUT_MS } from "./mcu-helpers.js";

const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PASSWORD = "Pass1234";
const START = 1_900_000_020;
const PAYEE = { bankCode: "0001", branch: "001", account: "1234567", name: "ﾔﾏﾀﾞ ﾀﾛｳ" };

/** What the page shows for `ms` from a moment mid-frame, as the sampling timer's masks. */
function recorded(payload: Uint8Array, ms: number): { masks: Uint8Array; page: FlickerPage } {
  const page = new FlickerPage(payload, {}, -700);
  return { masks: recordSamples((t) => page.lightAt(t), ms, {}, 0), page };
}

describe.skipIf(MCU_SKIP !== undefined).each(["release", "debug"] as McuImage[])("a transfer on the emulated Cortex-M0 (%s)", (image) => {
  let dir: string;
  let store: BankStore;
  let bank: Bank;
  let userId: string;
  let seed: Uint8Array;
  let token: McuToken;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "otp-mcu-transfer-"));
    store = await openStore(join(dir, "bank.sqlite"), { create: true });
    bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { now: () => START, outboxDir: join(dir, "outbox") });
    const issued = await bank.issue({
      mail: "holder@example.jp",
      mailConfirm: "holder@example.jp",
      password: PASSWORD,
      passwordConfirm: PASSWORD,
    });
    const reference = await activateToken(bank, issued.serviceId, issued.userId, PASSWORD);
    await bank.confirm(issued.userId, codeAt(reference, START));
    userId = issued.userId;
    seed = reference.seed;
    token = new McuToken({ image });
    token.addProfileConfirmed({ seed, label: "BANK" });
    token.press();
  }, MCU_TIMEOUT_MS);

  afterAll(async () => {
    token?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "decodes the bank's frame from the sensor pins, shows payee, kana name and amount, and signs what the bank accepts",
    async () => {
      const created = await bank.createTransaction({ userId, payee: PAYEE, amount: 1_234_567, reference: "PAY-M0" });
      const payload = parseFrameText(created.frame);
      const { masks, page } = recorded(payload, 3 * page0(payload).frameMs);
      // Not scanning: the harness cannot feed the pins (only the firmware starts the sampling timer).
      expect(() => token.scan(masks)).toThrow();
      // The holder's gesture on button A, as on the part: hold (the info screen), hold (SCAN).
      expect(token.screen().mode).toBe("otp");
      expect(token.startScanning()).toBe(true);
      expect(token.screen().mode).toBe("scan");
      const result = token.scan(masks);
      expect(result.status).toBe(payload.length);
      // It locked on within the stream, one sample at a time; the samples that decode take a small part
      // of a sampling period's cycles (instructions are a floor for cycles; bench/mcu.ts has the cycles).
      expect(result.samples).toBeLessThan(masks.length);
      expect(result.samples).toBeGreaterThan(page.nibbles.length);
      expect(result.worstInstructions).toBeLessThan(16_000_000 / SCAN_HZ / 10);
      expect(result.frameInstructions).toBeGreaterThan(result.worstInstructions);
      expect(token.screen().mode).toBe("transfer");

      // The V8 token, held to the same page, shows the same screens pixel for pixel and signs the same code.
      const v8 = new SimToken({ boardConfig: { randomSeed: 1 } });
      v8.addProfile({ seed, label: "BANK" });
      v8.press();
      const v8Page = new FlickerPage(payload, {}, v8.board.clock.now() - 700);
      expect(v8.scanPage((t) => v8Page.lightAt(t), 3 * page.frameMs)).toBe(payload.length);
      const shown = new Set<number>();
      for (let i = 0; i < 3; i++) {
        const screen = token.screen().profile;
        shown.add(screen);
        while (v8.screen().profile !== screen) v8.advance(1000);
        expect(token.framebuffer()).toEqual(v8.framebuffer());
        token.advance(TRANSFER_SCREEN_SECONDS * 1000);
      }
      expect(shown).toEqual(new Set([0, 1, 2])); // payee, the name in kana, the amount

      token.hold();
      const screen = token.screen();
      expect(screen.mode).toBe("transfer-code");
      v8.hold();
      expect(screen.code).toBe(v8.screen().code);
      expect(screen.code).toBe(transferCode(seed, payload));
      const verified = await bank.verifyTransaction(created.transactionId, screen.code!);
      expect(verified).toMatchObject({ ok: true, transactionId: created.transactionId });
      token.press();
      expect(token.screen().mode).toBe("otp");
    },
    MCU_TIMEOUT_MS,
  );

  it(
    "a stream with no frame in it leaves the token as it was; a frame that is not a transfer is refused",
    () => {
      expect(token.startScanning()).toBe(true);
      const dark = token.scan(new Uint8Array(2 * SCAN_HZ));
      expect(dark).toMatchObject({ status: 0, samples: 2 * SCAN_HZ, checksumFailures: 0 });
      expect(token.screen().mode).toBe("scan");
      // A press ends scan mode: the code returns and the harness can feed nothing more.
      token.press();
      expect(token.screen().mode).toBe("otp");
      expect(() => token.scan(new Uint8Array(8))).toThrow();
      expect(token.startScanning()).toBe(true);
      const notTransfer = encodeTransfer({ ...PAYEE, amount: 1, nonce: fromHex("0011223344556677") });
      notTransfer[0] = 9; // version 9
      const refused = token.scan(recorded(notTransfer, 3 * page0(notTransfer).frameMs).masks);
      expect(refused.status).toBe(STATUS_BAD_TRANSACTION);
      expect(refused.status).not.toBe(STATUS_BAD_CHECKSUM);
      expect(token.screen().mode).toBe("otp");
    },
    MCU_TIMEOUT_MS,
  );

  it(
    "scan mode ends by itself after SCAN_WINDOW_SECONDS without a frame: the panel dark, the sampling stopped",
    () => {
      expect(token.startScanning()).toBe(true);
      token.advance((SCAN_WINDOW_SECONDS - 2) * 1000);
      expect(token.screen().mode).toBe("scan");
      token.advance(3000);
      expect(token.screen().mode).toBe("off");
      expect(() => token.scan(new Uint8Array(8))).toThrow();
    },
    MCU_TIMEOUT_MS,
  );
});

function page0(payload: Uint8Array): FlickerPage {
  return new FlickerPage(payload);
}
