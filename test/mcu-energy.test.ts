// The energy model's instruction counts (host/board/energy.ts, the board simulator's battery costs)
// are the firmware's own on the M0: measured again here, they must still be within 10 %.
import { describe, expect, it } from "vitest";
import { DEFAULT_BOARD_START_MS } from "../host/board/board.js";
import { MEASURED_INSTRUCTIONS } from "../host/board/energy.js";
import { measureDailyOperations } from "../host/mcu/measure.js";
import { McuToken } from "../host/mcu/mcu-token.js";
import { MCU_SKIP, MCU_TIMEOUT_MS } from "./mcu-helpers.js";

describe.skipIf(MCU_SKIP !== undefined)("the energy model's instruction counts", () => {
  it("match the firmware measured on the emulated M0 (npm run bench's sequence) within 10 %", () => {
    const token = new McuToken({ startSeconds: DEFAULT_BOARD_START_MS / 1000 });
    try {
      const measured = measureDailyOperations(token);
      for (const name of Object.keys(MEASURED_INSTRUCTIONS) as (keyof typeof MEASURED_INSTRUCTIONS)[]) {
        const ratio = measured[name].instructions / MEASURED_INSTRUCTIONS[name];
        expect(ratio, `${name}: measured ${measured[name].instructions}, recorded ${MEASURED_INSTRUCTIONS[name]}`).toBeGreaterThan(0.9);
        expect(ratio, `${name}: measured ${measured[name].instructions}, recorded ${MEASURED_INSTRUCTIONS[name]}`).toBeLessThan(1.1);
      }
      // The once-an-hour press pays for the record it writes: one page erased, 203 words programmed.
      expect(measured.pressRecordingTime).toMatchObject({ flashErases: 1, flashWords: 203 });
      expect(measured.press).toMatchObject({ flashErases: 0, flashWords: 0 });
    } finally {
      token.close();
    }
  }, MCU_TIMEOUT_MS);
});
