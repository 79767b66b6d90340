// A battery-backed real-time clock (DS3231/PCF8563 class) on virtual time. It counts whole seconds
// from a 32.768 kHz crystal whose frequency error is given in ppm, and it has the oscillator-stop flag
// of real RTCs: once both the main supply and the backup cell are gone the time is meaningless, so the
// chip reads as "lost" (-1) until somebody sets it again.
import type { VirtualClock } from "./clock.js";

export interface RtcConfig {
  driftPpm: number; // ppm, positive = runs fast; resolved to 0.001 ppm
  startSeconds?: bigint; // s since Unix epoch, set at construction; omitted = brand new, never set (reads -1)
}

/** What nowSeconds() returns while the time is lost: the firmware shows "clock lost". */
export const RTC_LOST = -1n;

/** Picoseconds per virtual millisecond: the scale at which drift is computed exactly. */
const PS_PER_MS = 1_000_000_000n;
const PS_PER_S = 1_000_000_000_000n;
const PPB_PER_UNIT = 1_000_000_000n;
const I64_MAX = 0x7fff_ffff_ffff_ffffn;

/**
 * The time is kept as an exact RTC position in picoseconds at a reference virtual instant, plus the
 * rate in ppb: reading = base + elapsedMs * (1e9 + ppb) ps. Everything is bigint, so 20 ppm over five
 * years is exactly 20e-6 of the elapsed time and nothing accumulates from repeated small advances.
 */
export class Rtc {
  private driftPpb: bigint;
  private baseRtcPs = 0n; // RTC position at baseClockMs, ps since Unix epoch
  private baseClockMs: number; // virtual ms since Unix epoch
  private lost: boolean;
  private mainPower = true;
  private backupBattery = true;

  constructor(
    config: RtcConfig,
    private readonly clock: VirtualClock,
  ) {
    this.driftPpb = toPpb(config.driftPpm);
    this.baseClockMs = clock.now();
    this.lost = config.startSeconds === undefined;
    if (config.startSeconds !== undefined) this.set(config.startSeconds);
  }

  /**
   * Whole seconds since Unix epoch as the RTC counts them (the wasm import `rtcNow(): i64`), or -1n
   * while the oscillator-stop flag is set.
   */
  nowSeconds(): bigint {
    if (this.lost) return RTC_LOST;
    // Positions are never negative (set() refuses it), so bigint division is the floor.
    return this.positionPs() / PS_PER_S;
  }

  /**
   * Virtual ms from now until nowSeconds() first reads `seconds` or more (0 if it already does), or
   * undefined while the time is lost. The host uses it to wake the firmware exactly when it asked.
   */
  msUntil(seconds: bigint): number | undefined {
    if (this.lost) return undefined;
    const needPs = seconds * PS_PER_S - this.baseRtcPs;
    const ratePsPerMs = ((PPB_PER_UNIT + this.driftPpb) * PS_PER_MS) / PPB_PER_UNIT;
    const elapsedMs = needPs <= 0n ? 0n : (needPs + ratePsPerMs - 1n) / ratePsPerMs;
    return Math.max(0, this.baseClockMs + Number(elapsedMs) - this.clock.now());
  }

  /**
   * Sets the time; the divider chain restarts, so the next second ticks a full second later (as on a
   * DS3231 write). Clears the lost flag.
   */
  set(seconds: bigint): void {
    // The firmware receives an i64; bigint arithmetic here has no limit of its own.
    if (seconds < 0n || seconds > I64_MAX) {
      throw new RangeError(`RTC time must be seconds since Unix epoch, 0 to 2^63-1, got ${seconds}`);
    }
    this.baseRtcPs = seconds * PS_PER_S;
    this.baseClockMs = this.clock.now();
    this.lost = false;
  }

  /** The crystal error in ppm (positive = fast). */
  get driftPpm(): number {
    return Number(this.driftPpb) / 1000;
  }

  /** Changes the crystal error from now on (temperature, ageing); time already counted is kept exactly. */
  setDriftPpm(ppm: number): void {
    this.rebase();
    this.driftPpb = toPpb(ppm);
  }

  /** True while the time is not trustworthy: never set, or both supplies were lost since it was set. */
  get lostPower(): boolean {
    return this.lost;
  }

  /** Main supply off: with a backup cell the oscillator keeps counting, without one the time is lost. */
  powerOff(): void {
    this.mainPower = false;
    this.checkSupply();
  }

  powerOn(): void {
    this.mainPower = true;
  }

  removeBackupBattery(): void {
    this.backupBattery = false;
    this.checkSupply();
  }

  insertBackupBattery(): void {
    this.backupBattery = true;
  }

  get hasMainPower(): boolean {
    return this.mainPower;
  }

  get hasBackupBattery(): boolean {
    return this.backupBattery;
  }

  private checkSupply(): void {
    if (!this.mainPower && !this.backupBattery) this.lost = true;
  }

  private positionPs(): bigint {
    const elapsedMs = BigInt(this.clock.now() - this.baseClockMs);
    return this.baseRtcPs + (elapsedMs * (PPB_PER_UNIT + this.driftPpb) * PS_PER_MS) / PPB_PER_UNIT;
  }

  private rebase(): void {
    this.baseRtcPs = this.positionPs();
    this.baseClockMs = this.clock.now();
  }
}

function toPpb(ppm: number): bigint {
  // Below -1e6 ppm the crystal would run backwards; anything near that is a typo, not a crystal.
  if (!Number.isFinite(ppm) || ppm <= -1_000_000 || ppm >= 1_000_000) {
    throw new RangeError(`driftPpm must be a number of ppm between -1e6 and 1e6 (exclusive), got ${ppm}`);
  }
  return BigInt(Math.round(ppm * 1000));
}
