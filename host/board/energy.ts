// The token's energy budget: what the coin cell pays for each thing the board does, from the firmware's
// costs measured on the emulated Cortex-M0 (npm run bench: bench/mcu.ts: instructions and panel lines
// per call) and the parts' datasheet currents. docs/hardware.md lists every figure with its source; the board simulator's
// battery defaults (host/board/battery.ts) are made from this file, so the simulated year
// (test/longrun.test.ts) and the battery-life figures of npm run bench are the same model.
//
// The board: an nRF51822 (CPU at 16 MHz from flash, asleep in System ON with its RTC on the 32.768 kHz
// crystal between wake-ups), a Sharp LS011B7DH03 memory-in-pixel LCD (1.08", 160x68, 1 bit; the
// firmware's 128x32 image in its middle) on SPI, powered only while the panel is on, and a CR2032.

/** nRF51822 figures. */
export const NRF51822 = {
  /** µA with the CPU running from flash at 16 MHz: 4.65-4.72 mA measured from 1.8 to 3.4 V on an nRF51 DK (the LDO makes it a current, not a power). */
  cpuMicroamps: 4_700,
  /** µA in System ON with all peripherals idle, 16 kB RAM on (I_ON, nRF51822 PS v3.3 p. 47). */
  systemOnMicroamps: 2.6,
  /** µA for the 32.768 kHz crystal oscillator that runs the RTC (I_X32k, nRF51822 PS v3.1, typical). */
  lfxoMicroamps: 0.4,
  /** Hz of the CPU clock (HCLK is fixed at 16 MHz on this SoC). */
  cpuHz: 16_000_000,
  /** ms one page erase takes (about 22 ms: Nordic S130 SoftDevice Specification, flash memory API). */
  flashEraseMs: 22,
  /** µs one 4-byte word takes to program (about 48 µs: same source). */
  flashWordMicroseconds: 48,
  /** µA while the NVMC erases or programs: the datasheets give none; ~4 mA is Nordic support's measurement on a DK. */
  flashMicroamps: 4_000,
} as const;

/**
 * Cycles per instruction assumed for the Cortex-M0 to turn measured instruction counts into time (QEMU
 * counts instructions, not cycles). The ARM Cortex-M0 Technical Reference Manual (DDI 0432C, §3.3,
 * Table 3-1) gives 1 cycle for data processing, 2 for a load or store, 3 for a taken branch, 4 for BL;
 * no flash wait states at 16 MHz is assumed. npm run bench applies those timings to the instruction mix
 * a TCG plugin sees (bench/mcu-mix.c) and finds 1.3-1.5 for the firmware's operations, so 1.5 errs on
 * the costly side.
 */
export const ASSUMED_CPI = 1.5;

/** The panel. Figures from Sharp's application note "Programming Sharp's Memory LCDs" (measured on its 1.35" panel). */
export const PANEL = {
  part: 'Sharp LS011B7DH03 (memory-in-pixel LCD, 1.08", 160x68, 1 bit)',
  /** µA the panel draws while on, holding its image (VCOM toggled once a second). */
  quiescentMicroamps: 2.1,
  /** µA while the 1.35" panel's 96 lines are written, for writeMs (2 MHz SPI): per line, a 96th of it. */
  writeMicroamps: 360,
  writeMs: 5.38,
  writeLines: 96,
  /** Bytes on the bus per line written (address, 20 data bytes, dummy: mcu/sharp_lcd.c), and per write (mode, final dummy). */
  lineBytes: 22,
  writeOverheadBytes: 2,
  /** Hz of the SPI clock to the panel (mcu/nrf_spi.c; within the memory LCDs' 1-2 MHz). */
  spiHz: 1_000_000,
} as const;

/** Seconds the panel stays on after a press (PANEL_ON_SECONDS of assembly/abi.ts). */
export const PANEL_ON_SECONDS = 60;
/**
 * Ticks the panel stays on past PANEL_ON_SECONDS, on average: it never goes dark within the first 10 s
 * of a new code (NEW_CODE_SHOWN_SECONDS of assembly/abi.ts), so when it would, at s seconds into a step
 * with s < 10, it stays 10 - s ticks longer. For a press at a uniformly random second: (10 + 9 + ... + 1) / 60.
 */
export const MEAN_EXTRA_PANEL_TICKS = 55 / 60;

/** The CR2032 (Panasonic and Energizer data sheets; see docs/hardware.md). */
export const CR2032 = {
  /** µAh to the 2.0 V end voltage (Panasonic CR2032 nominal capacity; ANSI 5004LC). */
  capacityMicroampHours: 225_000,
  /** % of the rated capacity lost per year on the shelf (Energizer: below 1 %/year at 21 °C). */
  selfDischargePercentPerYear: 1,
  /**
   * The closed-circuit voltage as the rated capacity is used: [fraction used, mV]. Read off the
   * manufacturers' typical discharge curve (15 kΩ load at about 20 °C): flat a little under 3 V for
   * nine tenths of the capacity, then a knee down to the 2.0 V end voltage.
   */
  curve: [
    [0, 3000],
    [0.1, 2950],
    [0.5, 2900],
    [0.7, 2870],
    [0.8, 2830],
    [0.9, 2750],
    [0.95, 2650],
    [0.97, 2550],
    [0.98, 2450],
    [0.99, 2300],
    [1, 2000],
  ] as ReadonlyArray<readonly [number, number]>,
} as const;

/** What one firmware call costs on the M0: instructions executed, and lines written to the panel. */
export interface OperationCost {
  instructions: number;
  panelLines: number;
}

export type OperationName = "press" | "pressRecordingTime" | "refresh" | "refreshNewStep" | "panelOff";
export type OperationCosts = Record<OperationName, OperationCost>;

/**
 * The firmware's everyday calls on the M0, measured with `npm run bench` (host/mcu/measure.ts on
 * build/mcu/token-harness.elf: instructions by QEMU -icount, panel lines counted by mcu/sharp_lcd.c);
 * test/mcu-energy.test.ts measures them again and fails if the firmware has drifted more than 10 %.
 * The instructions include the HAL's share (finding and laying out the panel's changed lines). Boots
 * and activations are rare enough to leave out of a day's budget.
 */
export const MEASURED_COSTS: Readonly<OperationCosts> = {
  /** A press that shows the code (computes it, draws; the panel was off, so every line is written). */
  press: { instructions: 121_344, panelLines: 32 },
  /** The once-an-hour press that also records the time in flash (erase, program, verify). */
  pressRecordingTime: { instructions: 231_705, panelLines: 32 },
  /** A refresh within a step: the countdown's lines. */
  refresh: { instructions: 62_085, panelLines: 5 },
  /** The refresh at a step boundary: the next code and its lines. */
  refreshNewStep: { instructions: 109_450, panelLines: 23 },
  /** The tick that turns the panel off. */
  panelOff: { instructions: 2_040, panelLines: 0 },
};

const MS_PER_HOUR = 3_600_000;
const HOURS_PER_YEAR = 8_766; // 365.25 days

/** µA·ms of the CPU running `instructions` at the assumed CPI. */
export function cpuMicroampMs(instructions: number, cpi = ASSUMED_CPI): number {
  return ((instructions * cpi) / NRF51822.cpuHz) * 1000 * NRF51822.cpuMicroamps;
}

/**
 * µA·ms of writing `lines` to the panel: the CPU feeds the SPI a byte at a time (the nRF51's SPI has no
 * DMA), and the panel draws its write current for its share of a whole-panel write.
 */
export function panelMicroampMs(lines: number): number {
  if (lines === 0) return 0;
  const busMs = (((lines * PANEL.lineBytes + PANEL.writeOverheadBytes) * 8) / PANEL.spiHz) * 1000;
  return busMs * NRF51822.cpuMicroamps + lines * ((PANEL.writeMicroamps * PANEL.writeMs) / PANEL.writeLines);
}

/** µA·ms of one firmware call: its instructions on the CPU, its lines to the panel. */
export function operationMicroampMs(cost: OperationCost): number {
  return cpuMicroampMs(cost.instructions) + panelMicroampMs(cost.panelLines);
}

/** µA drawn all the time: System ON sleep with the RTC's crystal running. */
export function sleepMicroamps(): number {
  return NRF51822.systemOnMicroamps + NRF51822.lfxoMicroamps;
}

/** µA·ms of one page erase, and of programming one word. */
export const flashEraseMicroampMs = (): number => NRF51822.flashEraseMs * NRF51822.flashMicroamps;
export const flashWordMicroampMs = (): number => (NRF51822.flashWordMicroseconds / 1000) * NRF51822.flashMicroamps;

/** Words in one state record (assembly/store/record.ts: 812 bytes). */
export const RECORD_WORDS = 203;

/** µA the panel draws while on, beyond the lines written (charged by the time it is on). */
export const displayMicroamps = (): number => PANEL.quiescentMicroamps;

/**
 * One press's wake-ups, on average: the press, the refreshes while the panel is on (one of them at the
 * step boundary the minute always crosses) and the tick that turns it off. Their count and µA·ms.
 */
export function pressWakeups(costs: OperationCosts = MEASURED_COSTS, recording = false): { wakeups: number; microampMs: number } {
  const refreshes = PANEL_ON_SECONDS - 1 + MEAN_EXTRA_PANEL_TICKS;
  const microampMs =
    operationMicroampMs(recording ? costs.pressRecordingTime : costs.press) +
    (refreshes - 1) * operationMicroampMs(costs.refresh) +
    operationMicroampMs(costs.refreshNewStep) +
    operationMicroampMs(costs.panelOff);
  return { wakeups: 1 + refreshes + 1, microampMs };
}

/** One wake-up of the firmware as the board simulator charges it: the average over a press's wake-ups. */
export function wakeupMicroampMs(costs: OperationCosts = MEASURED_COSTS): number {
  const { wakeups, microampMs } = pressWakeups(costs);
  return microampMs / wakeups;
}

/** The fraction of the rated capacity used when the curve reads `millivolts` (the curve falls monotonically). */
export function fractionAt(millivolts: number, curve = CR2032.curve): number {
  if (millivolts >= curve[0][1]) return 0;
  for (let i = 1; i < curve.length; i++) {
    const [f1, v1] = curve[i];
    const [f0, v0] = curve[i - 1];
    if (millivolts >= v1) return f0 + ((v0 - millivolts) / (v0 - v1)) * (f1 - f0);
  }
  const [fa, va] = curve[curve.length - 2];
  const [fb, vb] = curve[curve.length - 1];
  return fb + ((vb - millivolts) / (va - vb)) * (fb - fa);
}

/** The curve's mV at `fraction` of the rated capacity used (past the end: the last segment continued, not below 0). */
export function millivoltsAt(fraction: number, curve = CR2032.curve): number {
  if (fraction <= 0) return curve[0][1];
  for (let i = 1; i < curve.length; i++) {
    const [f1, v1] = curve[i];
    if (fraction <= f1) {
      const [f0, v0] = curve[i - 1];
      return v0 + ((fraction - f0) / (f1 - f0)) * (v1 - v0);
    }
  }
  const [fa, va] = curve[curve.length - 2];
  const [fb, vb] = curve[curve.length - 1];
  return Math.max(0, vb + ((fraction - fb) / (fb - fa)) * (vb - va));
}

export interface DailyUse {
  /** Presses a day, each keeping the panel on for a minute. */
  pressesPerDay: number;
  /** Times a day the time is recorded in flash (at most once an hour of use); default recordingsPerDay(presses). */
  recordingsPerDay?: number;
}

/**
 * Presses spread evenly over a 15-hour waking day: each records the time if an hour has passed since
 * the last record, so at most every press and at least one in ceil(60 min / gap).
 */
export function recordingsPerDay(presses: number): number {
  if (presses <= 0) return 0;
  const gapMinutes = (15 * 60) / presses;
  return Math.ceil(presses / (gapMinutes >= 60 ? 1 : Math.ceil(60 / gapMinutes)));
}

export interface Lifetime {
  pressesPerDay: number;
  /** µA averaged over a day, self-discharge included. */
  averageMicroamps: number;
  /** Years until the battery gauge empties (below LOW mV: the low-battery warning). */
  warningYears: number;
  /** Years until the last code can be shown (below BROWN-OUT mV the token shows "low battery" instead). */
  lastCodeYears: number;
  /** Days between the warning and the last code. */
  warningLeadDays: number;
}

/** µA·ms a day of `use`, from the measured costs and the parts' currents. */
export function dailyMicroampMs(use: DailyUse, costs: OperationCosts = MEASURED_COSTS): number {
  const presses = use.pressesPerDay;
  const recordings = Math.min(presses, use.recordingsPerDay ?? recordingsPerDay(presses));
  const wakeups = (presses - recordings) * pressWakeups(costs).microampMs + recordings * pressWakeups(costs, true).microampMs;
  const panel = presses * (PANEL_ON_SECONDS + MEAN_EXTRA_PANEL_TICKS) * 1000 * displayMicroamps();
  const flash = recordings * (flashEraseMicroampMs() + RECORD_WORDS * flashWordMicroampMs());
  const sleep = 86_400_000 * sleepMicroamps();
  const selfDischarge = (((CR2032.capacityMicroampHours * CR2032.selfDischargePercentPerYear) / 100) * MS_PER_HOUR) / 365.25;
  return wakeups + panel + flash + sleep + selfDischarge;
}

/** How long a CR2032 lasts at `use`: to the low-battery warning, to the last code, and the lead between. */
export function lifetime(
  use: DailyUse,
  lowMillivolts: number,
  brownOutMillivolts: number,
  costs: OperationCosts = MEASURED_COSTS,
): Lifetime {
  const perDay = dailyMicroampMs(use, costs) / MS_PER_HOUR; // µAh a day
  const daysTo = (millivolts: number) => (fractionAt(millivolts) * CR2032.capacityMicroampHours) / perDay;
  const warningDays = daysTo(lowMillivolts);
  const lastCodeDays = daysTo(brownOutMillivolts);
  return {
    pressesPerDay: use.pressesPerDay,
    averageMicroamps: perDay / 24,
    warningYears: (warningDays * 24) / HOURS_PER_YEAR,
    lastCodeYears: (lastCodeDays * 24) / HOURS_PER_YEAR,
    warningLeadDays: lastCodeDays - warningDays,
  };
}
