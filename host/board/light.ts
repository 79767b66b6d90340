// The token's five light sensors and their comparators (the HAL's lightSensors(): a 5-bit mask).
// Each sensor is a photodiode whose reading a comparator turns into a bit. The comparators share one
// reference, set halfway between the clock line's recent peak and trough (peak detectors that leak
// toward each other): the clock bar toggles every level, so the reference follows the screen's
// brightness and the room's light, and a data line that stays dark for a while cannot drag it.
// Hysteresis keeps noise near the reference from chattering. What shines on the sensors is a source
// the front end sets (a simulated page, or the browser's pixels under the token).

export interface LightSensorsConfig {
  leakPerSample: number; // how far each peak detector leaks toward the other per sample, in units of full white
  hysteresis: number; // fraction of the peak-to-trough swing a reading must pass the reference by to flip a bit
}

export const DEFAULT_LIGHT_SENSORS: LightSensorsConfig = { leakPerSample: 0.002, hysteresis: 0.1 };

/** The light on each of the five sensors at a time in ms (full white = 1). */
export type LightSource = (timeMs: number) => number[];

export class LightSensors {
  readonly config: LightSensorsConfig;
  private source: LightSource | undefined;
  private peak = 0;
  private trough = 1;
  private bits = 0;
  private lastMs = Number.NaN;
  private on = false;
  /** Times the firmware powered the sensors up (lightPower(1)) since the board was made. */
  powerUps = 0;

  constructor(
    private readonly now: () => number,
    config: Partial<LightSensorsConfig> = {},
  ) {
    this.config = { ...DEFAULT_LIGHT_SENSORS, ...config };
  }

  /** Holds the token to `source` (undefined: in the dark, in a pocket). The comparators start afresh. */
  aim(source: LightSource | undefined): void {
    this.source = source;
    this.peak = 0;
    this.trough = 1;
    this.bits = 0;
    this.lastMs = Number.NaN;
  }

  /**
   * The firmware's lightPower(): the sensors' supply (P0.08 on the M0) and the board's sampling timer.
   * Unpowered, the comparators read dark (the pull-downs) and their peak detectors start afresh.
   */
  power(on: boolean): void {
    if (on && !this.on) this.powerUps++;
    this.on = on;
    this.peak = 0;
    this.trough = 1;
    this.bits = 0;
    this.lastMs = Number.NaN;
  }

  /** The sensors are powered: the firmware is in scan mode and the board samples them (scan()). */
  get powered(): boolean {
    return this.on;
  }

  /** The comparators' outputs now (0 while unpowered). Read twice at one instant, it gives the same mask. */
  read(): number {
    const timeMs = this.now();
    if (!this.source || !this.on) return 0;
    if (timeMs === this.lastMs) return this.bits;
    this.lastMs = timeMs;
    const light = this.source(timeMs);
    const { leakPerSample, hysteresis } = this.config;
    this.peak = Math.max(light[0], this.peak - leakPerSample);
    this.trough = Math.min(light[0], this.trough + leakPerSample);
    const swing = Math.max(this.peak - this.trough, 0);
    const reference = (this.peak + this.trough) / 2;
    let bits = 0;
    for (let line = 0; line < 5; line++) {
      const was = (this.bits >>> line) & 1;
      const margin = hysteresis * swing * (was ? -1 : 1);
      if (light[line] > reference + margin) bits |= 1 << line;
    }
    this.bits = bits;
    return bits;
  }
}
