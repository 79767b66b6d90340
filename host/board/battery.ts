// A CR2032-like coin cell. The board reports what it spent (charge directly, or display time, flash
// operations and wake-ups at configured costs) and the voltage falls in a straight line from full to
// empty over the rated capacity, continuing down (to 0 mV) if the cell is used past it. A real lithium
// cell is flatter and then falls off a knee; the straight line keeps tests predictable, and tests that
// need a particular voltage use set().

/** Below this the firmware shows "low battery". The firmware keeps its own copy; a test checks they agree. */
export const LOW_BATTERY_MILLIVOLTS = 2400; // mV
/** Below this the firmware must not program or erase flash (a write could brown out half-way). */
export const BROWN_OUT_MILLIVOLTS = 2200; // mV

export interface BatteryConfig {
  fullMillivolts: number; // mV of a fresh cell
  emptyMillivolts: number; // mV when the rated capacity has been used
  capacityMicroampHours: number; // µAh rated capacity (CR2032: about 225,000 µAh)
  displayMicroamps: number; // µA drawn while the display is on
  flashProgramMicroampMs: number; // µA·ms per flash program operation
  flashEraseMicroampMs: number; // µA·ms per page erase
  wakeupMicroampMs: number; // µA·ms per CPU wake-up (tick or button)
  sleepMicroamps: number; // µA drawn all the time (RTC + sleeping CPU), charged as virtual time passes
}

export const DEFAULT_BATTERY_CONFIG: Readonly<BatteryConfig> = {
  fullMillivolts: 3000,
  emptyMillivolts: 2000,
  capacityMicroampHours: 225_000,
  displayMicroamps: 1_000, // a small OLED at low brightness with the digits lit (~3 years on a CR2032 at 10 uses a day)
  flashProgramMicroampMs: 50, // ~5 mA for ~10 µs per byte burst, rounded up
  flashEraseMicroampMs: 100_000, // ~5 mA for ~20 ms
  wakeupMicroampMs: 3_000, // ~3 mA for ~1 ms
  sleepMicroamps: 2,
};

/** What the board did since the last report; every field is optional and counts add up. */
export interface BatteryUse {
  displayOnMs?: number; // ms the display was on
  flashPrograms?: number; // program operations
  flashErases?: number; // page erases
  wakeups?: number; // CPU wake-ups
}

const MICROAMP_MS_PER_MICROAMP_HOUR = 3_600_000n;

export class Battery {
  readonly config: Readonly<BatteryConfig>;
  /** Voltage at the last set()/replace(); the used charge since then lowers it. */
  private referenceMillivolts: number;
  private usedMicroampMs = 0n; // µA·ms since the reference
  private totalUsedMicroampMs = 0n; // µA·ms since the last replace(), for reports

  constructor(config: Partial<BatteryConfig> = {}) {
    this.config = { ...DEFAULT_BATTERY_CONFIG, ...config };
    const { fullMillivolts, emptyMillivolts, capacityMicroampHours } = this.config;
    if (!Number.isSafeInteger(fullMillivolts) || !Number.isSafeInteger(emptyMillivolts) || emptyMillivolts < 0 || emptyMillivolts >= fullMillivolts) {
      throw new RangeError(`battery needs whole mV with 0 <= emptyMillivolts < fullMillivolts, got ${emptyMillivolts} and ${fullMillivolts}`);
    }
    if (!Number.isSafeInteger(capacityMicroampHours) || capacityMicroampHours <= 0) {
      throw new RangeError(`capacityMicroampHours must be a positive whole number of µAh, got ${capacityMicroampHours}`);
    }
    this.referenceMillivolts = fullMillivolts;
  }

  /** The terminal voltage in whole mV (the wasm import `batteryMillivolts()`). */
  millivolts(): number {
    const { fullMillivolts, emptyMillivolts, capacityMicroampHours } = this.config;
    const capacityMicroampMs = BigInt(capacityMicroampHours) * MICROAMP_MS_PER_MICROAMP_HOUR;
    const spanMillivolts = BigInt(fullMillivolts - emptyMillivolts);
    // Integer arithmetic, drop rounded down: a fresh cell reads exactly fullMillivolts and a cell at its
    // rated capacity exactly emptyMillivolts, on every platform.
    const dropMillivolts = (spanMillivolts * this.usedMicroampMs) / capacityMicroampMs;
    return Math.max(0, this.referenceMillivolts - Number(dropMillivolts));
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
        (use.flashPrograms ?? 0) * c.flashProgramMicroampMs +
        (use.flashErases ?? 0) * c.flashEraseMicroampMs +
        (use.wakeups ?? 0) * c.wakeupMicroampMs,
      "consume()",
    );
  }

  /** Charges the always-on sleep current for `ms` of virtual time (the Board calls it as the clock moves). */
  elapse(ms: number): void {
    this.take(ms * this.config.sleepMicroamps, "elapse(ms)");
  }

  /** Forces the voltage, for tests of low-battery behaviour; later use lowers it from there. */
  set(millivolts: number): void {
    if (!Number.isSafeInteger(millivolts) || millivolts < 0) {
      throw new RangeError(`battery voltage must be whole mV, 0 or more, got ${millivolts}`);
    }
    this.referenceMillivolts = millivolts;
    this.usedMicroampMs = 0n;
  }

  /** A fresh cell. */
  replace(): void {
    this.referenceMillivolts = this.config.fullMillivolts;
    this.usedMicroampMs = 0n;
    this.totalUsedMicroampMs = 0n;
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
    // Whole µA·ms: a 225 mAh cell is 8.1e11 of them, far finer than one mV (8.1e8).
    const amount = BigInt(Math.round(microampMs));
    this.usedMicroampMs += amount;
    this.totalUsedMicroampMs += amount;
  }
}
