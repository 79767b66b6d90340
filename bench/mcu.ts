// The firmware on the nRF51822 (Cortex-M0, 16 KiB RAM), measured on the emulated core: flash and RAM
// of build/mcu/token.elf (the silicon image), instructions per operation (QEMU -icount, counted by a
// hardware timer on the emulator's harness image: see host/mcu/meter.ts), their time at 16 MHz, each
// press kind's latency from button to drawn code with the bus and flash times QEMU does not model
// (from the parts' data sheets), the sleep budget by component, and the battery life the energy model
// (host/board/energy.ts) gives from these counts, central and worst case; it draws docs/battery.svg
// and docs/press-current.svg. Part of npm run bench; prints why it skipped where QEMU or the
// toolchain is missing.
//
//   npm run build && node dist/bench/mcu.js
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BROWN_OUT_MILLIVOLTS, LOW_BATTERY_MILLIVOLTS } from "../host/abi.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import { DEFAULT_BOARD_START_MS } from "../host/board/board.js";
import {
  ASSUMED_CPI,
  BUTTON,
  CENTRAL,
  type Conditions,
  dailyBudget,
  displayMicroamps,
  lifetime,
  MEASURED_COSTS,
  MEASURED_TRANSFER_COSTS,
  scanDutyCycle,
  TRANSFER_USE,
  transferMicroampMs,
  NRF51822,
  type OperationName,
  PANEL,
  panelBusMs,
  RECORD_WORDS,
  sleepMicroamps,
  WORST_CASE,
} from "../host/board/energy.js";
import {
  PANEL_FRAME_OVERHEAD_BYTES,
  PANEL_SCS_HOLD_MICROSECONDS,
  PANEL_SCS_LOW_MICROSECONDS,
  PANEL_SCS_SETUP_MICROSECONDS,
  PANEL_SPI_HZ,
} from "../host/mcu/panel.js";
import { pressProfilePlot, voltagePlot } from "./mcu-plots.js";
import { ICOUNT_SHIFT, type MeterReading } from "../host/mcu/meter.js";
import {
  measureDailyOperations,
  measureTransfer,
  operationCosts,
  transferCosts,
  type DailyOperations,
  type TransferOperations,
} from "../host/mcu/measure.js";
import { transferCode } from "../host/transaction.js";
import { buildMixPlugin, byFunction, codeSymbols, cycles, lastWindow, type MixWindow } from "./mcu-mix.js";
import { McuToken, mcuBuildDir, mcuUnavailable } from "../host/mcu/mcu-token.js";

const FLASH_BUDGET = 64 * 1024;
const RAM_BUDGET = 16 * 1024;
const PRESS_GOAL_MS = 50;
const ACTIVATION_GOAL_S = 3;
const PASSWORD = "Pass1234";

interface ImageFigures {
  flashBytes: number;
  dataBytes: number;
  bssBytes: number;
  noinitBytes: number;
  stackBytes: number;
  memoryBytes: number;
  staticBytes: number;
}

function pad(text: string | number, width: number, left = false): string {
  const s = String(text);
  return left ? s.padEnd(width) : s.padStart(width);
}

const group = (n: number) => n.toLocaleString("en-US");
const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");

interface Measured {
  readings: Record<string, MeterReading>;
  transfer: TransferOperations;
  mixes: Record<string, MixWindow>;
  stackHighWater: number;
  plugin: string;
}

async function measure(): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), "otp-bench-mcu-"));
  const elf = join(mcuBuildDir(), "token-harness.elf");
  const plugin = buildMixPlugin(mcuBuildDir());
  const mixPath = join(dir, "mix.txt");
  let qemuArgs: string[] = [];
  if ("path" in plugin) {
    const at = (name: string) => codeSymbols(elf).find((s) => s.name === name)?.address ?? 0;
    qemuArgs = [
      "-plugin",
      `${plugin.path},out=${mixPath},begin=0x${at("nrf_timer_meter_start").toString(16)},end=0x${at("nrf_timer_meter_stop").toString(16)}`,
    ];
  }
  const mixes: Record<string, MixWindow> = {};
  const capture = (name: string) => {
    if ("path" in plugin) mixes[name] = lastWindow(mixPath);
  };
  // The clock starts on a step boundary, so the presses fall where measureDailyOperations says.
  const token = new McuToken({ startSeconds: DEFAULT_BOARD_START_MS / 1000, qemuArgs });
  try {
    capture("firstBoot");
    const readings: Record<string, MeterReading> = { ...measureDailyOperations(token, capture) };
    const transfer = measureTransfer(token, capture);
    if (transfer.code !== transferCode(new Uint8Array(20).fill(7), transfer.payload))
      throw new Error("the M0's transfer code is not the bank's");
    const store = await openStore(join(dir, "bank.sqlite"), { create: true });
    try {
      const bank = await Bank.open(store, MasterKey.fromHex("3c".repeat(32)), {
        now: () => Number(token.rtcSeconds()),
        outboxDir: join(dir, "outbox"),
      });
      const issued = await bank.issue({
        mail: "bench@example.jp",
        mailConfirm: "bench@example.jp",
        password: PASSWORD,
        passwordConfirm: PASSWORD,
      });
      const request = token.link.activateBegin(issued.serviceId, issued.userId, PASSWORD);
      capture("activationBegin");
      readings.activationBegin = token.meter().last;
      const { confirmation } = token.link.activateFinish((await bank.activate(request)).response);
      capture("activationFinish");
      readings.activationFinish = token.meter().last;
      await bank.register(confirmation);
      if (!(await bank.confirm(issued.userId, token.screen().code!)).ok) throw new Error("the bank refused the M0's first code");
      // The holder's first press once the activation's code has gone dark.
      token.advance(130_000);
      if (token.screen().mode !== "off") throw new Error("the panel is still on 130 s after the activation");
      token.press();
      capture("pressAfterActivation");
      readings.pressAfterActivation = token.meter().last;
    } finally {
      await store.close();
    }
    const stackHighWater = token.meter().stackHighWaterBytes;
    token.restart(); // power-on of a token with records
    capture("boot");
    readings.boot = token.meter().boot;
    const where = "path" in plugin ? `TCG plugin bench/mcu-mix.c (built with the host's cc)` : `no instruction mix: ${plugin.skipped}`;
    return { readings, transfer, mixes, stackHighWater: Math.max(stackHighWater, token.meter().stackHighWaterBytes), plugin: where };
  } finally {
    token.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The transfer on the M0: the decoder's cost per sample and the CPU's duty cycle at the sampling rate
 * (goal: keeping up with the page's fastest 30 levels a second, the CPU mostly asleep), and the
 * signing hold's latency to the drawn code (goal <= 50 ms). Returns the energy model's costs.
 */
function transferReport(transfer: TransferOperations, mixes: Record<string, MixWindow>) {
  const costs = transferCosts(transfer);
  const cpiOf = (key: string) => (mixes[key] ? cycles(mixes[key], 1) / mixes[key].instructions : ASSUMED_CPI);
  const { scan } = transfer;
  const perSample = costs.scanSample.instructions;
  const periodCycles = NRF51822.cpuHz / TRANSFER_USE.sampleHz;
  console.log(
    `\ntransaction signing on the M0: a transfer with a kana name (${transfer.payload.length} bytes), its frame sampled at ${TRANSFER_USE.sampleHz} Hz from the recorded sensor stream`,
  );
  console.log(
    `  decoding: ${group(scan.samples)} samples to the frame, ${perSample} instructions a sample on average (largest ${scan.worstInstructions}), ` +
      `${(perSample * ASSUMED_CPI).toFixed(0)} cycles at CPI ${ASSUMED_CPI} of the ${group(periodCycles)} between samples at 16 MHz`,
  );
  console.log(
    `  CPU duty cycle while scanning (with ${TRANSFER_USE.wakeInstructions} instructions a wake for the loop around each sample): ${(scanDutyCycle(costs) * 100).toFixed(3)} %` +
      ` (the page's fastest speed, 30 levels/s, gives each level 8 samples)  ${verdict(scanDutyCycle(costs) < 0.05)}`,
  );
  const frameMs = (scan.frameInstructions * cpiOf("scanFrame")) / (NRF51822.cpuHz / 1000);
  console.log(
    `  the sample that takes the frame: ${group(scan.frameInstructions)} instructions, ${frameMs.toFixed(1)} ms + the panel's bus ${frameBusMs(32, true).toFixed(1)} ms (checked, kept, drawn; scanning stops)`,
  );
  const sign = transfer.sign;
  const signCpi = cpiOf("sign");
  const signMs = (sign.drawnInstructions * signCpi) / (NRF51822.cpuHz / 1000) + frameBusMs(sign.panelLines, true);
  console.log(
    `  sign (the hold to the drawn code): ${group(sign.instructions)} instructions, CPI ${signCpi.toFixed(2)}, ` +
      `${((sign.drawnInstructions * signCpi) / (NRF51822.cpuHz / 1000)).toFixed(1)} + ${frameBusMs(sign.panelLines, true).toFixed(1)} = ${signMs.toFixed(1)} ms  goal <= ${PRESS_GOAL_MS} ms ${verdict(signMs <= PRESS_GOAL_MS)}`,
  );
  console.log(
    `  a second of the transfer on screen: ${group(transfer.transferTick.instructions)} instructions, ${transfer.transferTick.panelLines} lines`,
  );
  return costs;
}

const DOCS = fileURLToPath(new URL("../../docs/", import.meta.url));

function describeConditions(c: Readonly<Conditions>): string {
  return (
    `CPU ${(c.cpuMicroamps / 1000).toFixed(2)} mA, I_ON ${c.systemOnMicroamps} µA, I_X32k ${c.lfxoMicroamps} µA, NVMC ${(c.flashMicroamps / 1000).toFixed(1)} mA, ` +
    `pull-up ${c.pullUpOhms / 1000} kΩ, capacity ${((225 * c.capacityFactor) | 0).toString()} of 225 mAh, ` +
    `${c.selfDischargePercentPerYear} %/year self-discharge, curve ${c.curveOffsetMillivolts ? `${c.curveOffsetMillivolts} mV lower (0 °C)` : "at about 20 °C"}`
  );
}

/** ms the panel's bus takes for a frame of `lines` lines, SCS's set-up, hold and low times included; and the all-clear frame after power-on. */
function frameBusMs(lines: number, poweredOn: boolean): number {
  if (lines === 0) return 0;
  const scs = (PANEL_SCS_SETUP_MICROSECONDS + PANEL_SCS_HOLD_MICROSECONDS + PANEL_SCS_LOW_MICROSECONDS) / 1000;
  const clear = poweredOn ? ((PANEL_FRAME_OVERHEAD_BYTES * 8) / PANEL_SPI_HZ) * 1000 + scs : 0;
  return panelBusMs(lines) + scs + clear;
}

/** ms the NVMC stalls the CPU for `erases` pages and `words` words (nRF51 data: docs/hardware.md). */
const flashMs = (erases: number, words: number) => erases * NRF51822.flashEraseMs + (words * NRF51822.flashWordMicroseconds) / 1000;

/**
 * Each press kind from button to drawn code, on the part: the instructions until the panel had the
 * code (the meter marks it), their cycles (the call's CPI from the plugin), the SPI bus the CPU waits
 * for (QEMU has no SPI: from the bytes sent and the panel's timing), and any flash stall before the
 * code is drawn (none: the record is written after it). The flash time after the code is shown apart.
 */
function pressLatencies(readings: Record<string, MeterReading>, mixes: Record<string, MixWindow>): void {
  console.log("\nevery press from button to drawn code on the part (goal <= 50 ms): what QEMU does not time is added from the data sheets");
  const header = `${pad("press", 44, true)} ${pad("instructions", 12)} ${pad("cycles", 9)} ${pad("CPU ms", 7)} ${pad("SPI ms", 7)} ${pad("NVMC ms", 8)} ${pad("total ms", 9)}  ${pad("after: NVMC ms", 15)} goal`;
  console.log(header);
  console.log("-".repeat(header.length));
  for (const [name, key] of [
    ["plain press", "press"],
    ["once-an-hour press (records the time)", "pressRecordingTime"],
    ["first press after activation", "pressAfterActivation"],
  ] as const) {
    const r = readings[key];
    const mix = mixes[key];
    const cpi = mix ? cycles(mix, 1) / mix.instructions : ASSUMED_CPI;
    const drawnCycles = Math.round(r.drawnInstructions * cpi);
    const cpuMs = (drawnCycles / NRF51822.cpuHz) * 1000;
    const busMs = frameBusMs(r.panelLines, true);
    const before = 0; // the firmware draws before it records (mcu/main.c draws before the NVMC starts)
    const after = flashMs(r.flashErases, r.flashWords);
    const total = cpuMs + busMs + before;
    console.log(
      `${pad(name, 44, true)} ${pad(group(r.drawnInstructions), 12)} ${pad(group(drawnCycles), 9)} ${pad(cpuMs.toFixed(1), 7)} ${pad(busMs.toFixed(1), 7)} ${pad(before.toFixed(1), 8)} ${pad(total.toFixed(1), 9)}  ${pad(after ? `${after.toFixed(1)} (${r.flashErases} erase, ${r.flashWords} words)` : "0", 15)} ${verdict(total <= PRESS_GOAL_MS)}`,
    );
  }
  console.log(
    `(SPI: ${PANEL.lineBytes} B a line + ${PANEL.writeOverheadBytes} B a frame at ${PANEL_SPI_HZ / 1e6} MHz, SCS ${PANEL_SCS_SETUP_MICROSECONDS}/${PANEL_SCS_HOLD_MICROSECONDS}/${PANEL_SCS_LOW_MICROSECONDS} µs, ` +
      `and the all-clear frame of a panel just powered; NVMC: ${NRF51822.flashEraseMs} ms a page erase, ${NRF51822.flashWordMicroseconds} µs a word; ` +
      "the wake-up from System ON, microseconds, is left out)",
  );
}

/** docs/press-current.svg: one once-an-hour press and the refresh a second later, as the part draws current. */
function writePressProfile(press: MeterReading, pressCpi: number, refresh: MeterReading, refreshCpi: number): void {
  const ms = (instructions: number, cpi: number) => ((instructions * cpi) / NRF51822.cpuHz) * 1000;
  const sleep = sleepMicroamps(CENTRAL);
  const cpu = CENTRAL.cpuMicroamps;
  const panelWrite = PANEL.writeMicroamps;
  const drawnMs = ms(press.drawnInstructions, pressCpi);
  const restMs = ms(press.instructions - press.drawnInstructions, pressCpi);
  const busMs = frameBusMs(press.panelLines, true);
  const eraseMs = flashMs(press.flashErases, 0);
  const wordsMs = flashMs(0, press.flashWords);
  const refreshMs = ms(refresh.instructions, refreshCpi) + frameBusMs(refresh.panelLines, false);
  const before = 10;
  const segments = [
    { what: "asleep (RTC1 on the crystal)", ms: before, microamps: sleep },
    {
      what: "wake, the code, its lines",
      ms: drawnMs,
      microamps: cpu + (BUTTON.millivolts / BUTTON.pullUpOhms) * 1000,
    },
    { what: "SPI: the frame", ms: busMs, microamps: cpu + panelWrite },
    { what: "NVMC: page erase", ms: eraseMs, microamps: CENTRAL.flashMicroamps },
    { what: `NVMC: ${RECORD_WORDS} words, CPU`, ms: wordsMs + restMs, microamps: CENTRAL.flashMicroamps },
    { what: "panel on, CPU asleep", ms: 25, microamps: sleep + displayMicroamps() },
  ];
  writeFileSync(
    join(DOCS, "press-current.svg"),
    pressProfilePlot(
      "One once-an-hour press on the part: current over time (central figures)",
      segments,
      [
        { atMs: before, label: "button" },
        { atMs: before + drawnMs + busMs, label: `code shown, ${(drawnMs + busMs).toFixed(1)} ms` },
      ],
      `then every second for a minute: a refresh, ${refreshMs.toFixed(1)} ms at ${(cpu / 1000).toFixed(1)} mA; in between ${(sleep + displayMicroamps()).toFixed(1)} µA`,
    ),
  );
}

async function main(): Promise<void> {
  console.log("\n# the firmware on the nRF51822 (Cortex-M0, 16 MHz, 16 KiB RAM), emulated by QEMU's microbit machine\n");
  const missing = mcuUnavailable();
  if (missing) {
    console.log(`skipped: ${missing}`);
    return;
  }
  const build = JSON.parse(readFileSync(join(mcuBuildDir(), "build.json"), "utf8")) as {
    optimize: string;
    images: Record<string, ImageFigures>;
  };
  const product = build.images["token.elf"];
  const started = Date.now();
  const { readings, transfer, mixes, stackHighWater, plugin } = await measure();
  const staticRam = product.dataBytes + product.bssBytes + product.noinitBytes;
  const ram = staticRam + stackHighWater;
  const allocated = staticRam + product.stackBytes;
  const emulator = build.images["token-harness.elf"];
  console.log(
    `build/mcu/token.elf, the silicon image (wasm2c 1.0.32 output, arm-none-eabi-gcc ${build.optimize}, -mcpu=cortex-m0; QEMU cannot run it, so what runs is measured on the emulator's images)`,
  );
  console.log(
    `  flash  ${pad(group(product.flashBytes), 7)} B  (text + rodata + data image)          budget ${group(FLASH_BUDGET)} B  ${verdict(product.flashBytes <= FLASH_BUDGET)}`,
  );
  console.log(
    `  RAM used       ${pad(group(ram), 7)} B  (data ${product.dataBytes} + bss ${group(product.bssBytes)} + noinit ${product.noinitBytes} + stack high-water ${group(stackHighWater)}, measured on the harness image)  budget ${group(RAM_BUDGET)} B  ${verdict(ram <= RAM_BUDGET)}`,
  );
  console.log(
    `  RAM allocated  ${pad(group(allocated), 7)} B  (the same static ${group(staticRam)} + the stack region the linker reserves, ${group(product.stackBytes)}; the rest of ${group(RAM_BUDGET)} is alignment)`,
  );
  console.log(
    `         of which the firmware's linear memory ${group(product.memoryBytes)} B (its staticBytes() ${group(product.staticBytes)}, rounded to 8)`,
  );
  console.log(
    `  the emulator's harness image: flash ${group(emulator.flashBytes)} B, static RAM ${group(emulator.dataBytes + emulator.bssBytes + emulator.noinitBytes)} B`,
  );

  console.log(
    `\ninstructions: measured on the emulated core with QEMU -icount shift=${ICOUNT_SHIFT} (one instruction = ${2 ** ICOUNT_SHIFT} ns of virtual time), counted by TIMER1 at 16 MHz`,
  );
  console.log(`cycles: ${plugin}; the Cortex-M0 TRM's timings (ARM DDI 0432C, Table 3-1), no flash wait states,`);
  console.log(
    `        MULS 1 cycle (fast multiplier; the small one takes 32: last column); without the plugin, CPI ${ASSUMED_CPI} assumed\n`,
  );
  const rows: [string, string, string][] = [
    ["boot with self-test (a token with a record)", "boot", ""],
    ["  the very first boot (makes and stores the serial)", "firstBoot", ""],
    ["press (the whole call)", "press", ""],
    ["  the once-an-hour press (records the time in flash)", "pressRecordingTime", ""],
    ["  the first press after activation", "pressAfterActivation", ""],
    ["one display refresh", "refresh", ""],
    ["refresh at a step boundary (one HMAC code + refresh)", "refreshNewStep", ""],
    ["the tick that turns the panel off", "panelOff", ""],
    ["add a profile over the link", "addProfile", ""],
    ["activation begin", "activationBegin", ""],
    ["activation finish", "activationFinish", ""],
  ];
  const header = `${pad("operation", 54, true)} ${pad("instructions", 13)} ${pad("CPI", 5)} ${pad("ms @16 MHz", 11)} ${pad("small-mul ms", 13)}  erases words rng-bytes lines  goal`;
  console.log(header);
  console.log("-".repeat(header.length));
  const timeOf = (key: string, multiplyCycles = 1) => {
    const mix = mixes[key];
    const instructions = readings[key].instructions;
    const c = mix ? cycles(mix, multiplyCycles) : instructions * ASSUMED_CPI;
    return { ms: (c / 16e6) * 1000, cpi: c / instructions };
  };
  for (const [name, key, goal] of rows) {
    const r = readings[key];
    const t = timeOf(key);
    const small = mixes[key] ? timeOf(key, 32).ms.toFixed(1) : "-";
    const check = goal ? `<= ${PRESS_GOAL_MS} ms ${verdict(t.ms <= PRESS_GOAL_MS)}` : "";
    console.log(
      `${pad(name, 54, true)} ${pad(group(r.instructions), 13)} ${pad(t.cpi.toFixed(2), 5)} ${pad(t.ms.toFixed(1), 11)} ${pad(small, 13)}  ${pad(r.flashErases, 6)} ${pad(r.flashWords, 5)} ${pad(r.randomBytes, 9)} ${pad(r.panelLines, 5)}  ${check}`,
    );
  }
  if (Object.keys(mixes).length) {
    const deviations = rows.map(([, key]) => (mixes[key].instructions - readings[key].instructions) / readings[key].instructions);
    const range = `${(Math.min(...deviations) * 100).toFixed(2)} % to +${(Math.max(...deviations) * 100).toFixed(2)} %`;
    console.log(
      `(the plugin's own counts differ from -icount's by ${range}: it counts a whole translation block at its start, also when QEMU ` +
        "cuts the block short at an I/O access and runs its rest again; the counts above are -icount's)",
    );
  }
  const hmac = readings.refreshNewStep.instructions - readings.refresh.instructions;
  console.log(`${pad("a step boundary's extra (the HMAC code, 18 more lines)", 54, true)} ${pad(group(hmac), 13)}`);
  const activation = readings.activationBegin.instructions + readings.activationFinish.instructions;
  const activationTime = timeOf("activationBegin").ms + timeOf("activationFinish").ms;
  const activationSmall = mixes.activationBegin ? timeOf("activationBegin", 32).ms + timeOf("activationFinish", 32).ms : NaN;
  console.log(
    `${pad("activation, begin + finish", 54, true)} ${pad(group(activation), 13)} ${pad("", 5)} ${pad(activationTime.toFixed(0), 11)} ${pad(Number.isNaN(activationSmall) ? "-" : activationSmall.toFixed(0), 13)}  ` +
      `${"".padEnd(22)}  <= ${ACTIVATION_GOAL_S * 1000} ms ${verdict(activationTime <= ACTIVATION_GOAL_S * 1000)}`,
  );
  const rngBytes = readings.activationBegin.randomBytes + readings.activationFinish.randomBytes;
  console.log(
    `  (plus the RNG's ${rngBytes} bytes: about ${(rngBytes * 0.66).toFixed(0)} ms with the CPU asleep, at QEMU's 660 µs per bias-corrected byte)`,
  );

  if (mixes.activationBegin) {
    const symbols = codeSymbols(join(mcuBuildDir(), "token-harness.elf"));
    console.log(
      "\nwhere the activation's instructions go (functions of build/mcu/token-harness.elf; w2c_fN is wasm function N of token.wasm):",
    );
    for (const key of ["activationBegin", "activationFinish"]) {
      const top = byFunction(mixes[key], symbols).slice(0, 5);
      const total = mixes[key].instructions;
      console.log(
        `  ${key === "activationBegin" ? "begin " : "finish"}  ${top.map(([fn, n]) => `${fn} ${((n / total) * 100).toFixed(1)} %`).join(", ")}`,
      );
    }
    const mix = mixes.activationBegin;
    const share = (n: number) => `${((n / mix.instructions) * 100).toFixed(1)} %`;
    console.log(
      `  begin's mix: loads/stores ${share(mix.loadStore)}, LDM/STM/PUSH/POP ${share(mix.loadStoreMultiple)}, branches taken ${share(mix.taken + mix.branches + mix.branchLinks)}, ` +
        `not taken ${share(mix.notTaken)}, MULS ${share(mix.multiply)}, the rest ${share(mix.alu + mix.other32)}`,
    );
  }

  const costs = operationCosts(readings as unknown as DailyOperations);
  pressLatencies(readings, mixes);
  const txCosts = transferReport(transfer, mixes);
  const cpi = (key: string) => (mixes[key] ? cycles(mixes[key], 1) / mixes[key].instructions : ASSUMED_CPI);
  writePressProfile(readings.pressRecordingTime, cpi("pressRecordingTime"), readings.refresh, cpi("refresh"));

  console.log(`\nbattery: CR2032, nRF51822 asleep in System ON (WFE) with RTC1 on the 32.768 kHz crystal and HFCLK off, ${PANEL.part},`);
  console.log(
    `the panel on 60 s per press and refreshed every second; low-battery warning below ${LOW_BATTERY_MILLIVOLTS} mV, no code below ${BROWN_OUT_MILLIVOLTS} mV;`,
  );
  console.log(`the CPU's time at CPI ${ASSUMED_CPI}; every figure's source in docs/hardware.md\n`);
  console.log("the budget at 10 presses a day, µA by component:");
  const central = dailyBudget({ pressesPerDay: 10 }, costs, CENTRAL);
  const worst = dailyBudget({ pressesPerDay: 10 }, costs, WORST_CASE);
  console.log(`  ${pad("", 62, true)} ${pad("central", 9)} ${pad("worst", 9)}`);
  central.forEach((line, i) => {
    console.log(`  ${pad(line.what, 62, true)} ${pad(line.microamps.toFixed(3), 9)} ${pad(worst[i].microamps.toFixed(3), 9)}`);
  });
  const sum = (lines: typeof central) => lines.reduce((total, line) => total + line.microamps, 0);
  console.log(`  ${pad("total", 62, true)} ${pad(sum(central).toFixed(3), 9)} ${pad(sum(worst).toFixed(3), 9)}`);
  console.log(
    `  (the sleep floor: ${sleepMicroamps(CENTRAL).toFixed(1)} µA; not charged: RTC1's half-wrap wake-ups every 256 s and EXTCOMIN's PPI toggles, ` +
      "both well under 0.001 µA; docs/hardware.md)",
  );
  const series = [];
  for (const conditions of [CENTRAL, WORST_CASE]) {
    console.log(`\n${conditions.name}: ${describeConditions(conditions)}`);
    console.log(
      `${pad("presses a day", 14)} ${pad("average µA", 11)} ${pad("years to warning", 17)} ${pad("years to last code", 19)} ${pad("warning lead", 13)}  goal`,
    );
    const goalYears = conditions === CENTRAL ? 7 : 5;
    for (const presses of [5, 10, 20]) {
      const life = lifetime({ pressesPerDay: presses }, LOW_BATTERY_MILLIVOLTS, BROWN_OUT_MILLIVOLTS, costs, conditions);
      series.push({ pressesPerDay: presses, conditions, life });
      const goal =
        presses === 10
          ? `>= ${goalYears} years ${verdict(life.lastCodeYears >= goalYears)}, lead >= 30 days ${verdict(life.warningLeadDays >= 30)}`
          : `lead >= 30 days ${verdict(life.warningLeadDays >= 30)}`;
      console.log(
        `${pad(presses, 14)} ${pad(life.averageMicroamps.toFixed(2), 11)} ${pad(life.warningYears.toFixed(2), 17)} ${pad(life.lastCodeYears.toFixed(2), 19)} ${pad(`${life.warningLeadDays.toFixed(0)} days`, 13)}  ${goal}`,
      );
    }
  }
  console.log(
    `\ntransfers a day beside 10 presses (each: ${TRANSFER_USE.scanSeconds} s of scanning, ${TRANSFER_USE.shownSeconds} s shown and held, the code ${TRANSFER_USE.codeSeconds} s on the panel; the sensors' front end ${CENTRAL.sensorMicroamps} / ${WORST_CASE.sensorMicroamps} µA, an assumption)`,
  );
  console.log(
    `${pad("transfers a day", 16)} ${pad("central: average µA", 20)} ${pad("years to last code", 19)} ${pad("worst: average µA", 18)} ${pad("years to last code", 19)}`,
  );
  for (const transfers of [0, 5, 20]) {
    const [c, w] = [CENTRAL, WORST_CASE].map((conditions) =>
      lifetime({ pressesPerDay: 10, transfersPerDay: transfers }, LOW_BATTERY_MILLIVOLTS, BROWN_OUT_MILLIVOLTS, costs, conditions, txCosts),
    );
    console.log(
      `${pad(transfers, 16)} ${pad(c.averageMicroamps.toFixed(2), 20)} ${pad(c.lastCodeYears.toFixed(2), 19)} ${pad(w.averageMicroamps.toFixed(2), 18)} ${pad(w.lastCodeYears.toFixed(2), 19)}`,
    );
  }
  const perTransfer = transferMicroampMs(txCosts, CENTRAL, costs.press);
  console.log(
    `one transfer, central: scanning ${(perTransfer.scan / 3_600_000).toFixed(3)} µAh, shown ${(perTransfer.shown / 3_600_000).toFixed(3)} µAh, signing (the button's pull-up held 2.2 s the most of it) ${(perTransfer.sign / 3_600_000).toFixed(3)} µAh`,
  );
  const perMicroamp =
    lifetime({ pressesPerDay: 10 }, LOW_BATTERY_MILLIVOLTS, BROWN_OUT_MILLIVOLTS, costs, CENTRAL).lastCodeYears -
    lifetime({ pressesPerDay: 10 }, LOW_BATTERY_MILLIVOLTS, BROWN_OUT_MILLIVOLTS, costs, {
      ...CENTRAL,
      systemOnMicroamps: CENTRAL.systemOnMicroamps + 1,
    }).lastCodeYears;
  console.log(`(each further µA of sleep current costs ${perMicroamp.toFixed(2)} years at 10 presses a day, central)`);
  writeFileSync(join(DOCS, "battery.svg"), voltagePlot(series, costs, LOW_BATTERY_MILLIVOLTS, BROWN_OUT_MILLIVOLTS));
  console.log("drawn: docs/battery.svg (the cell's voltage over the years), docs/press-current.svg (one press's current)");
  const drift = (Object.keys(costs) as OperationName[])
    .map(
      (k) =>
        `${k} ${costs[k].instructions} (${MEASURED_COSTS[k].instructions}), ${costs[k].panelLines} lines (${MEASURED_COSTS[k].panelLines})`,
    )
    .join("; ");
  console.log(`\nmeasured now (host/board/energy.ts's recorded costs, which the board simulator uses): ${drift}`);
  const txDrift = (Object.keys(txCosts) as (keyof typeof txCosts)[])
    .map(
      (k) =>
        `${k} ${txCosts[k].instructions} (${MEASURED_TRANSFER_COSTS[k].instructions}), ${txCosts[k].panelLines} lines (${MEASURED_TRANSFER_COSTS[k].panelLines})`,
    )
    .join("; ");
  console.log(`transfers: ${txDrift}`);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s of wall time for the emulated measurements)`);
}

await main();
