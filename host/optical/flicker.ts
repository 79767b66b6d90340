// A flickering page and a hand holding the token to it, simulated: the light each of the five sensors
// sees over virtual time. The page repeats one frame's nibbles forever, one per clock level; the
// simulation adds what a real screen and hand add: level edges that come early or late (jitter), a
// dim or bright screen over room light, and sensor noise. Missed and doubled samples are the
// sampler's (host/optical/scan.ts).
import { mulberry32 } from "../board/random.js";
import { frameNibbles, levelMask } from "./frame.js";

export interface FlickerConfig {
  levelsPerSecond: number; // clock levels (nibbles) a second; the page's slower/faster buttons change it
  white: number; // light on a sensor from a lit bar, relative to full white (0-1]
  ambient: number; // light on a sensor from a dark bar (room light, glare), same unit
  jitter: number; // each level edge moves by up to ± jitter/2 of a level (0 to 0.9)
  noise: number; // standard deviation of each sensor reading, same unit as white
  seed: number; // for the jitter and the noise: runs replay exactly
}

export const DEFAULT_FLICKER: FlickerConfig = { levelsPerSecond: 20, white: 0.8, ambient: 0.1, jitter: 0.2, noise: 0.03, seed: 1 };

export class FlickerPage {
  readonly config: FlickerConfig;
  readonly nibbles: number[];
  private readonly levelMs: number;
  private readonly random: () => number;

  constructor(
    payload: Uint8Array,
    config: Partial<FlickerConfig> = {},
    private readonly startMs = 0,
  ) {
    this.config = { ...DEFAULT_FLICKER, ...config };
    const { levelsPerSecond, jitter, white, ambient } = this.config;
    if (!(levelsPerSecond > 0)) throw new RangeError(`levelsPerSecond must be above 0, got ${levelsPerSecond}`);
    if (!(jitter >= 0 && jitter <= 0.9)) throw new RangeError(`jitter must be 0 to 0.9 of a level, got ${jitter}`);
    if (!(white > ambient)) throw new RangeError(`white (${white}) must be brighter than ambient (${ambient})`);
    this.nibbles = frameNibbles(payload);
    this.levelMs = 1000 / levelsPerSecond;
    this.random = mulberry32(this.config.seed);
  }

  /** Milliseconds one repetition of the frame takes at this speed. */
  get frameMs(): number {
    return this.nibbles.length * this.levelMs;
  }

  /** Where level `index` begins: its nominal time moved by this edge's own jitter (same every call). */
  private edgeMs(index: number): number {
    const hash = mulberry32((index * 0x9e3779b1) ^ this.config.seed)();
    return this.startMs + index * this.levelMs + (hash / 2 ** 32 - 0.5) * this.config.jitter * this.levelMs;
  }

  /** The clock level showing at `timeMs` (counted from the page's start), or -1 before it starts. */
  levelAt(timeMs: number): number {
    let index = Math.floor((timeMs - this.startMs) / this.levelMs);
    if (index < 0) return -1;
    // The jittered edges lie within half a level of the nominal ones.
    if (timeMs < this.edgeMs(index)) index--;
    else if (timeMs >= this.edgeMs(index + 1)) index++;
    return index;
  }

  /** The lines' ideal mask at `timeMs` (bit 0 clock, bits 1-4 the nibble); the page is dark before it starts. */
  maskAt(timeMs: number): number {
    const index = this.levelAt(timeMs);
    if (index < 0) return 0;
    return levelMask(index, this.nibbles[index % this.nibbles.length]);
  }

  /** The light on each of the five sensors at `timeMs`, noise included. */
  lightAt(timeMs: number): number[] {
    const mask = this.maskAt(timeMs);
    const { white, ambient, noise } = this.config;
    const light: number[] = [];
    for (let line = 0; line < 5; line++) light.push(((mask >>> line) & 1 ? white : ambient) + noise * this.gaussian());
    return light;
  }

  /** A standard normal value (Box-Muller) from the seeded generator. */
  private gaussian(): number {
    const u = (this.random() + 1) / (2 ** 32 + 1);
    const v = this.random() / 2 ** 32;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
