// A simulated year of daily use (ten presses a day): memory never grows, the code is right at every
// press, flash erases are spread evenly over the pages, and the battery falls but lasts: at the
// year's measured drain, the energy model's CR2032 (host/board/energy.ts) shows codes for 7 years or
// more, and empties its gauge at least 30 days before the last code.
import { describe, expect, it } from "vitest";
import { BROWN_OUT_MILLIVOLTS, LOW_BATTERY_MILLIVOLTS } from "../host/board/battery.js";
import { CR2032, fractionAt, lifetime } from "../host/board/energy.js";
import { otpApi } from "../host/otp.js";
import { FIRMWARE_BUILDS, newToken, rtcTime, seedOf, START_SECONDS } from "./token-helpers.js";

const DAY_MS = 86_400_000;
const PRESSES_A_DAY = 10;
const GAP_MS = 90 * 60_000; // presses every 90 minutes from 08:00

describe.each(FIRMWARE_BUILDS)("a year of use (%s)", (build) => {
  it("ten presses a day for 365 days", () => {
    const api = otpApi();
    const seed = seedOf(20, 99);
    const generator = api.createTotp(seed);
    const token = newToken(build);
    token.addProfile({ seed, label: "DAILY" });
    const memoryBytes = token.memoryBytes();
    const startMillivolts = token.board.battery.millivolts();
    let presses = 0;
    let wrong = 0;
    for (let day = 0; day < 365; day++) {
      const dayStart = token.board.clock.now();
      token.advance(8 * 3_600_000);
      for (let i = 0; i < PRESSES_A_DAY; i++) {
        // A person presses at any second of the minute, not on the step boundary: spread the presses
        // over the minute, as the energy model averages them (the panel stays on longer after a press
        // whose minute ends just after a boundary).
        const secondOfMinute = ((day * PRESSES_A_DAY + i) * 37) % 60;
        token.advance(secondOfMinute * 1000);
        token.press();
        presses++;
        if (token.screen().code !== generator.generate(rtcTime(token))) wrong++;
        token.advance(GAP_MS - 100 - secondOfMinute * 1000);
      }
      token.advance(dayStart + DAY_MS - token.board.clock.now());
    }
    generator.dispose();
    expect(presses).toBe(3650);
    expect(wrong).toBe(0);
    expect(rtcTime(token) - START_SECONDS).toBe(365 * 86_400);
    // One page of memory, never grown.
    expect(token.memoryBytes()).toBe(memoryBytes);
    expect(memoryBytes).toBe(65536);
    // The latest time is recorded at most once an hour of use: here at every press (90 min apart).
    const erases = token.board.flash.eraseCounts;
    const total = erases.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(3650);
    expect(Math.max(...erases) - Math.min(...erases)).toBeLessThanOrEqual(1);
    // The battery fell, but a year of this use leaves it well above the low-battery level.
    const millivolts = token.board.battery.millivolts();
    expect(millivolts).toBeLessThan(startMillivolts);
    expect(millivolts).toBeGreaterThan(LOW_BATTERY_MILLIVOLTS);
    // The year's drain, carried on down the cell's curve: when the gauge empties and when the last code shows.
    const usedPerDay = token.board.battery.usedMicroampHours / 365; // µAh
    const daysTo = (mv: number) => (fractionAt(mv) * CR2032.capacityMicroampHours) / usedPerDay;
    const lastCodeYears = daysTo(BROWN_OUT_MILLIVOLTS) / 365.25;
    const leadDays = daysTo(BROWN_OUT_MILLIVOLTS) - daysTo(LOW_BATTERY_MILLIVOLTS);
    expect(lastCodeYears).toBeGreaterThanOrEqual(7);
    expect(leadDays).toBeGreaterThanOrEqual(30);
    // The simulation agrees with the energy model's arithmetic for the same use.
    const model = lifetime({ pressesPerDay: PRESSES_A_DAY }, LOW_BATTERY_MILLIVOLTS, BROWN_OUT_MILLIVOLTS);
    expect(Math.abs(lastCodeYears - model.lastCodeYears) / model.lastCodeYears).toBeLessThan(0.02);
    console.log(
      `${build}: ${presses} presses, ${token.ticks} ticks, ${total} erases (${Math.min(...erases)}-${Math.max(...erases)} per page), ` +
        `battery ${startMillivolts} -> ${millivolts} mV, ${(usedPerDay / 24).toFixed(2)} µA average: ` +
        `last code after ${lastCodeYears.toFixed(2)} years, low-battery warning ${leadDays.toFixed(0)} days before it (model: ${model.lastCodeYears.toFixed(2)} years)`,
    );
  }, 120_000);
});
