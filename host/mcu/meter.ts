// The harness image's meter (mcu/harness.c, FRAME_METER): what one firmware entry point cost on the
// emulated Cortex-M0, converted to instructions and to time on the real part.
//
// How instructions are measured: QEMU runs with `-icount shift=N`, so virtual time advances exactly
// 2^N ns per guest instruction executed; TIMER1 counts that virtual time at 16 MHz only while an entry
// point runs (the CPU's sleeps, waiting for the RNG, are taken out). So instructions =
// ticks x (1e9 / 16e6) / 2^N. With N = 6 one tick is 62.5 ns and one instruction 64 ns, so a count is
// exact to about one instruction.
import { CALL_BOOT, CALL_BUTTON, CALL_LINK, CALL_SCAN, CALL_TICK } from "./protocol.js";

/** -icount shift of the harness: 64 ns per instruction, close to a 16 MHz core at one cycle each. */
export const ICOUNT_SHIFT = 6;
/** TIMER1's clock (nRF51 RM §18: the 16 MHz HFCLK, prescaler 0). */
export const METER_HZ = 16_000_000;

export const CALL_NAMES: Record<number, string> = {
  [CALL_BOOT]: "boot",
  [CALL_TICK]: "tick",
  [CALL_BUTTON]: "button",
  [CALL_LINK]: "link",
  [CALL_SCAN]: "scan",
};

export interface MeterReading {
  /** Which entry point: boot, tick, button, link or scan (one sample of the light sensors). */
  call: string;
  /** Guest instructions executed (the HAL's included). */
  instructions: number;
  /** Bytes taken from the RNG (the CPU slept for them; not instructions). */
  randomBytes: number;
  /** NVMC page erases and programmed words (QEMU does them at once; a real NVMC stalls the CPU). */
  flashErases: number;
  flashWords: number;
  /** Lines written to the panel (only those that changed: mcu/sharp_lcd.c). */
  panelLines: number;
  /**
   * Instructions until the panel had its first lines of the call: the code drawn (the once-an-hour
   * press draws before it records the time); the whole call's count when nothing was drawn.
   */
  drawnInstructions: number;
}

export interface Meter {
  /** The last entry point that ran. */
  last: MeterReading;
  /** The power-on: instantiation (data segments copied) and boot() with its self-test. */
  boot: MeterReading;
  /** The deepest the stack has been since reset (painted at reset), and its size. */
  stackHighWaterBytes: number;
  stackBytes: number;
}

/** Instructions in `ticks` of the 16 MHz meter under -icount shift `shift`. */
export function ticksToInstructions(ticks: number, shift = ICOUNT_SHIFT): number {
  return Math.round((ticks * (1e9 / METER_HZ)) / 2 ** shift);
}

function reading(view: DataView, offset: number): MeterReading {
  const word = (at: number) => view.getUint32(offset + at, true);
  return {
    call: CALL_NAMES[word(0)] ?? `call ${word(0)}`,
    instructions: ticksToInstructions(word(4)),
    randomBytes: word(8),
    flashErases: word(12),
    flashWords: word(16),
    panelLines: word(20),
    drawnInstructions: ticksToInstructions(word(24) || word(4)),
  };
}

/** Decodes FRAME_METER's payload (mcu/harness.c, meter()). */
export function decodeMeter(payload: Uint8Array): Meter {
  if (payload.length !== 64) throw new Error(`meter reply of ${payload.length} bytes, expected 64`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return {
    last: reading(view, 0),
    boot: reading(view, 28),
    stackHighWaterBytes: view.getUint32(56, true),
    stackBytes: view.getUint32(60, true),
  };
}
