// The board simulator (host/board): every peripheral on virtual time, asserted with values that would
// be wrong if the behaviour were wrong.
import { describe, expect, it } from "vitest";
import {
  BROWN_OUT_MILLIVOLTS,
  Battery,
  Board,
  Button,
  CR2032,
  DEFAULT_BOARD_START_MS,
  FLASH_OUT_OF_RANGE,
  FLASH_PAGE_BYTES,
  FLASH_SIZE_BYTES,
  FlashMisuseError,
  FRESH_CELL_MILLIVOLTS,
  LONG_PRESS_MS,
  LOW_BATTERY_MILLIVOLTS,
  millivoltsAt,
  NorFlash,
  PowerCutError,
  RTC_LOST,
  RealTimeSource,
  Rtc,
  SeededRandom,
  TrueRandom,
  VirtualClock,
  type ButtonEventName,
} from "../host/board/index.js";

const FIVE_YEARS_S = 5 * 365 * 86_400; // s (365-day years)

describe("VirtualClock", () => {
  it("starts where told and moves only when told", () => {
    const clock = new VirtualClock({ startMs: 1000 });
    expect(clock.now()).toBe(1000);
    clock.advance(250);
    expect(clock.now()).toBe(1250);
    clock.set(5000);
    expect(clock.now()).toBe(5000);
  });

  it("refuses to go backwards or by fractions", () => {
    const clock = new VirtualClock({ startMs: 1000 });
    expect(() => clock.set(999)).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(0.5)).toThrow(RangeError);
    expect(clock.now()).toBe(1000);
  });

  it("fires timers in order at their due time during one long advance", () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    clock.at(300, () => seen.push(`b@${clock.now()}`));
    clock.at(100, () => seen.push(`a@${clock.now()}`));
    const cancel = clock.at(200, () => seen.push("cancelled"));
    cancel();
    clock.advance(1000);
    expect(seen).toEqual(["a@100", "b@300"]);
    expect(clock.now()).toBe(1000);
  });

  it("reports each forward move to listeners and refuses re-entrant advances", () => {
    const clock = new VirtualClock();
    const moves: [number, number][] = [];
    clock.onAdvance((from, to) => moves.push([from, to]));
    clock.advance(10);
    clock.advance(0);
    expect(moves).toEqual([[0, 10]]);
    clock.at(20, () => clock.advance(1));
    expect(() => clock.advance(50)).toThrow(/inside one of its own callbacks/);
  });
});

describe("RealTimeSource", () => {
  it("advances virtual time by the (injected) wall time elapsed, never backwards", () => {
    let wall = 10_000;
    const clock = new VirtualClock({ startMs: 0 });
    const real = new RealTimeSource(clock, { startAtWallTime: true, wallNow: () => wall });
    expect(clock.now()).toBe(10_000);
    wall += 1234;
    expect(real.sync()).toBe(1234);
    expect(clock.now()).toBe(11_234);
    wall -= 5000;
    expect(real.sync()).toBe(0);
    expect(clock.now()).toBe(11_234);
  });
});

describe("Rtc", () => {
  it("reads -1 when brand new and the set time afterwards", () => {
    const clock = new VirtualClock();
    const rtc = new Rtc({ driftPpm: 0 }, clock);
    expect(rtc.nowSeconds()).toBe(RTC_LOST);
    expect(rtc.nowSeconds()).toBe(-1n);
    expect(rtc.lostPower).toBe(true);
    rtc.set(1_700_000_000n);
    expect(rtc.lostPower).toBe(false);
    expect(rtc.nowSeconds()).toBe(1_700_000_000n);
    clock.advance(999);
    expect(rtc.nowSeconds()).toBe(1_700_000_000n);
    clock.advance(1);
    expect(rtc.nowSeconds()).toBe(1_700_000_001n);
  });

  it("+20 ppm gains exactly 20 s over 1e6 s, -20 ppm loses 20 s", () => {
    const fast = new VirtualClock();
    const rtcFast = new Rtc({ driftPpm: 20, startSeconds: 0n }, fast);
    fast.advance(1_000_000_000);
    expect(rtcFast.nowSeconds()).toBe(1_000_020n);

    const slow = new VirtualClock();
    const rtcSlow = new Rtc({ driftPpm: -20, startSeconds: 0n }, slow);
    slow.advance(1_000_000_000);
    expect(rtcSlow.nowSeconds()).toBe(999_980n);
  });

  it("is exact over five years at +20 ppm, down to the millisecond a second rolls over", () => {
    const clock = new VirtualClock({ startMs: 0 });
    const start = 1_600_000_000n;
    const rtc = new Rtc({ driftPpm: 20, startSeconds: start }, clock);
    clock.advance(FIVE_YEARS_S * 1000);
    // 157,680,000 s * 20e-6 = 3153.6 s gained.
    expect(rtc.nowSeconds()).toBe(start + 157_680_000n + 3153n);
    // 0.4 s still owed to the next second; at +20 ppm it takes 399.992 ms of real time.
    clock.advance(399);
    expect(rtc.nowSeconds()).toBe(start + 157_683_153n);
    clock.advance(1);
    expect(rtc.nowSeconds()).toBe(start + 157_683_154n);
  });

  it("gives the same reading after many small advances as after one big one", () => {
    const stepped = new VirtualClock();
    const jumped = new VirtualClock();
    const a = new Rtc({ driftPpm: 13.7, startSeconds: 0n }, stepped);
    const b = new Rtc({ driftPpm: 13.7, startSeconds: 0n }, jumped);
    for (let day = 0; day < 5 * 365; day++) stepped.advance(86_400_000 + 7);
    jumped.advance((86_400_000 + 7) * 5 * 365);
    expect(a.nowSeconds()).toBe(b.nowSeconds());
    // 157,680,012.775 s * (1 + 13.7e-6) = 157,682,172.991... s: a float sum would round it up.
    expect(a.nowSeconds()).toBe(157_682_172n);
  });

  it("keeps exact time across a drift change", () => {
    const clock = new VirtualClock();
    const rtc = new Rtc({ driftPpm: 100, startSeconds: 0n }, clock);
    clock.advance(500_000_000); // +50 s
    rtc.setDriftPpm(-100);
    clock.advance(500_000_000); // -50 s
    expect(rtc.nowSeconds()).toBe(1_000_000n);
    expect(rtc.driftPpm).toBe(-100);
  });

  it("keeps running on the backup cell while main power is off", () => {
    const clock = new VirtualClock();
    const rtc = new Rtc({ driftPpm: 0, startSeconds: 1000n }, clock);
    rtc.powerOff();
    clock.advance(3_600_000);
    rtc.powerOn();
    expect(rtc.lostPower).toBe(false);
    expect(rtc.nowSeconds()).toBe(4600n);
  });

  it("loses the time when main power goes off without a backup cell, until set again", () => {
    const clock = new VirtualClock();
    const rtc = new Rtc({ driftPpm: 0, startSeconds: 1000n }, clock);
    rtc.removeBackupBattery();
    expect(rtc.nowSeconds()).toBe(1000n); // main power still on: nothing lost yet
    rtc.powerOff();
    rtc.insertBackupBattery();
    rtc.powerOn();
    expect(rtc.lostPower).toBe(true);
    expect(rtc.nowSeconds()).toBe(-1n);
    rtc.set(2000n);
    expect(rtc.lostPower).toBe(false);
    expect(rtc.nowSeconds()).toBe(2000n);
  });

  it("loses the time when the backup cell is pulled while main power is off", () => {
    const clock = new VirtualClock();
    const rtc = new Rtc({ driftPpm: 0, startSeconds: 1000n }, clock);
    rtc.powerOff();
    rtc.removeBackupBattery();
    rtc.insertBackupBattery();
    rtc.powerOn();
    expect(rtc.nowSeconds()).toBe(-1n);
  });

  it("rejects negative times and absurd drifts", () => {
    const rtc = new Rtc({ driftPpm: 0 }, new VirtualClock());
    expect(() => rtc.set(-5n)).toThrow(RangeError);
    expect(() => new Rtc({ driftPpm: Number.NaN }, new VirtualClock())).toThrow(RangeError);
  });
});

describe("NorFlash", () => {
  it("defaults to 16 KiB in 1 KiB pages, all erased to 0xFF", () => {
    const flash = new NorFlash();
    expect(FLASH_SIZE_BYTES).toBe(16384);
    expect(FLASH_PAGE_BYTES).toBe(1024);
    expect(flash.sizeBytes).toBe(16384);
    expect(flash.pageCount).toBe(16);
    expect(flash.image().every((b) => b === 0xff)).toBe(true);
  });

  it("programs by clearing bits, and a second program may clear more", () => {
    const flash = new NorFlash();
    flash.program(10, Uint8Array.of(0xf0, 0x0f, 0x00));
    expect([...flash.read(9, 5)]).toEqual([0xff, 0xf0, 0x0f, 0x00, 0xff]);
    flash.program(10, Uint8Array.of(0x30));
    expect(flash.read(10, 1)[0]).toBe(0x30);
    expect(flash.programCount).toBe(2);
  });

  it("throws FlashMisuseError naming address and bytes when a program would set a bit", () => {
    const flash = new NorFlash();
    flash.program(0x123, Uint8Array.of(0x0f));
    let error: unknown;
    try {
      flash.program(0x123, Uint8Array.of(0x1f));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlashMisuseError);
    expect((error as Error).message).toMatch(/0x0123/);
    expect((error as Error).message).toMatch(/0x0f/);
    expect((error as Error).message).toMatch(/0x1f/);
    expect(flash.read(0x123, 1)[0]).toBe(0x0f);
    expect(flash.programCount).toBe(1);
  });

  it("throws on out-of-range addresses and pages", () => {
    const flash = new NorFlash();
    expect(() => flash.program(16383, Uint8Array.of(0, 0))).toThrow(RangeError);
    expect(() => flash.program(-1, Uint8Array.of(0))).toThrow(RangeError);
    expect(() => flash.read(16000, 385)).toThrow(RangeError);
    expect(() => flash.erase(16)).toThrow(RangeError);
    expect(flash.operationCount).toBe(0);
  });

  it("erases a whole page to 0xFF and counts it, leaving other pages alone", () => {
    const flash = new NorFlash();
    flash.program(1023, Uint8Array.of(0x00, 0x00)); // last byte of page 0, first of page 1
    flash.erase(1);
    flash.erase(1);
    expect(flash.read(1023, 2)).toEqual(Uint8Array.of(0x00, 0xff));
    expect(flash.eraseCounts[1]).toBe(2);
    expect(flash.eraseCounts[0]).toBe(0);
    expect(flash.eraseCount).toBe(2);
    expect(flash.operationCount).toBe(3);
  });

  it("clean cut: k operations complete, the next does nothing, then everything throws until power returns", () => {
    const flash = new NorFlash();
    flash.program(0, Uint8Array.of(0xaa)); // before arming: not counted towards k
    flash.cutPowerAfter(2, "clean");
    flash.program(1, Uint8Array.of(0x01));
    flash.program(2, Uint8Array.of(0x02));
    expect(() => flash.program(3, Uint8Array.of(0x03))).toThrow(PowerCutError);
    expect(flash.read(0, 4)).toEqual(Uint8Array.of(0xaa, 0x01, 0x02, 0xff));
    expect(flash.hasPower).toBe(false);
    expect(() => flash.erase(0)).toThrow(PowerCutError);
    expect(() => flash.program(5, Uint8Array.of(0))).toThrow(PowerCutError);
    expect(flash.eraseCounts[0]).toBe(0);
    expect(flash.operationCount).toBe(3);
    flash.restorePower();
    flash.program(3, Uint8Array.of(0x03));
    expect(flash.read(3, 1)[0]).toBe(0x03);
  });

  it("clean cut of an erase leaves the page untouched", () => {
    const flash = new NorFlash();
    flash.program(0, new Uint8Array(FLASH_PAGE_BYTES)); // all zero
    flash.cutPowerAfter(0, "clean");
    expect(() => flash.erase(0)).toThrow(PowerCutError);
    expect(flash.read(0, FLASH_PAGE_BYTES).every((b) => b === 0)).toBe(true);
    expect(flash.eraseCounts[0]).toBe(0);
  });

  function tornProgram(seed: number): Uint8Array {
    const flash = new NorFlash({ seed });
    flash.cutPowerAfter(1, "torn");
    flash.program(0, Uint8Array.of(0x11));
    const data = new Uint8Array(200).map((_, i) => i & 0x7f);
    expect(() => flash.program(100, data)).toThrow(PowerCutError);
    return flash.image();
  }

  it("torn cut of a program writes a strict prefix, the same one for the same seed", () => {
    const prefixes = new Set<number>();
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const image = tornProgram(seed);
      expect(image).toEqual(tornProgram(seed));
      expect(image[0]).toBe(0x11);
      let prefix = 0;
      while (prefix < 200 && image[100 + prefix] === (prefix & 0x7f)) prefix++;
      expect(prefix).toBeLessThan(200);
      // Everything after the prefix is still erased: nothing out of order.
      expect(image.subarray(100 + prefix, 300).every((b) => b === 0xff)).toBe(true);
      prefixes.add(prefix);
    }
    expect(prefixes.size).toBeGreaterThan(1);
  });

  it("torn cut of an erase leaves the page partly erased and partly as it was, deterministically", () => {
    const torn = (seed: number): Uint8Array => {
      const flash = new NorFlash({ seed });
      flash.program(FLASH_PAGE_BYTES, new Uint8Array(FLASH_PAGE_BYTES)); // page 1 all zero
      flash.cutPowerAfter(0, "torn");
      expect(() => flash.erase(1)).toThrow(PowerCutError);
      expect(flash.eraseCounts[1]).toBe(1);
      return flash.read(FLASH_PAGE_BYTES, FLASH_PAGE_BYTES);
    };
    const page = torn(42);
    const erased = page.filter((b) => b === 0xff).length;
    const untouched = page.filter((b) => b === 0x00).length;
    expect(erased + untouched).toBe(FLASH_PAGE_BYTES);
    expect(erased).toBeGreaterThan(0);
    expect(untouched).toBeGreaterThan(0);
    expect(page).toEqual(torn(42));
  });

  it("round-trips through image() and fromImage(), with erase counters at 0 or as given", () => {
    const flash = new NorFlash();
    flash.program(2000, Uint8Array.of(1, 2, 3));
    flash.erase(5);
    const image = flash.image();
    image[0] = 0; // a copy: changing it does not touch the chip
    expect(flash.read(0, 1)[0]).toBe(0xff);

    const restored = NorFlash.fromImage(flash.image());
    expect(restored.image()).toEqual(flash.image());
    expect(restored.eraseCounts.every((c) => c === 0)).toBe(true);
    const withCounts = NorFlash.fromImage(flash.image(), { eraseCounts: flash.eraseCounts });
    expect(withCounts.eraseCounts[5]).toBe(1);
    expect(() => NorFlash.fromImage(new Uint8Array(100))).toThrow(RangeError);
  });

  it("serves the wasm HAL: status codes for range, exceptions for misuse and power cuts", () => {
    const flash = new NorFlash();
    const memory = new Uint8Array(256);
    const hal = flash.halImports(() => memory);
    memory.set([0x12, 0x34, 0x56], 16);
    expect(hal.flashProgram(40, 16, 3)).toBe(0);
    hal.flashRead(39, 100, 5);
    expect([...memory.subarray(100, 105)]).toEqual([0xff, 0x12, 0x34, 0x56, 0xff]);
    expect(hal.flashProgram(16383, 16, 2)).toBe(FLASH_OUT_OF_RANGE);
    expect(hal.flashProgram(-4, 16, 2)).toBe(-1);
    expect(hal.flashErase(16)).toBe(-1);
    expect(hal.flashErase(-1)).toBe(-1);
    memory[0] = 0xff;
    expect(() => hal.flashProgram(40, 0, 1)).toThrow(FlashMisuseError);
    expect(hal.flashErase(0)).toBe(0);
    flash.cutPowerAfter(0, "clean");
    expect(() => hal.flashProgram(40, 16, 3)).toThrow(PowerCutError);
    expect(() => hal.flashRead(0, 0, 1)).toThrow(PowerCutError);
  });
});

describe("Battery", () => {
  it("starts full and follows the CR2032's curve down as the board charges what it did, at the energy model's costs", () => {
    const battery = new Battery();
    expect(battery.millivolts()).toBe(3000);
    expect(battery.millivolts()).toBe(FRESH_CELL_MILLIVOLTS);
    // A tenth of the rated capacity: the curve's point at 10 % used.
    battery.drain((CR2032.capacityMicroampHours / 10) * 3600);
    expect(battery.millivolts()).toBe(2950);
    // Each kind of use costs its configured charge.
    const before = battery.usedMicroampHours;
    battery.consume({ displayOnMs: 3_600_000, flashErases: 10, flashWords: 203, wakeups: 100 });
    const c = battery.config;
    expect(battery.usedMicroampHours - before).toBeCloseTo(
      (3_600_000 * c.displayMicroamps + 10 * c.flashEraseMicroampMs + 203 * c.flashWordMicroampMs + 100 * c.wakeupMicroampMs) / 3_600_000,
      6,
    );
    expect(Number.isInteger(battery.millivolts())).toBe(true);
  });

  it("is flat for most of its capacity, then falls off a knee to 2.0 V at the rated capacity, and below past it", () => {
    const battery = new Battery({ capacityMicroampHours: 1000 });
    battery.drain(500 * 3600);
    expect(battery.millivolts()).toBe(2900); // half used: still near 2.9 V
    battery.drain(400 * 3600);
    expect(battery.millivolts()).toBe(2750); // nine tenths
    battery.drain(100 * 3600);
    expect(battery.millivolts()).toBe(2000); // the rated capacity: the end voltage
    battery.drain(10 * 3600);
    expect(battery.millivolts()).toBeLessThan(2000);
    expect(battery.millivolts()).toBeGreaterThanOrEqual(0);
  });

  it("loses its self-discharge as time passes, with the sleep current", () => {
    const battery = new Battery({ sleepMicroamps: 0 });
    battery.elapse(365.25 * 86_400_000);
    expect(battery.usedMicroampHours).toBeCloseTo(CR2032.capacityMicroampHours * 0.01, 3);
  });

  it("can be forced to a voltage for tests, read back exactly, then falls from there; and replaced", () => {
    const battery = new Battery();
    expect(LOW_BATTERY_MILLIVOLTS).toBe(2500);
    expect(BROWN_OUT_MILLIVOLTS).toBe(2200);
    battery.set(2499);
    expect(battery.millivolts()).toBe(2499);
    expect(battery.isLow).toBe(true);
    battery.drain(3600);
    expect(battery.millivolts()).toBeLessThanOrEqual(2499);
    battery.set(2950);
    expect(battery.isLow).toBe(false);
    battery.replace();
    expect(battery.millivolts()).toBe(3000);
    expect(battery.isLow).toBe(false);
  });

  it("rejects negative use and a curve that does not fall", () => {
    expect(() => new Battery().drain(-1)).toThrow(RangeError);
    expect(
      () =>
        new Battery({
          curve: [
            [0, 3000],
            [1, 3100],
          ],
        }),
    ).toThrow(/curve must run from fraction 0 to 1/);
  });
});

describe("Button", () => {
  function setUp(): { clock: VirtualClock; button: Button; events: [ButtonEventName, number][] } {
    const clock = new VirtualClock({ startMs: 10_000 });
    const events: [ButtonEventName, number][] = [];
    const button = new Button(clock, (event) => events.push([event, clock.now()]));
    return { clock, button, events };
  }

  it("press() emits one press on release, 100 ms later", () => {
    const { clock, button, events } = setUp();
    button.press();
    expect(events).toEqual([["press", 10_100]]);
    expect(clock.now()).toBe(10_100);
    expect(button.isDown).toBe(false);
  });

  it("hold() fires hold at exactly 2 s held, then release (not press)", () => {
    const { button, events } = setUp();
    expect(LONG_PRESS_MS).toBe(2000);
    button.hold(5000);
    expect(events).toEqual([
      ["hold", 12_000],
      ["release", 15_000],
    ]);
  });

  it("released just before the long-press time is a press", () => {
    const { button, events } = setUp();
    button.hold(1999);
    expect(events).toEqual([["press", 11_999]]);
  });

  it("down()/up() by hand: hold fires once while advancing, even across several advances", () => {
    const { clock, button, events } = setUp();
    button.down();
    clock.advance(1500);
    expect(events).toEqual([]);
    expect(button.heldMs).toBe(1500);
    clock.advance(1500);
    clock.advance(4000);
    expect(events).toEqual([["hold", 12_000]]);
    button.up();
    expect(events).toEqual([
      ["hold", 12_000],
      ["release", 17_000],
    ]);
    button.up(); // already up: nothing
    button.down();
    clock.advance(300);
    button.up();
    expect(events.at(-1)).toEqual(["press", 17_300]);
    clock.advance(5000); // the cancelled hold timer must not fire
    expect(events).toHaveLength(3);
  });
});

describe("random sources", () => {
  it("TrueRandom fills large buffers, not with zeros, differently each time", () => {
    const random = new TrueRandom();
    const a = new Uint8Array(70_000); // more than one getRandomValues chunk
    const b = new Uint8Array(70_000);
    random.fill(a);
    random.fill(b);
    expect(a.some((x) => x !== 0)).toBe(true);
    expect(a.subarray(65_536).some((x) => x !== 0)).toBe(true);
    expect(a).not.toEqual(b);
  });

  it("SeededRandom repeats for one seed and differs between seeds", () => {
    const fill = (seed: number): Uint8Array => {
      const bytes = new Uint8Array(32);
      new SeededRandom(seed).fill(bytes);
      return bytes;
    };
    expect(fill(7)).toEqual(fill(7));
    expect(fill(7)).not.toEqual(fill(8));
    expect(fill(7).some((x) => x !== 0)).toBe(true);
  });
});

describe("Board", () => {
  it("defaults: fixed start time, RTC set at the factory, full battery, empty flash", () => {
    const board = new Board({ randomSeed: 1 });
    expect(board.clock.now()).toBe(DEFAULT_BOARD_START_MS);
    expect(board.rtc.nowSeconds()).toBe(BigInt(DEFAULT_BOARD_START_MS / 1000));
    expect(board.battery.millivolts()).toBe(3000);
    expect(board.flash.image().every((b) => b === 0xff)).toBe(true);
    expect(new Board({ rtc: { startSeconds: null } }).rtc.nowSeconds()).toBe(-1n);
  });

  it("gives the wasm module its complete hal namespace over its memory", () => {
    const board = new Board({ startMs: 0, rtc: { startSeconds: 59n, driftPpm: 0 }, randomSeed: 3 });
    const memory = new Uint8Array(1024);
    const hal = board.halImports(() => memory);
    expect(Object.keys(hal).sort()).toEqual(
      ["batteryMillivolts", "flashErase", "flashProgram", "flashRead", "lightPower", "lightSensors", "random", "rtcNow", "rtcSet"].sort(),
    );
    // Held to nothing, the light sensors read the dark.
    expect(hal.lightSensors()).toBe(0);
    // Held to a white page but unpowered (the firmware not in scan mode), they read the dark too; the
    // firmware's lightPower(1) powers them, lightPower(0) turns them off.
    board.light.aim(() => [1, 1, 1, 1, 1]);
    expect(hal.lightSensors()).toBe(0);
    hal.lightPower(1);
    expect(board.light.powered).toBe(true);
    expect(board.light.powerUps).toBe(1);
    hal.lightPower(0);
    expect(board.light.powered).toBe(false);
    expect(hal.lightSensors()).toBe(0);
    board.light.aim(undefined);
    expect(hal.rtcNow()).toBe(59n);
    board.clock.advance(1000);
    expect(hal.rtcNow()).toBe(60n);
    hal.rtcSet(1_000_000n);
    expect(hal.rtcNow()).toBe(1_000_000n);

    hal.random(100, 32);
    const expected = new Uint8Array(32);
    new SeededRandom(3).fill(expected);
    expect(memory.subarray(100, 132)).toEqual(expected);
    expect(memory[99]).toBe(0);
    expect(memory[132]).toBe(0);
    expect(() => hal.random(1000, 100)).toThrow(RangeError);

    const usedBefore = board.battery.usedMicroampHours;
    memory.fill(0, 0, 16);
    expect(hal.flashProgram(0, 0, 16)).toBe(0);
    for (let page = 0; page < 16; page++) for (let i = 0; i < 10; i++) expect(hal.flashErase(page)).toBe(0);
    expect(board.flash.eraseCount).toBe(160);
    // Each erase and each programmed word is charged to the battery.
    const c = board.battery.config;
    expect(board.battery.usedMicroampHours - usedBefore).toBeCloseTo(
      (160 * c.flashEraseMicroampMs + 4 * c.flashWordMicroampMs) / 3_600_000,
      9,
    );
    board.battery.set(2350);
    expect(hal.batteryMillivolts()).toBe(2350);
  });

  it("sleep current and self-discharge lower the battery as virtual years pass", () => {
    const board = new Board({ randomSeed: 1 });
    board.clock.advance(365.25 * 86_400_000);
    const c = board.battery.config;
    const used = c.sleepMicroamps * 8766 + (c.capacityMicroampHours * c.selfDischargePercentPerYear) / 100; // µAh
    expect(board.battery.usedMicroampHours).toBeCloseTo(used, 3);
    expect(board.battery.millivolts()).toBe(Math.floor(millivoltsAt(used / c.capacityMicroampHours) + 1e-9));
  });

  it("main power off: RTC runs on its backup cell, flash and button are dead until power returns", () => {
    const board = new Board({ startMs: 0, rtc: { startSeconds: 0n }, randomSeed: 1 });
    const events: ButtonEventName[] = [];
    board.onButton((event) => events.push(event));
    board.powerOff();
    board.button.press();
    expect(events).toEqual([]);
    expect(() => board.flash.erase(0)).toThrow(PowerCutError);
    board.clock.advance(10_000);
    board.powerOn();
    expect(board.rtc.nowSeconds()).toBe(10n);
    board.button.press();
    expect(events).toEqual(["press"]);
    board.flash.erase(0);

    board.rtc.removeBackupBattery();
    board.powerOff();
    board.powerOn();
    expect(board.rtc.nowSeconds()).toBe(-1n);
  });

  it("a flash power cut unwinds out of the HAL and powerOn() brings the flash back", () => {
    const board = new Board({ randomSeed: 1 });
    const hal = board.halImports(() => new Uint8Array(64));
    board.flash.cutPowerAfter(1, "clean");
    expect(hal.flashErase(0)).toBe(0);
    expect(() => hal.flashErase(1)).toThrow(PowerCutError);
    board.powerOn();
    expect(hal.flashErase(1)).toBe(0);
  });
});

describe("Rtc.msUntil and NorFlash.load (used by SimToken)", () => {
  it("msUntil lands exactly on the second the RTC first reads the target, at any drift", async () => {
    const { VirtualClock } = await import("../host/board/clock.js");
    const { Rtc } = await import("../host/board/rtc.js");
    for (const ppm of [0, 20, -35.5, 1000]) {
      const clock = new VirtualClock({ startMs: 1_000_000_123 });
      const rtc = new Rtc({ driftPpm: ppm, startSeconds: 1_700_000_000n }, clock);
      for (const target of [1_700_000_001n, 1_700_000_002n, 1_700_086_400n, 1_857_000_000n]) {
        const due = rtc.msUntil(target)!;
        expect(due).toBeGreaterThan(0);
        clock.advance(due - 1);
        expect(rtc.nowSeconds()).toBe(target - 1n);
        clock.advance(1);
        expect(rtc.nowSeconds()).toBe(target);
        expect(rtc.msUntil(target)).toBe(0);
      }
    }
    const clock = new VirtualClock();
    expect(new Rtc({ driftPpm: 0 }, clock).msUntil(5n)).toBeUndefined();
  });

  it("load replaces the contents and checks the size", async () => {
    const { NorFlash } = await import("../host/board/flash.js");
    const flash = new NorFlash({ sizeBytes: 2048, pageBytes: 1024 });
    const image = new Uint8Array(2048).fill(0x5a);
    flash.load(image);
    expect(flash.read(100, 4)).toEqual(Uint8Array.of(0x5a, 0x5a, 0x5a, 0x5a));
    expect(() => flash.load(new Uint8Array(10))).toThrow(/flash image is 10 bytes/);
  });
});
