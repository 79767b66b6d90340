// The whole board around the firmware: one virtual clock driving the RTC, the button's hold timer and
// the battery's sleep current; the flash; the random source. halImports() is the `hal` namespace the
// wasm module imports, so the firmware touches nothing else.
import { Battery, type BatteryConfig } from "./battery.js";
import { Button, type ButtonConfig, type ButtonEventName } from "./button.js";
import { VirtualClock } from "./clock.js";
import { FLASH_OK, NorFlash, type FlashHalImports, type NorFlashConfig } from "./flash.js";
import { LightSensors, type LightSensorsConfig } from "./light.js";
import { SeededRandom, TrueRandom, type RandomSource } from "./random.js";
import { Rtc } from "./rtc.js";

/** 2025-01-01T00:00:00Z: a fixed, realistic default so runs are reproducible. */
export const DEFAULT_BOARD_START_MS = 1_735_689_600_000; // ms since Unix epoch

export interface BoardConfig {
  startMs?: number; // ms since Unix epoch for the virtual clock; default DEFAULT_BOARD_START_MS
  rtc?: {
    driftPpm?: number; // ppm, positive = runs fast; default 0
    startSeconds?: bigint | null; // s since Unix epoch; default = the clock's time (set at the factory); null = never set
  };
  flash?: Partial<NorFlashConfig>;
  battery?: Partial<BatteryConfig>;
  button?: Partial<ButtonConfig>;
  light?: Partial<LightSensorsConfig>;
  random?: RandomSource; // default TrueRandom; give a SeededRandom for replayable tests
  randomSeed?: number; // shorthand for random: new SeededRandom(randomSeed)
}

/** The wasm module's `hal` imports. */
export interface HalImports extends FlashHalImports {
  rtcNow(): bigint;
  rtcSet(seconds: bigint): void;
  batteryMillivolts(): number;
  random(ptr: number, len: number): void;
  lightSensors(): number;
  lightPower(on: number): void;
}

export class Board {
  readonly clock: VirtualClock;
  readonly rtc: Rtc;
  readonly flash: NorFlash;
  readonly battery: Battery;
  readonly button: Button;
  readonly light: LightSensors;
  readonly random: RandomSource;
  private mainPower = true;
  private buttonHandler: ((event: ButtonEventName) => void) | undefined;

  constructor(config: BoardConfig = {}) {
    this.clock = new VirtualClock({ startMs: config.startMs ?? DEFAULT_BOARD_START_MS });
    const startSeconds = config.rtc?.startSeconds;
    this.rtc = new Rtc(
      {
        driftPpm: config.rtc?.driftPpm ?? 0,
        startSeconds: startSeconds === null ? undefined : (startSeconds ?? BigInt(Math.floor(this.clock.now() / 1000))),
      },
      this.clock,
    );
    this.flash = new NorFlash(config.flash);
    this.battery = new Battery(config.battery);
    this.clock.onAdvance((fromMs, toMs) => this.battery.elapse(toMs - fromMs));
    // Events are routed through the board so a handler can be attached after the firmware is loaded,
    // and so a button pressed while the board is off reaches nobody.
    this.button = new Button(
      this.clock,
      (event) => {
        if (this.mainPower) this.buttonHandler?.(event);
      },
      config.button,
    );
    this.light = new LightSensors(() => this.clock.now(), config.light);
    this.random = config.random ?? (config.randomSeed !== undefined ? new SeededRandom(config.randomSeed) : new TrueRandom());
  }

  /** Where button A's events go (normally: translate to host/abi.ts codes, call the firmware's button()). */
  onButton(handler: ((event: ButtonEventName) => void) | undefined): void {
    this.buttonHandler = handler;
  }

  get hasMainPower(): boolean {
    return this.mainPower;
  }

  /** Main supply off: the CPU and flash stop, the RTC runs on its backup cell if it has one. */
  powerOff(): void {
    this.mainPower = false;
    this.light.power(false);
    this.rtc.powerOff();
    this.flash.powerOff();
  }

  /** Main supply on (also the way back after a PowerCutError): the host then boots the firmware again. */
  powerOn(): void {
    this.mainPower = true;
    this.rtc.powerOn();
    this.flash.restorePower();
  }

  /**
   * The `hal` import object. `memory` returns a view of the wasm memory. Flash programs and erases are
   * charged to the battery; display time and wake-ups are the front end's to report (battery.consume).
   */
  halImports(memory: () => Uint8Array): HalImports {
    const flash = this.flash.halImports(memory);
    return {
      rtcNow: () => this.rtc.nowSeconds(),
      rtcSet: (seconds) => this.rtc.set(BigInt(seconds)),
      flashRead: flash.flashRead,
      flashProgram: (addr, ptr, len) => {
        const status = flash.flashProgram(addr, ptr, len);
        // The flash programs whole 32-bit words: every word the bytes touch.
        if (status === FLASH_OK && len > 0) this.battery.consume({ flashWords: Math.ceil(((addr % 4) + len) / 4) });
        return status;
      },
      flashErase: (page) => {
        const status = flash.flashErase(page);
        if (status === FLASH_OK) this.battery.consume({ flashErases: 1 });
        return status;
      },
      batteryMillivolts: () => this.battery.millivolts(),
      lightSensors: () => this.light.read(),
      lightPower: (on) => this.light.power(on !== 0),
      random: (ptr, len) => {
        const view = memory();
        if (!Number.isSafeInteger(ptr) || !Number.isSafeInteger(len) || ptr < 0 || len < 0 || ptr + len > view.length) {
          throw new RangeError(`random: buffer of ${len} bytes at ${ptr} is outside the ${view.length}-byte memory`);
        }
        this.random.fill(view.subarray(ptr, ptr + len));
      },
    };
  }
}
