// The token's sampling timer, simulated against a board: SCAN_HZ samples a second whose times wander
// (timingJitter), some lost (missRate: the CPU was busy, the timer's interrupt came late), some taken
// twice (doubleRate: the same comparator outputs read again). Drives the firmware's scan() export and
// reports what came out: the first sound frame, and the frames that failed their CRC on the way.
import { BUTTON_HOLD, SCAN_HZ, STATUS_BAD_CHECKSUM } from "../abi.js";
import type { Board } from "../board/board.js";
import { type LightSource, LightSensors } from "../board/light.js";
import { mulberry32 } from "../board/random.js";
import { type FirmwareBuild, type FirmwareExports, type HalImports, loadFirmware } from "../token/firmware.js";

export interface SamplerConfig {
  hz: number; // samples a second (the firmware's SCAN_HZ)
  timingJitter: number; // each sample's time moves by up to ± timingJitter/2 of a period (0 to 0.9)
  missRate: number; // probability a sample is lost (0 to 1)
  doubleRate: number; // probability a sample is delivered twice (0 to 1)
  seed: number;
}

export const DEFAULT_SAMPLER: SamplerConfig = { hz: SCAN_HZ, timingJitter: 0.2, missRate: 0, doubleRate: 0, seed: 1 };

/**
 * The firmware loaded on `board`'s HAL, booted on its (empty) flash and put in scan mode by the holder's
 * gesture (a hold shows the info screen, a hold there starts scanning): the decoder alone, for the
 * error-rate runs. A frame it decodes is refused (no profile) but left at OPTICAL_FRAME all the same.
 */
export function firmwareOnBoard(build: FirmwareBuild, board: Board): FirmwareExports {
  const firmware = loadFirmware(build, (memory) => board.halImports(memory) as unknown as HalImports);
  firmware.boot();
  firmware.button(BUTTON_HOLD);
  firmware.button(BUTTON_HOLD);
  if (!board.light.powered) throw new Error("the firmware did not enter scan mode");
  return firmware;
}

export interface ScanResult {
  /** The first sound frame's payload (taken or refused), or undefined if none arrived within the time allowed. */
  payload?: Uint8Array;
  /** A sound frame the firmware would not take (STATUS_BAD_TRANSACTION, STATUS_DENIED): scanning stops. */
  refused?: number;
  /** Frames that arrived whole but failed their CRC-32 before it. */
  checksumFailures: number;
  /** Virtual milliseconds from the first sample to the frame (or to the time limit). */
  elapsedMs: number;
  /** Samples delivered to the firmware. */
  samples: number;
}

/**
 * Samples for up to `maxMs` of virtual time, stopping at the first sound frame (taken or refused), or
 * as soon as the board's sampling timer is off (the firmware is not, or no longer, in scan mode).
 */
export function scanUntilFrame(firmware: FirmwareExports, board: Board, maxMs: number, config: Partial<SamplerConfig> = {}): ScanResult {
  const sampler = { ...DEFAULT_SAMPLER, ...config };
  const random = mulberry32(sampler.seed);
  const uniform = () => random() / 2 ** 32;
  const periodMs = 1000 / sampler.hz;
  const startMs = board.clock.now();
  let checksumFailures = 0;
  let samples = 0;
  // Each sample's time is its nominal time moved by its own jitter, so the timer never drifts away.
  for (let n = 1; board.light.powered; n++) {
    // The virtual clock counts whole milliseconds: rounding adds up to half a millisecond of jitter.
    if (n * periodMs > maxMs) break;
    const dueMs = Math.round(startMs + n * periodMs + (uniform() - 0.5) * sampler.timingJitter * periodMs);
    if (dueMs > board.clock.now()) board.clock.advance(dueMs - board.clock.now());
    if (uniform() < sampler.missRate) continue;
    const deliveries = uniform() < sampler.doubleRate ? 2 : 1;
    for (let d = 0; d < deliveries; d++) {
      samples++;
      const result = firmware.scan();
      if (result === STATUS_BAD_CHECKSUM) checksumFailures++;
      else if (result !== 0) {
        // A sound frame, taken or refused: the decoder left it at OPTICAL_FRAME (its length byte first).
        const memory = new Uint8Array(firmware.memory.buffer);
        const length = memory[firmware.OPTICAL_FRAME];
        const payload = memory.slice(firmware.OPTICAL_FRAME + 2, firmware.OPTICAL_FRAME + 2 + length);
        const refused = result < 0 ? { refused: result } : {};
        return { payload, ...refused, checksumFailures, elapsedMs: board.clock.now() - startMs, samples };
      }
    }
  }
  return { checksumFailures, elapsedMs: board.clock.now() - startMs, samples };
}

/**
 * The comparator outputs a sampling timer would read holding `board`-less sensors to `light` for
 * `ms`: one mask per sample (bit 0 the clock bar), sample times as scanUntilFrame takes them (jitter,
 * missed and doubled samples from `config`). A recorded stream, for a board that samples on its own
 * (the emulated M0: McuToken.scan). Virtual time starts at `startMs`.
 */
export function recordSamples(light: LightSource, ms: number, config: Partial<SamplerConfig> = {}, startMs = 0): Uint8Array {
  const sampler = { ...DEFAULT_SAMPLER, ...config };
  const random = mulberry32(sampler.seed);
  const uniform = () => random() / 2 ** 32;
  const periodMs = 1000 / sampler.hz;
  let nowMs = startMs;
  const sensors = new LightSensors(() => nowMs);
  sensors.aim(light);
  sensors.power(true); // the board samples only in scan mode, sensors powered
  const masks: number[] = [];
  for (let n = 1; n * periodMs <= ms; n++) {
    nowMs = Math.max(nowMs, Math.round(startMs + n * periodMs + (uniform() - 0.5) * sampler.timingJitter * periodMs));
    if (uniform() < sampler.missRate) continue;
    const deliveries = uniform() < sampler.doubleRate ? 2 : 1;
    for (let d = 0; d < deliveries; d++) masks.push(sensors.read());
  }
  return Uint8Array.from(masks);
}
