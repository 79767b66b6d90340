// The token's energy budget: what the coin cell pays for each thing the board does, from the firmware's
// costs measured on the emulated Cortex-M0 (npm run bench: bench/mcu.ts: instructions and panel lines
// per call) and the parts' datasheet currents. docs/hardware.md lists every figure with its source; the board simulator's
// battery defaults (host/board/battery.ts) are made from this file, so the simulated year
// (test/longrun.test.ts) and the battery-life figures of npm run bench are the same model.
//
// The board, as the silicon image (build/mcu/token.elf) drives it: an nRF51822 (CPU at 16 MHz from
// flash on the internal RC, asleep in System ON (WFE) between wake-ups with RTC1 counting on the
// 32.768 kHz crystal and the 16 MHz clock off), a Sharp LS011B7DH03 memory-in-pixel LCD (1.08",
// 160x68, 1 bit; the firmware's 128x32 image in its middle) on SPI, powered from a GPIO only while it
// shows something (VCOM inverted once a second by RTC0 -> PPI -> GPIOTE meanwhile), and a CR2032.
//
// Two sets of conditions: CENTRAL (typical currents, the makers' capacity at about 20 °C, 1 %/year
// self-discharge) and WORST_CASE (the largest current each source gives, the capacity derated for
// pulsed load, 2 %/year, the discharge curve at 0 °C). The board simulator uses CENTRAL.
import { PANEL_FRAME_OVERHEAD_BYTES, PANEL_LINE_BYTES, PANEL_SPI_HZ } from "../mcu/panel.js";

/** nRF51822 figures. */
export const NRF51822 = {
  /** µA with the CPU running from flash at 16 MHz: 4.65-4.72 mA measured from 1.8 to 3.4 V on an nRF51 DK (the LDO makes it a current, not a power). */
  cpuMicroamps: 4_700,
  /** µA, the top of that measured range (the worst case's CPU current). */
  cpuMicroampsMax: 4_720,
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
  lineBytes: PANEL_LINE_BYTES,
  writeOverheadBytes: PANEL_FRAME_OVERHEAD_BYTES,
  /** Hz of the SPI clock to the panel (host/mcu/panel.ts). */
  spiHz: PANEL_SPI_HZ,
} as const;

/** Button A's pull-up while the button is held (nRF51822 PS v3.1, GPIO: R_PU 13 kΩ typical, 11 kΩ minimum). */
export const BUTTON = {
  pullUpOhms: 13_000,
  pullUpOhmsMin: 11_000,
  /** s the holder keeps the button down for a press (an assumption: a brisk press). */
  heldSeconds: 0.2,
  /** mV across the pull-up: the cell's. */
  millivolts: 3_000,
} as const;

/** What the numbers are worth: a central estimate, or the worst case the sources allow. */
export interface Conditions {
  name: "central" | "worst case";
  /** µA of the CPU running from flash at 16 MHz. */
  cpuMicroamps: number;
  /** µA in System ON with 16 kB of RAM on (I_ON,16k). */
  systemOnMicroamps: number;
  /** µA of the 32.768 kHz crystal oscillator (I_X32k). */
  lfxoMicroamps: number;
  /** µA while the NVMC erases or programs. */
  flashMicroamps: number;
  /** Ω of button A's pull-up. */
  pullUpOhms: number;
  /** Fraction of the rated capacity a pulsed load gets out of the cell. */
  capacityFactor: number;
  /** % of the rated capacity lost per year on the shelf. */
  selfDischargePercentPerYear: number;
  /** mV the cell's curve reads lower at the temperature assumed (0 at about 20 °C). */
  curveOffsetMillivolts: number;
  /** µA of the light sensors' front end (five photodiodes and their comparators) while scanning. */
  sensorMicroamps: number;
}

export const CENTRAL: Readonly<Conditions> = {
  name: "central",
  cpuMicroamps: NRF51822.cpuMicroamps,
  systemOnMicroamps: NRF51822.systemOnMicroamps,
  lfxoMicroamps: NRF51822.lfxoMicroamps,
  flashMicroamps: NRF51822.flashMicroamps,
  pullUpOhms: BUTTON.pullUpOhms,
  capacityFactor: 1,
  selfDischargePercentPerYear: 1,
  curveOffsetMillivolts: 0,
  sensorMicroamps: 10,
};

/**
 * The worst case: the top of each measured or specified range (the PS gives typical values only for
 * I_ON and I_X32k; those stay), the capacity derated by a fifth for the 4.7 mA pulses, 2 %/year
 * self-discharge, and the discharge curve at 0 °C (100 mV lower). docs/hardware.md gives each source.
 */
export const WORST_CASE: Readonly<Conditions> = {
  name: "worst case",
  cpuMicroamps: NRF51822.cpuMicroampsMax,
  systemOnMicroamps: NRF51822.systemOnMicroamps,
  lfxoMicroamps: NRF51822.lfxoMicroamps,
  flashMicroamps: NRF51822.flashMicroamps,
  pullUpOhms: BUTTON.pullUpOhmsMin,
  capacityFactor: 0.8,
  selfDischargePercentPerYear: 2,
  curveOffsetMillivolts: 100,
  sensorMicroamps: 40,
};

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
  press: { instructions: 120_632, panelLines: 32 },
  /** The once-an-hour press that also records the time in flash (erase, program, verify). */
  pressRecordingTime: { instructions: 233_111, panelLines: 32 },
  /** A refresh within a step: the countdown's lines. */
  refresh: { instructions: 61_154, panelLines: 5 },
  /** The refresh at a step boundary: the next code and its lines. */
  refreshNewStep: { instructions: 108_554, panelLines: 23 },
  /** The tick that turns the panel off. */
  panelOff: { instructions: 2_127, panelLines: 0 },
};

/** What one transfer costs on the M0 (host/mcu/measure.ts measureTransfer; test/mcu-energy.test.ts checks them). */
export interface TransferCosts {
  /** One decoding sample in scan mode: scan() reads the sensors and feeds the decoder (the mean over a scan). */
  scanSample: OperationCost;
  /** The sample that takes the frame: the transfer checked, kept and drawn, every line to the panel. */
  scanFrame: OperationCost;
  /** A second of the transfer on the panel: the tick that redraws it. */
  transferTick: OperationCost;
  /** The confirming hold: the transfer key (HKDF-SHA256), the OCRA code, drawn. */
  sign: OperationCost;
}

export const MEASURED_TRANSFER_COSTS: Readonly<TransferCosts> = {
  scanSample: { instructions: 93, panelLines: 0 },
  scanFrame: { instructions: 117_463, panelLines: 32 },
  transferTick: { instructions: 78_053, panelLines: 0 },
  sign: { instructions: 304_552, panelLines: 28 },
};

/**
 * How a transfer is used (assumptions, not measurements): the holder holds the token to the page for
 * scanSeconds (about a repetition and a half of a transfer with an account name at the page's normal
 * 20 levels a second), reads its screens and holds the button for shownSeconds, and types the code
 * into the bank within codeSeconds before a press puts it away. Scan mode is started by the holder's
 * gesture (gestureHolds holds of button A, the info screen on for gestureSeconds between them), and the
 * panel shows SCAN while scanning. The CPU wakes sampleHz times a second
 * while scanning; each wake costs the sample's measured instructions and wakeInstructions more for the
 * loop around it (sleep, wake, the timer re-armed: mcu/light.c, not metered; an estimate).
 */
export const TRANSFER_USE = {
  /** Holds of button A that start scan mode (one on the dark panel: the info screen; one on it: SCAN). */
  gestureHolds: 2,
  /** s the info screen is on between the gesture's two holds. */
  gestureSeconds: 2.5,
  scanSeconds: 6,
  shownSeconds: 8,
  codeSeconds: 20,
  sampleHz: 240,
  wakeInstructions: 50,
  /** s button A is held for the hold that signs (LONG_PRESS_SECONDS and a little). */
  holdSeconds: 2.2,
} as const;

/** The CPU's share of each second while scanning (cycles at the assumed CPI over 16 MHz). */
export function scanDutyCycle(costs: Readonly<TransferCosts> = MEASURED_TRANSFER_COSTS): number {
  return ((costs.scanSample.instructions + TRANSFER_USE.wakeInstructions) * ASSUMED_CPI * TRANSFER_USE.sampleHz) / NRF51822.cpuHz;
}

const MS_PER_HOUR = 3_600_000;
const HOURS_PER_YEAR = 8_766; // 365.25 days

/** µA·ms of the CPU running `instructions` at the assumed CPI. */
export function cpuMicroampMs(instructions: number, cpi = ASSUMED_CPI, conditions: Readonly<Conditions> = CENTRAL): number {
  return ((instructions * cpi) / NRF51822.cpuHz) * 1000 * conditions.cpuMicroamps;
}

/** ms the SPI bus takes for `lines` in one frame (the CPU waits for each byte: the nRF51's SPI has no DMA). */
export function panelBusMs(lines: number): number {
  if (lines === 0) return 0;
  return (((lines * PANEL.lineBytes + PANEL.writeOverheadBytes) * 8) / PANEL.spiHz) * 1000;
}

/**
 * µA·ms of writing `lines` to the panel: the CPU waits for the SPI a byte at a time, and the panel
 * draws its write current for its share of a whole-panel write.
 */
export function panelMicroampMs(lines: number, conditions: Readonly<Conditions> = CENTRAL): number {
  if (lines === 0) return 0;
  return panelBusMs(lines) * conditions.cpuMicroamps + lines * ((PANEL.writeMicroamps * PANEL.writeMs) / PANEL.writeLines);
}

/** µA·ms of one firmware call: its instructions on the CPU, its lines to the panel. */
export function operationMicroampMs(cost: OperationCost, conditions: Readonly<Conditions> = CENTRAL): number {
  return cpuMicroampMs(cost.instructions, ASSUMED_CPI, conditions) + panelMicroampMs(cost.panelLines, conditions);
}

/** µA drawn all the time: System ON sleep with the RTC's crystal running. */
export function sleepMicroamps(conditions: Readonly<Conditions> = CENTRAL): number {
  return conditions.systemOnMicroamps + conditions.lfxoMicroamps;
}

/** µA·ms of one page erase, and of programming one word. */
export const flashEraseMicroampMs = (conditions: Readonly<Conditions> = CENTRAL): number =>
  NRF51822.flashEraseMs * conditions.flashMicroamps;
export const flashWordMicroampMs = (conditions: Readonly<Conditions> = CENTRAL): number =>
  (NRF51822.flashWordMicroseconds / 1000) * conditions.flashMicroamps;

/** µA·ms of button A's pull-up for one press (the pin held low). */
export const buttonMicroampMs = (conditions: Readonly<Conditions> = CENTRAL): number =>
  (BUTTON.millivolts / conditions.pullUpOhms) * 1000 * BUTTON.heldSeconds * 1000;

/**
 * µA·ms of one transfer, in its parts: scanning (the gesture that starts scan mode: its holds' pull-up,
 * the info and SCAN screens drawn and on; the sensors' front end, the CPU at every sample, the frame
 * taken and drawn), the transfer and then its code on the panel (a tick a second and the panel's
 * own current), the signing hold with the button's pull-up, and the press that puts the code away.
 */
export function transferMicroampMs(
  costs: Readonly<TransferCosts> = MEASURED_TRANSFER_COSTS,
  conditions: Readonly<Conditions> = CENTRAL,
  pressCost: OperationCost = MEASURED_COSTS.press,
): { scan: number; shown: number; sign: number } {
  const use = TRANSFER_USE;
  const samples = use.scanSeconds * use.sampleHz;
  const gesture =
    (use.gestureHolds * buttonMicroampMs(conditions) * use.holdSeconds) / BUTTON.heldSeconds +
    use.gestureHolds * operationMicroampMs(pressCost, conditions) +
    (use.gestureSeconds + use.scanSeconds) * 1000 * displayMicroamps();
  const scan =
    gesture +
    samples * cpuMicroampMs(costs.scanSample.instructions + use.wakeInstructions, ASSUMED_CPI, conditions) +
    use.scanSeconds * 1000 * conditions.sensorMicroamps +
    operationMicroampMs(costs.scanFrame, conditions);
  const seconds = use.shownSeconds + use.codeSeconds;
  const shown = seconds * (operationMicroampMs(costs.transferTick, conditions) + 1000 * displayMicroamps());
  const sign =
    operationMicroampMs(costs.sign, conditions) +
    (buttonMicroampMs(conditions) * use.holdSeconds) / BUTTON.heldSeconds +
    operationMicroampMs(pressCost, conditions) +
    buttonMicroampMs(conditions);
  return { scan, shown, sign };
}

/** Words in one state record (assembly/store/record.ts: 812 bytes). */
export const RECORD_WORDS = 203;

/** µA the panel draws while on, beyond the lines written (charged by the time it is on). */
export const displayMicroamps = (): number => PANEL.quiescentMicroamps;

/**
 * One press's wake-ups, on average: the press, the refreshes while the panel is on (one of them at the
 * step boundary the minute always crosses) and the tick that turns it off. Their count and µA·ms.
 */
export function pressWakeups(
  costs: OperationCosts = MEASURED_COSTS,
  recording = false,
  conditions: Readonly<Conditions> = CENTRAL,
): { wakeups: number; microampMs: number } {
  const refreshes = PANEL_ON_SECONDS - 1 + MEAN_EXTRA_PANEL_TICKS;
  const microampMs =
    operationMicroampMs(recording ? costs.pressRecordingTime : costs.press, conditions) +
    (refreshes - 1) * operationMicroampMs(costs.refresh, conditions) +
    operationMicroampMs(costs.refreshNewStep, conditions) +
    operationMicroampMs(costs.panelOff, conditions);
  return { wakeups: 1 + refreshes + 1, microampMs };
}

/** One wake-up of the firmware as the board simulator charges it: the average over a press's wake-ups. */
export function wakeupMicroampMs(costs: OperationCosts = MEASURED_COSTS): number {
  const { wakeups, microampMs } = pressWakeups(costs);
  return microampMs / wakeups;
}

/** The fraction of the rated capacity used when the curve reads `millivolts` (the curve falls monotonically). */
export function fractionAt(millivolts: number, curve: ReadonlyArray<readonly [number, number]> = CR2032.curve): number {
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
export function millivoltsAt(fraction: number, curve: ReadonlyArray<readonly [number, number]> = CR2032.curve): number {
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
  /** Transfers signed a day (each scanned, shown, signed: transferMicroampMs); default 0. */
  transfersPerDay?: number;
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
  transfersPerDay: number;
  /** µA averaged over a day, self-discharge included. */
  averageMicroamps: number;
  /** Years until the battery gauge empties (below LOW mV: the low-battery warning). */
  warningYears: number;
  /** Years until the last code can be shown (below BROWN-OUT mV the token shows "low battery" instead). */
  lastCodeYears: number;
  /** Days between the warning and the last code. */
  warningLeadDays: number;
}

/** The cell's curve under `conditions` (lower by its offset at a lower temperature). */
export function curveFor(conditions: Readonly<Conditions> = CENTRAL): ReadonlyArray<readonly [number, number]> {
  return CR2032.curve.map(([f, mv]) => [f, mv - conditions.curveOffsetMillivolts] as const);
}

/** µAh the cell gives to its end voltage under `conditions` (rated, derated for pulsed load). */
export function capacityMicroampHours(conditions: Readonly<Conditions> = CENTRAL): number {
  return CR2032.capacityMicroampHours * conditions.capacityFactor;
}

/** One line of the daily budget: what draws the charge, as an average current. */
export interface BudgetLine {
  what: string;
  microamps: number;
}

/** µA averaged over a day of `use`, by component: the sleep floor, the presses' parts, the cell's self-discharge. */
export function dailyBudget(
  use: DailyUse,
  costs: OperationCosts = MEASURED_COSTS,
  conditions: Readonly<Conditions> = CENTRAL,
  transferCosts: Readonly<TransferCosts> = MEASURED_TRANSFER_COSTS,
): BudgetLine[] {
  const day = 86_400_000; // ms
  const presses = use.pressesPerDay;
  const recordings = Math.min(presses, use.recordingsPerDay ?? recordingsPerDay(presses));
  const plain = pressWakeups(costs, false, conditions).microampMs;
  const recording = pressWakeups(costs, true, conditions).microampMs;
  const refreshes = PANEL_ON_SECONDS - 1 + MEAN_EXTRA_PANEL_TICKS;
  const lines =
    costs.press.panelLines + (refreshes - 1) * costs.refresh.panelLines + costs.refreshNewStep.panelLines + costs.panelOff.panelLines;
  const panelWrite = presses * (panelMicroampMs(lines, conditions) - panelBusMs(lines) * conditions.cpuMicroamps);
  const bus = presses * panelBusMs(lines) * conditions.cpuMicroamps;
  const cpu = (presses - recordings) * plain + recordings * recording - panelWrite - bus;
  const selfDischarge = (((CR2032.capacityMicroampHours * conditions.selfDischargePercentPerYear) / 100) * MS_PER_HOUR) / 365.25;
  return [
    { what: "nRF51822 System ON, 16 kB RAM on (I_ON,16k)", microamps: conditions.systemOnMicroamps },
    { what: "32.768 kHz crystal for RTC1 (and RTC0 while shown) (I_X32k)", microamps: conditions.lfxoMicroamps },
    { what: "CPU running the firmware's wake-ups", microamps: cpu / day },
    { what: "SPI: the CPU waiting for the panel's bytes", microamps: bus / day },
    { what: "panel: writing lines", microamps: panelWrite / day },
    {
      what: "panel: on, holding its image, VCOM toggled",
      microamps: (presses * (PANEL_ON_SECONDS + MEAN_EXTRA_PANEL_TICKS) * 1000 * displayMicroamps()) / day,
    },
    {
      what: "NVMC: the once-an-hour record (erase + 203 words)",
      microamps: (recordings * (flashEraseMicroampMs(conditions) + RECORD_WORDS * flashWordMicroampMs(conditions))) / day,
    },
    { what: "button A's pull-up while pressed", microamps: (presses * buttonMicroampMs(conditions)) / day },
    { what: "CR2032 self-discharge (1 %/year central, 2 %/year worst)", microamps: selfDischarge / day },
    ...transferLines(use.transfersPerDay ?? 0, transferCosts, conditions, costs.press, day),
  ];
}

/** The budget's transfer lines (none without transfers, so a day of logins alone reads as before). */
function transferLines(
  transfers: number,
  costs: Readonly<TransferCosts>,
  conditions: Readonly<Conditions>,
  pressCost: OperationCost,
  day: number,
): BudgetLine[] {
  if (!(transfers > 0)) return [];
  const { scan, shown, sign } = transferMicroampMs(costs, conditions, pressCost);
  return [
    { what: "transfers: scanning (sensors' front end, CPU at 240 samples/s)", microamps: (transfers * scan) / day },
    { what: "transfers: the transfer and its code on the panel", microamps: (transfers * shown) / day },
    { what: "transfers: the signing hold, the press that ends it", microamps: (transfers * sign) / day },
  ];
}

/** µA·ms a day of `use`, from the measured costs and the parts' currents. */
export function dailyMicroampMs(
  use: DailyUse,
  costs: OperationCosts = MEASURED_COSTS,
  conditions: Readonly<Conditions> = CENTRAL,
  transferCosts: Readonly<TransferCosts> = MEASURED_TRANSFER_COSTS,
): number {
  return dailyBudget(use, costs, conditions, transferCosts).reduce((sum, line) => sum + line.microamps, 0) * 86_400_000;
}

/** How long a CR2032 lasts at `use`: to the low-battery warning, to the last code, and the lead between. */
export function lifetime(
  use: DailyUse,
  lowMillivolts: number,
  brownOutMillivolts: number,
  costs: OperationCosts = MEASURED_COSTS,
  conditions: Readonly<Conditions> = CENTRAL,
  transferCosts: Readonly<TransferCosts> = MEASURED_TRANSFER_COSTS,
): Lifetime {
  const perDay = dailyMicroampMs(use, costs, conditions, transferCosts) / MS_PER_HOUR; // µAh a day
  const curve = curveFor(conditions);
  const daysTo = (millivolts: number) => (fractionAt(millivolts, curve) * capacityMicroampHours(conditions)) / perDay;
  const warningDays = daysTo(lowMillivolts);
  const lastCodeDays = daysTo(brownOutMillivolts);
  return {
    pressesPerDay: use.pressesPerDay,
    transfersPerDay: use.transfersPerDay ?? 0,
    averageMicroamps: perDay / 24,
    warningYears: (warningDays * 24) / HOURS_PER_YEAR,
    lastCodeYears: (lastCodeDays * 24) / HOURS_PER_YEAR,
    warningLeadDays: lastCodeDays - warningDays,
  };
}
