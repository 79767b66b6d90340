// The token's CR2032 coin cell. The board reports what it spent (charge directly, or display time,
// flash erases and programmed words, and wake-ups, at the costs of the energy model in
// host/board/energy.ts), the cell's own self-discharge is charged as time passes, and the voltage
// follows the cell's discharge curve: flat a little under 3 V, then a knee to the 2.0 V end voltage at
// the rated capacity, continuing down (to 0 mV) if the cell is used past it. Tests that need a
// particular voltage use set().
import {
  CR2032,
  displayMicroamps,
  flashEraseMicroampMs,
  flashWordMicroampMs,
  millivoltsAt,
  sleepMicroamps,
  wakeupMicroampMs,
} from "./energy.js";

/**
 * Below this the battery gauge is empty: the holder's warning. It sits on the cell's knee far enough
 * above BROWN_OUT_MILLIVOLTS that the warning comes weeks before the last code (docs/hardware.md).
 * The firmware keeps its own copy (assembly/abi.ts); a test checks they agree.
 */
export const LOW_BATTERY_MILLIVOLTS = 2500; // mV
/** Below this the firmware must not program or erase flash (a write could brown out half-way), and shows no code. */
export const BROWN_OUT_MILLIVOLTS = 2200; // mV

export interface BatteryConfig {
  /** The discharge curve: [fraction of the rated capacity used, mV], from 0 to 1, the voltage falling. */
  curve: ReadonlyArray<readonly [number, number]>;
  capacityMicroampHours: number; // µAh rated capacity, to the curve's last voltage
  selfDischargePercentPerYear: number; // % of the rated capacity lost per year, charged as time passes
  displayMicroamps: number; // µA drawn while the display is on (beyond the frames written)
  flashWordMicroampMs: number; // µA·ms per programmed 32-bit word
  flashEraseMicroampMs: number; // µA·ms per page erase
  wakeupMicroampMs: number; // µA·ms per CPU wake-up (tick or button), its frame to the panel included
  sleepMicroamps: number; // µA drawn all the time (RTC + sleeping CPU), charged as virtual time passes
}

export const DEFAULT_BATTERY_CONFIG: Readonly<BatteryConfig> = {
  curve: CR2032.curve,
  capacityMicroampHours: CR2032.capacityMicroampHours,
  selfDischargePercentPerYear: CR2032.selfDischargePercentPerYear,
  displayMicroamps: displayMicroamps(),
  flashWordMicroampMs: flashWordMicroampMs(),
  flashEraseMicroampMs: flashEraseMicroampMs(),
  wakeupMicroampMs: Math.round(wakeupMicroampMs()),
  sleepMicroamps: sleepMicroamps(),
};

/** A fresh cell's voltage under the default curve. */
export const FRESH_CELL_MILLIVOLTS = CR2032.curve[0][1];

/** What the board did since the last report; every field is optional and counts add up. */
export interface BatteryUse {
  displayOnMs?: number; // ms the display was on
  flashWords?: number; // 32-bit words programmed
  flashErases?: number; // page erases
  wakeups?: number; // CPU wake-ups
}

const MICROAMP_MS_PER_MICROAMP_HOUR = 3_600_000n;
const MS_PER_YEAR = 365.25 * 86_400_000;

export class Battery {
  readonly config: Readonly<BatteryConfig>;
  private usedMicroampMs = 0n; // µA·ms taken from the cell since it was fresh (set() moves it)
  private totalUsedMicroampMs = 0n; // µA·ms since the last replace(), for reports
  /** A voltage forced by set(), read back exactly until the cell is used again. */
  private forced: { millivolts: number; atUsed: bigint } | undefined;

  constructor(config: Partial<BatteryConfig> = {}) {
    this.config = { ...DEFAULT_BATTERY_CONFIG, ...config };
    const { curve, capacityMicroampHours, selfDischargePercentPerYear } = this.config;
    const ordered = curve.every(
      ([f, mv], i) => Number.isSafeInteger(mv) && mv >= 0 && (i === 0 || (f > curve[i - 1][0] && mv < curve[i - 1][1])),
    );
    if (curve.length < 2 || curve[0][0] !== 0 || curve[curve.length - 1][0] !== 1 || !ordered) {
      throw new RangeError("battery curve must run from fraction 0 to 1, fractions rising and whole mV falling");
    }
    if (!Number.isSafeInteger(capacityMicroampHours) || capacityMicroampHours <= 0) {
      throw new RangeError(`capacityMicroampHours must be a positive whole number of µAh, got ${capacityMicroampHours}`);
    }
    if (!Number.isFinite(selfDischargePercentPerYear) || selfDischargePercentPerYear < 0) {
      throw new RangeError(`selfDischargePercentPerYear must be 0 or more, got ${selfDischargePercentPerYear}`);
    }
  }

  private get capacityMicroampMs(): bigint {
    return BigInt(this.config.capacityMicroampHours) * MICROAMP_MS_PER_MICROAMP_HOUR;
  }

  /** The terminal voltage in whole mV (the wasm import `batteryMillivolts()`). */
  millivolts(): number {
    if (this.forced && this.forced.atUsed === this.usedMicroampMs) return this.forced.millivolts;
    const fraction = Number(this.usedMicroampMs) / Number(this.capacityMicroampMs);
    // Rounded down: a fresh cell reads exactly the curve's first voltage and a cell at its rated
    // capacity exactly its last, on every platform.
    return Math.floor(millivoltsAt(fraction, this.config.curve) + 1e-9);
  }

  /** Takes `microampSeconds` (µA·s) of charge from the cell. */
  drain(microampSeconds: number): void {
    this.take(microampSeconds * 1000, "drain(microampSeconds)");
  }

  /** Charges the costs of what the board did, at the configured rates. */
  consume(use: BatteryUse): void {
    const c = this.config;
    this.take(
      (use.displayOnMs ?? 0) * c.displayMicroamps +
        (use.flashWords ?? 0) * c.flashWordMicroampMs +
        (use.flashErases ?? 0) * c.flashEraseMicroampMs +
        (use.wakeups ?? 0) * c.wakeupMicroampMs,
      "consume()",
    );
  }

  /** Charges the always-on sleep current and the self-discharge for `ms` of virtual time (the Board calls it as the clock moves). */
  elapse(ms: number): void {
    const c = this.config;
    const selfDischargeMicroamps = (c.capacityMicroampHours * 3_600_000 * c.selfDischargePercentPerYear) / 100 / MS_PER_YEAR;
    this.take(ms * (c.sleepMicroamps + selfDischargeMicroamps), "elapse(ms)");
  }

  /**
   * Forces the voltage, for tests of low-battery behaviour: the cell reads exactly `millivolts`, as one
   * discharged to that point of its curve would, and later use lowers it along the curve from there.
   */
  set(millivolts: number): void {
    if (!Number.isSafeInteger(millivolts) || millivolts < 0) {
      throw new RangeError(`battery voltage must be whole mV, 0 or more, got ${millivolts}`);
    }
    const curve = this.config.curve;
    let low = 0n;
    let high = this.capacityMicroampMs * 2n;
    // The least charge used at which the curve reads `millivolts` or less.
    while (low < high) {
      const middle = (low + high) / 2n;
      if (Math.floor(millivoltsAt(Number(middle) / Number(this.capacityMicroampMs), curve) + 1e-9) <= millivolts) high = middle;
      else low = middle + 1n;
    }
    this.usedMicroampMs = low;
    this.forced = { millivolts, atUsed: low };
  }

  /** A fresh cell. */
  replace(): void {
    this.usedMicroampMs = 0n;
    this.totalUsedMicroampMs = 0n;
    this.forced = undefined;
  }

  /** Charge taken since the last replace(), in µA·h. */
  get usedMicroampHours(): number {
    return Number(this.totalUsedMicroampMs) / Number(MICROAMP_MS_PER_MICROAMP_HOUR);
  }

  get isLow(): boolean {
    return this.millivolts() < LOW_BATTERY_MILLIVOLTS;
  }

  private take(microampMs: number, what: string): void {
    if (!Number.isFinite(microampMs) || microampMs < 0) {
      throw new RangeError(`${what}: charge used must be 0 or more, got ${microampMs} µA·ms`);
    }
    // Whole µA·ms: a 225 mAh cell is 8.1e11 of them, far finer than one mV.
    const amount = BigInt(Math.round(microampMs));
    this.usedMicroampMs += amount;
    this.totalUsedMicroampMs += amount;
  }
}
