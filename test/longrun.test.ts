// A simulated year of daily use (ten presses a day): memory never grows, the code is right at every
// press, flash erases are spread evenly over the pages, and the battery falls but lasts.
import { describe, expect, it } from "vitest";
import { LOW_BATTERY_MILLIVOLTS } from "../host/board/battery.js";
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
        token.press();
        presses++;
        if (token.screen().code !== generator.generate(rtcTime(token))) wrong++;
        token.advance(GAP_MS - 100);
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
    console.log(`${build}: ${presses} presses, ${token.ticks} ticks, ${total} erases (${Math.min(...erases)}-${Math.max(...erases)} per page), battery ${startMillivolts} -> ${millivolts} mV`);
  }, 120_000);
});
