// The silicon image's clock, panel, link and light-sensor drivers (mcu/clock.c, clock_rtc.c, nrf_clock.c, nrf_rtc.c,
// nrf_ppi.c, nrf_gpiote.c, nrf_gpio.c, nrf_spi.c, sharp_lcd.c, nrf_uart.c, light.c) on the host: compiled unchanged with the
// host's cc against a register model of the nRF51 written from the nRF51 Series Reference Manual v3.0
// (test/nrf51-model/nrf51_model.c), and run through the scenarios of test/nrf51-model/scenarios.c.
// QEMU 7.2 has no RTC, GPIOTE or PPI, so this is where that code runs before a board does.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PANEL_FRAME_OVERHEAD_BYTES,
  PANEL_LINE_BYTES,
  PANEL_SCS_HOLD_MICROSECONDS,
  PANEL_SCS_LOW_MICROSECONDS,
  PANEL_SCS_SETUP_MICROSECONDS,
  PANEL_SPI_HZ,
} from "../host/mcu/panel.js";

const ROOT = join(import.meta.dirname, "..");
const DRIVERS = [
  "clock.c",
  "clock_rtc.c",
  "nrf_clock.c",
  "nrf_rtc.c",
  "nrf_ppi.c",
  "nrf_gpiote.c",
  "nrf_gpio.c",
  "nrf_spi.c",
  "sharp_lcd.c",
  "nrf_uart.c",
  "light.c",
];
const ABI_HEADER = join(ROOT, "build", "mcu", "token_abi.h");

function skipReason(): string | undefined {
  if (spawnSync("cc", ["--version"], { stdio: "ignore" }).status !== 0) return "no host C compiler (cc)";
  if (!existsSync(ABI_HEADER)) return "build/mcu/token_abi.h was not generated (npm run build:mcu)";
  return undefined;
}
const SKIP = skipReason();
if (SKIP) console.warn(`the register-model tests are skipped: ${SKIP}`);

const START_SECONDS = 1_767_225_600;
const LFCLK_HZ = 32_768;
const WRAP = 2 ** 24;
const DAY = 86_400;

describe.skipIf(SKIP !== undefined)(
  "the silicon image's RTC, LFCLK, GPIOTE, PPI, button, link and panel drivers against the nRF51 register model",
  () => {
    let dir: string;
    let binary: string;
    // biome-ignore lint/suspicious/noExplicitAny: the scenario prints plain JSON
    const run = (scenario: string): any => JSON.parse(execFileSync(binary, [scenario], { encoding: "utf8" }));

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "otp-nrf51-model-"));
      binary = join(dir, "scenarios");
      const model = join(ROOT, "test", "nrf51-model");
      execFileSync("cc", [
        "-std=c11",
        "-O1",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-DNRF51_MODEL",
        "-DMCU_SILICON",
        `-I${join(ROOT, "mcu")}`,
        `-I${join(ROOT, "build", "mcu")}`,
        `-I${model}`,
        ...DRIVERS.map((file) => join(ROOT, "mcu", file)),
        join(model, "nrf51_model.c"),
        join(model, "scenarios.c"),
        "-o",
        binary,
      ]);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("keeps time across the 24-bit COUNTER's overflow (RM §19: COUNTER, OVRFLW, TASKS_TRIGOVRFLW)", () => {
      const r = run("overflow");
      // TRIGOVRFLW sets COUNTER to 0xFFFFF0, 16 counts before the wrap.
      expect(r.counterAfterTrigger).toBe(0xfffff0);
      // One second asleep across the wrap is 32,768 ticks, and COUNTER wrapped to 32,768 - 16.
      expect(r.ticksAcrossWrap).toBe(LFCLK_HZ);
      expect(r.counterAfterWrap).toBe(LFCLK_HZ - 16);
      // 1,000 s later by the model's LFCLK, the clock reads 1,000 s later.
      expect(r.after1000s.seconds - r.start.seconds).toBe(1000);
      expect(r.after1000s.lfclkCycles).toBe(1000 * LFCLK_HZ);
      expect(r.compareEventsLost).toBe(0);
    });

    it("sleeps 48 days on RTC1 and LFCLK from the crystal, the 16 MHz clock never requested (RM §13: LFCLKSRC, LFCLKSTART; §19: PRESCALER, CC, COMPARE)", () => {
      const r = run("sleep48");
      expect(r.start.seconds).toBe(START_SECONDS);
      expect(r.end.seconds).toBe(START_SECONDS + 48 * DAY);
      // Exact to the LFCLK cycle: 48 days of the model's 32.768 kHz clock are 48 days of ticks.
      expect(r.end.lfclkCycles).toBe(48 * DAY * LFCLK_HZ);
      expect(r.end.ticks - r.start.ticks).toBe(48 * DAY * LFCLK_HZ);
      // Every sleep ends within half a wrap (2^23 counts, 256 s), so each wrap is seen: 16,200 sleeps,
      // plus the one for the crystal's start-up.
      expect(r.longestSleepLfclk).toBe(WRAP / 2);
      expect(r.sleeps).toBe((48 * DAY) / 256 + 1);
      expect(r.lfclkRunning).toBe(true);
      expect(r.lfclkSource).toBe(1); // Xtal
      expect(r.hfclkRequested).toBe(false);
      expect(r.rtc1Running).toBe(true);
      expect(r.compareEventsLost).toBe(0);
    });

    it("never arms a compare one count ahead, which may not fire (RM §19, Compare: CC = N or N + 1)", () => {
      const r = run("near-deadline");
      expect(r.rounds).toBe(2000);
      // The model drops every COMPARE written one count ahead; none was, and no sleep overslept.
      expect(r.compareEventsLost).toBe(0);
      expect(r.lateWakes).toBe(0);
      expect(r.clockErrorTicks).toBe(0);
    });

    it("powers the panel, clears it, raises DISP and toggles EXTCOMIN by PPI only while it shows something (RM §15 GPIOTE task mode, §16 PPI, §19 EVTEN)", () => {
      const r = run("panel");
      const off = { power: 0, disp: 0, scs: 0, extcominChannel: 0, ppi: 0, rtc0Running: false };
      expect(r.init).toEqual(off);
      expect(r.togglesBeforeShown).toBe(0);
      // Shown: supply and DISP high, GPIOTE channel 0 in task mode on EXTCOMIN (pin 1) toggling, PPI
      // channels 0 and 1 (toggle, restart RTC0) on, RTC0 running.
      expect(r.shown).toEqual({ power: 1, disp: 1, scs: 0, extcominChannel: 3 | (1 << 8) | (3 << 16), ppi: 3, rtc0Running: true });
      // Ten seconds shown: ten toggles, and the CPU slept through them (no wake-up).
      expect(r.togglesIn10sShown).toBe(10);
      expect(r.cpuWakesFor10sShown).toBe(0);
      // Off: everything off again, no toggle, nothing on the bus, EXTCOMIN low.
      expect(r.off).toEqual(off);
      expect(r.togglesIn10sOff).toBe(0);
      expect(r.bytesWhileOff).toBe(0);
      expect(r.extcominLevelOff).toBe(0);
    });

    it("sends the frame as the panel takes it, SCS high around it, and waits for the bus (RM §24 READY)", () => {
      const r = run("panel");
      const frame: [number, number][] = r.firstFrame;
      // The all-clear command (mode M2, dummy), then a multiple-line write of all 32 rows.
      expect(frame.slice(0, 2).map(([b]) => b)).toEqual([0x04, 0]);
      const write = frame.slice(2);
      expect(write.length).toBe(32 * PANEL_LINE_BYTES + PANEL_FRAME_OVERHEAD_BYTES);
      expect(write[0][0]).toBe(0x01);
      expect(write[write.length - 1][0]).toBe(0);
      // Row 0 is line 19 (the image centred in 68 lines); its first pixel lit: dark, bit 0 of its first data byte.
      expect(write[1][0]).toBe(19);
      expect(write.slice(2, 4).map(([b]) => b)).toEqual([0xff, 0xff]);
      expect(write[4][0]).toBe(0xfe);
      // Every byte went out with SCS high.
      expect(frame.every(([, scs]) => scs === 1)).toBe(true);
      // The time the driver waited: every byte at 1 MHz, and SCS's set-up, hold and low times, twice.
      const bytes = frame.length;
      const micros =
        (bytes * 8 * 1e6) / PANEL_SPI_HZ + 2 * (PANEL_SCS_SETUP_MICROSECONDS + PANEL_SCS_HOLD_MICROSECONDS + PANEL_SCS_LOW_MICROSECONDS);
      expect(r.firstFrameMicroseconds).toBe(micros);
      // One changed row is one line: row 9 is line 28, its pixel in column 5 dark.
      const changed: [number, number][] = r.changedFrame;
      expect(changed.map(([b]) => b)).toEqual([0x01, 28, 0xff, 0xff, 0xff & ~(1 << 5), ...new Array(17).fill(0xff), 0, 0]);
      expect(r.linesWritten).toBe(33);
    });

    it("runs the UART only while a host is attached: its line wakes the CPU by SENSE and PORT (RM §14 pin sensing, §15 PORT, §29 STARTRX/STOPRX)", () => {
      const r = run("link");
      // A minute with no host: the receiver never ran (it would keep the 16 MHz clock on), one long sleep.
      expect(r.detached).toEqual({ running: false, sleeps: 1, sleepsWithRx: 0 });
      // The host's line rises half a second into a 5 s sleep: the CPU wakes then, not at the deadline.
      expect(r.attached).toEqual({ running: true, rxRunning: true, startedAfterTicks: LFCLK_HZ / 2 });
      // Gone (the line pulled down, no byte): stopped within the link's 10 s of silence, and off after.
      expect(r.gone.running).toBe(false);
      expect(r.gone.rxRunning).toBe(false);
      expect(r.gone.stoppedAfterTicks).toBeGreaterThan(0);
      expect(r.gone.stoppedAfterTicks).toBeLessThanOrEqual(10 * LFCLK_HZ);
      expect(r.gone.sleepsWithRxLater).toBe(0);
      expect(r.hfclkRequested).toBe(false);
    });

    it("wakes on button A's press and, with its SENSE turned round, on its release (RM §14 pin sensing, §15 PORT)", () => {
      const r = run("button");
      // Down 0.3 s into a 10 s sleep, up 0.2 s later (0.5 s in): each wakes the CPU then, to the count.
      expect(r).toEqual({
        down: true,
        pressedAfterTicks: Math.floor(0.3 * LFCLK_HZ),
        up: true,
        releasedAfterTicks: Math.floor(0.5 * LFCLK_HZ) - Math.floor(0.3 * LFCLK_HZ),
        idleSleepTicks: 10 * LFCLK_HZ,
      });
    });

    it("samples the light sensors in scan mode on RTC1 COMPARE[1], 240 a second, asleep between, beside the clock's COMPARE[0] (RM §19; light.c)", () => {
      const r = run("light");
      // Off: the front end unpowered (P0.08 low), nothing read, no sample due.
      expect(r).toMatchObject({ powerInit: 0, readOff: 0, dueOff: false, powerOn: 1 });
      // One second of scan mode: SCAN_HZ samples, 136 and 137 ticks apart in turn (32,768 / 240 = 136.5),
      // each reading the comparators' pins P0.03-P0.07 as the mask, the CPU asleep between them, the
      // 16 MHz clock never requested, and the clock's own second exact.
      expect(r.samples).toBe(240);
      expect(r.gaps136 + r.gaps137).toBe(239);
      expect(Math.abs(r.gaps136 - r.gaps137)).toBeLessThanOrEqual(1);
      expect(r.otherGaps).toBe(0);
      expect(r.wrongMasks).toBe(0);
      expect(r.scanSleeps).toBeGreaterThanOrEqual(240);
      expect(r.scanSeconds).toBe(1);
      expect(r.hfclkRequested).toBe(false);
      expect(r.compareEventsLost).toBe(0);
      // Ended: power off, the pins read dark, no sample in the next second, one sleep through it.
      expect(r).toMatchObject({ powerOff: 0, readAfter: 0, samplesAfter: 0, sleepsAfter: 1 });
    });
  },
);
