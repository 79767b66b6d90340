// The everyday operations of the token, metered one by one on the emulated M0 (McuToken.meter()):
// what npm run bench prints and what the energy model's recorded counts (host/board/energy.ts) are
// checked against. The sequence is fixed, so the counts are the same on every run.
import type { OperationCosts } from "../board/energy.js";
import type { MeterReading } from "./meter.js";
import type { McuToken } from "./mcu-token.js";

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
