// The everyday operations of the token, metered one by one on the emulated M0 (McuToken.meter()):
// what npm run bench prints and what the energy model's recorded counts (host/board/energy.ts) are
// checked against. The sequence is fixed, so the counts are the same on every run.
import type { OperationCosts, TransferCosts } from "../board/energy.js";
import { FlickerPage } from "../optical/flicker.js";
import { recordSamples } from "../optical/scan.js";
import { encodeTransfer } from "../transaction.js";
import type { MeterReading } from "./meter.js";
import type { McuScanResult, McuToken } from "./mcu-token.js";

export interface DailyOperations {
  /** The power-on of a fresh token (makes and stores its serial number). */
  firstBoot: MeterReading;
  /** Programming a profile over the link. */
  addProfile: MeterReading;
  /** The once-an-hour press: records the time in flash, computes the new step's code, draws. */
  pressRecordingTime: MeterReading;
  /** A refresh of the OTP screen within a step. */
  refresh: MeterReading;
  /** A press within the hour: the code and the drawing. */
  press: MeterReading;
  /** The refresh at a step boundary: the next code. */
  refreshNewStep: MeterReading;
  /** The tick that turns the panel off. */
  panelOff: MeterReading;
}

/**
 * Runs the sequence on a fresh token whose clock starts on a step boundary. `after` is called right
 * after each metered operation (the bench reads its instruction-mix plugin's window there).
 */
export function measureDailyOperations(token: McuToken, after: (name: keyof DailyOperations) => void = () => {}): DailyOperations {
  const firstBoot = token.meter().boot;
  token.addProfile({ seed: new Uint8Array(20).fill(7), label: "BENCH" });
  after("addProfile");
  const addProfile = token.meter().last;
  token.press(); // the first press: prepares the key, records the time
  token.advance(61 * 60_000); // the panel goes off; an hour passes
  token.press(); // an hour since the last record: records the time again
  after("pressRecordingTime");
  const pressRecordingTime = token.meter().last;
  token.advance(1_000);
  after("refresh");
  const refresh = token.meter().last;
  token.advance(10 * 60_000);
  token.press();
  after("press");
  const press = token.meter().last;
  // The countdown reads the whole seconds until the code changes (59 .. 0): the change comes a second after 0.
  const secondsLeft = token.screen().secondsLeft;
  if (secondsLeft === null) throw new Error("the token shows no code after a press");
  token.advance(secondsLeft * 1000);
  token.advance(1000);
  after("refreshNewStep");
  const refreshNewStep = token.meter().last;
  token.advance(70_000); // the rest of the minute: the last tick turns the panel off
  after("panelOff");
  const panelOff = token.meter().last;
  if (token.screen().mode !== "off") throw new Error("the panel is still on 70 s after a refresh");
  for (const [name, reading, call] of [
    ["press", press, "button"],
    ["refresh", refresh, "tick"],
    ["refreshNewStep", refreshNewStep, "tick"],
    ["panelOff", panelOff, "tick"],
  ] as const) {
    if (reading.call !== call) throw new Error(`metering ${name}: the last entry point was ${reading.call}, expected ${call}`);
  }
  return { firstBoot, addProfile, pressRecordingTime, refresh, press, refreshNewStep, panelOff };
}

/** The energy model's costs (host/board/energy.ts) from a measurement. */
export function operationCosts(measured: DailyOperations): OperationCosts {
  const cost = (r: MeterReading) => ({ instructions: r.instructions, panelLines: r.panelLines });
  return {
    press: cost(measured.press),
    pressRecordingTime: cost(measured.pressRecordingTime),
    refresh: cost(measured.refresh),
    refreshNewStep: cost(measured.refreshNewStep),
    panelOff: cost(measured.panelOff),
  };
}

/** A transfer on the M0, metered: the scan, a second of it on screen, the signing hold. */
export interface TransferOperations {
  scan: McuScanResult;
  transferTick: MeterReading;
  sign: MeterReading;
  /** The code the hold gave, and the transfer's bytes (for a check against the bank's). */
  code: string;
  payload: Uint8Array;
}

/** The transfer measureTransfer scans: with an account name in kana, as a bank's page would draw it. */
export const BENCH_TRANSFER = {
  bankCode: "0001",
  branch: "001",
  account: "1234567",
  amount: 1_234_567,
  nonce: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
  name: "ﾔﾏﾀﾞ ﾀﾛｳ",
};

/**
 * Puts a token with a profile in scan mode as its holder would (hold, hold from a dark panel), holds it
 * to a page flickering BENCH_TRANSFER (from mid-frame, sampled at 240 Hz for three repetitions at most), lets a second pass on its screens, and signs with a hold; the press
 * that puts the code away follows. The same sequence on every run.
 */
export function measureTransfer(
  token: McuToken,
  after: (name: "scanFrame" | "transferTick" | "sign") => void = () => {},
): TransferOperations {
  const payload = encodeTransfer(BENCH_TRANSFER);
  const page = new FlickerPage(payload, {}, -700);
  if (!token.startScanning()) throw new Error("the M0 did not enter scan mode");
  const scan = token.scan(recordSamples((t) => page.lightAt(t), 3 * page.frameMs));
  after("scanFrame");
  if (scan.status !== payload.length) throw new Error(`the M0 did not take the transfer: scan() answered ${scan.status}`);
  token.advance(1_000);
  after("transferTick");
  const transferTick = token.meter().last;
  token.buttonDown();
  token.advance(2_000); // the hold fires at LONG_PRESS_SECONDS
  after("sign");
  const sign = token.meter().last;
  const screen = token.screen();
  token.buttonUp();
  if (sign.call !== "button" || screen.mode !== "transfer-code" || screen.code === null) {
    throw new Error(`metering the signing hold: the last entry point was ${sign.call}, the screen ${screen.mode}`);
  }
  if (transferTick.call !== "tick") throw new Error(`metering a transfer's second: the last entry point was ${transferTick.call}`);
  token.press();
  return { scan, transferTick, sign, code: screen.code, payload };
}

/** The energy model's transfer costs (host/board/energy.ts) from a measurement. */
export function transferCosts(measured: TransferOperations): TransferCosts {
  const cost = (r: MeterReading) => ({ instructions: r.instructions, panelLines: r.panelLines });
  const { scan } = measured;
  const decoding = scan.samples - 1;
  return {
    scanSample: { instructions: Math.round(scan.instructions / decoding), panelLines: 0 },
    scanFrame: { instructions: scan.frameInstructions, panelLines: 32 },
    transferTick: cost(measured.transferTick),
    sign: cost(measured.sign),
  };
}
