// The energy model's costs (host/board/energy.ts, the board simulator's battery costs) are the
// firmware's own on the M0: measured again here, they must still be within 10 % (a line of the panel).
import { describe, expect, it } from "vitest";
import { DEFAULT_BOARD_START_MS } from "../host/board/board.js";
import { BROWN_OUT_MILLIVOLTS, LOW_BATTERY_MILLIVOLTS } from "../host/abi.js";
import {
  CENTRAL,
  dailyBudget,
  dailyMicroampMs,
  lifetime,
  MEASURED_COSTS,
  MEASURED_TRANSFER_COSTS,
  type OperationName,
  scanDutyCycle,
  type TransferCosts,
  transferMicroampMs,
  WORST_CASE,
} from "../host/board/energy.js";
import { measureDailyOperations, measureTransfer, operationCosts, transferCosts } from "../host/mcu/measure.js";
import { transferCode } from "../host/transaction.js";
import { McuToken } from "../host/mcu/mcu-token.js";
import { MCU_SKIP, MCU_TIMEOUT_MS } from "./mcu-helpers.js";

describe.skipIf(MCU_SKIP !== undefined)("the energy model's costs", () => {
  it(
    "match the firmware measured on the emulated M0 (npm run bench's sequence) within 10 %",
    () => {
      const token = new McuToken({ startSeconds: DEFAULT_BOARD_START_MS / 1000 });
      try {
        const measured = measureDailyOperations(token);
        const costs = operationCosts(measured);
        for (const name of Object.keys(MEASURED_COSTS) as OperationName[]) {
          const [now, recorded] = [costs[name], MEASURED_COSTS[name]];
          const what = `${name}: measured ${JSON.stringify(now)}, recorded ${JSON.stringify(recorded)}`;
          expect(Math.abs(now.instructions - recorded.instructions), what).toBeLessThanOrEqual(
            Math.max(recorded.instructions * 0.1, 2_000),
          );
          expect(Math.abs(now.panelLines - recorded.panelLines), what).toBeLessThanOrEqual(Math.max(recorded.panelLines * 0.1, 1));
        }
        // The once-an-hour press pays for the record it writes: one page erased, 203 words programmed.
        expect(measured.pressRecordingTime).toMatchObject({ flashErases: 1, flashWords: 203 });
        expect(measured.press).toMatchObject({ flashErases: 0, flashWords: 0 });
        // The once-an-hour press has its code on the panel before the NVMC starts (the firmware draws
        // first, the HAL sends the panel its lines before the first erase): what runs before the code
        // is drawn is the press and the record's preparation, well short of the whole call.
        const recording = measured.pressRecordingTime;
        expect(recording.drawnInstructions).toBeGreaterThanOrEqual(measured.press.drawnInstructions);
        expect(recording.drawnInstructions).toBeLessThan(recording.instructions * 0.85);
        // A plain press draws at the end of its call: nothing of note after it.
        expect(measured.press.instructions - measured.press.drawnInstructions).toBeLessThan(200);

        // A transfer (bench's sequence): scanned from the sensor pins, a second shown, signed by a hold.
        const transfer = measureTransfer(token);
        expect(transfer.code).toBe(transferCode(new Uint8Array(20).fill(7), transfer.payload));
        const tx = transferCosts(transfer);
        for (const name of Object.keys(MEASURED_TRANSFER_COSTS) as (keyof TransferCosts)[]) {
          const [now, recorded] = [tx[name], MEASURED_TRANSFER_COSTS[name]];
          const what = `${name}: measured ${JSON.stringify(now)}, recorded ${JSON.stringify(recorded)}`;
          expect(Math.abs(now.instructions - recorded.instructions), what).toBeLessThanOrEqual(Math.max(recorded.instructions * 0.1, 20));
          expect(Math.abs(now.panelLines - recorded.panelLines), what).toBeLessThanOrEqual(Math.max(recorded.panelLines * 0.1, 1));
        }
        // The sign writes no flash; the decoder's samples take no panel lines.
        expect(transfer.sign).toMatchObject({ flashErases: 0, flashWords: 0 });
      } finally {
        token.close();
      }
    },
    MCU_TIMEOUT_MS,
  );
});

describe("the energy model from the recorded costs (docs/hardware.md)", () => {
  const life = (presses: number, conditions = CENTRAL) =>
    lifetime({ pressesPerDay: presses }, LOW_BATTERY_MILLIVOLTS, BROWN_OUT_MILLIVOLTS, MEASURED_COSTS, conditions);

  it("meets the goals at ten presses a day: 7 years central, 5 worst case, the warning 30 days before the last code in both", () => {
    expect(life(10).lastCodeYears).toBeGreaterThanOrEqual(7);
    expect(life(10, WORST_CASE).lastCodeYears).toBeGreaterThanOrEqual(5);
    for (const presses of [5, 10, 20]) {
      expect(life(presses).warningLeadDays).toBeGreaterThanOrEqual(30);
      expect(life(presses, WORST_CASE).warningLeadDays).toBeGreaterThanOrEqual(30);
    }
  });

  it("adds up its budget by component, and the worst case costs more in every line", () => {
    const central = dailyBudget({ pressesPerDay: 10 });
    const worst = dailyBudget({ pressesPerDay: 10 }, MEASURED_COSTS, WORST_CASE);
    const total = central.reduce((sum, line) => sum + line.microamps, 0);
    expect(total * 86_400_000).toBeCloseTo(dailyMicroampMs({ pressesPerDay: 10 }), 3);
    expect(central.map((line) => line.what)).toEqual(worst.map((line) => line.what));
    central.forEach((line, i) => {
      expect(worst[i].microamps, line.what).toBeGreaterThanOrEqual(line.microamps);
    });
    // The sleep floor (System ON with 16 kB of RAM, the crystal) is most of it: the figure to measure on a board.
    expect(central[0].microamps + central[1].microamps).toBe(3);
    expect((central[0].microamps + central[1].microamps) / total).toBeGreaterThan(0.8);
  });
});

describe("transfers in the energy model", () => {
  const life = (transfers: number, conditions = CENTRAL) =>
    lifetime({ pressesPerDay: 10, transfersPerDay: transfers }, LOW_BATTERY_MILLIVOLTS, BROWN_OUT_MILLIVOLTS, MEASURED_COSTS, conditions);

  it("a day without transfers reads as before; each transfer costs its scan, its screens and its signing", () => {
    expect(dailyBudget({ pressesPerDay: 10, transfersPerDay: 0 })).toEqual(dailyBudget({ pressesPerDay: 10 }));
    const withTransfers = dailyBudget({ pressesPerDay: 10, transfersPerDay: 5 });
    expect(withTransfers.length).toBe(dailyBudget({ pressesPerDay: 10 }).length + 3);
    const parts = transferMicroampMs();
    const added = withTransfers.slice(-3).reduce((sum, line) => sum + line.microamps, 0) * 86_400_000;
    expect(added).toBeCloseTo(5 * (parts.scan + parts.shown + parts.sign), 3);
    expect(dailyMicroampMs({ pressesPerDay: 10, transfersPerDay: 5 })).toBeGreaterThan(dailyMicroampMs({ pressesPerDay: 10 }));
  });

  it("more transfers, shorter life, the worst case shorter still; the CPU mostly asleep while scanning", () => {
    for (const conditions of [CENTRAL, WORST_CASE]) {
      expect(life(5, conditions).lastCodeYears).toBeLessThan(life(0, conditions).lastCodeYears);
      expect(life(20, conditions).lastCodeYears).toBeLessThan(life(5, conditions).lastCodeYears);
      expect(life(20, conditions).warningLeadDays).toBeGreaterThanOrEqual(30);
    }
    expect(life(20, WORST_CASE).lastCodeYears).toBeLessThan(life(20).lastCodeYears);
    expect(life(0).lastCodeYears).toBe(lifetime({ pressesPerDay: 10 }, LOW_BATTERY_MILLIVOLTS, BROWN_OUT_MILLIVOLTS).lastCodeYears);
    expect(scanDutyCycle()).toBeLessThan(0.01);
  });
});
