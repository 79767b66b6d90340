// The everyday operations of the token, metered one by one on the emulated M0 (McuToken.meter()):
// what npm run bench prints and what the energy model's recorded counts (host/board/energy.ts) are
// checked against. The sequence is fixed, so the counts are the same on every run.
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
  const secondsLeft = token.screen().secondsLeft;
  if (secondsLeft === null) throw new Error("the token shows no code after a press");
  token.advance((secondsLeft - 1) * 1000);
  token.advance(1000);
  after("refreshNewStep");
  const refreshNewStep = token.meter().last;
  for (const [name, reading, call] of [["press", press, "button"], ["refresh", refresh, "tick"], ["refreshNewStep", refreshNewStep, "tick"]] as const) {
    if (reading.call !== call) throw new Error(`metering ${name}: the last entry point was ${reading.call}, expected ${call}`);
  }
  return { firstBoot, addProfile, pressRecordingTime, refresh, press, refreshNewStep };
}
