// The firmware on the nRF51822 (Cortex-M0, 16 KiB RAM), measured on the emulated core: flash and RAM
// of build/mcu/token.elf, instructions per operation (QEMU -icount, counted by a hardware timer: see
// host/mcu/meter.ts), their time at 16 MHz, and the battery life the energy model
// (host/board/energy.ts) gives from these counts. Part of npm run bench; prints why it skipped where
// QEMU or the toolchain is missing.
//
//   npm run build && node dist/bench/mcu.js
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BROWN_OUT_MILLIVOLTS, LOW_BATTERY_MILLIVOLTS } from "../host/abi.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import { DEFAULT_BOARD_START_MS } from "../host/board/board.js";
import { ASSUMED_CPI, lifetime, MEASURED_COSTS, PANEL, type OperationName } from "../host/board/energy.js";
import { ICOUNT_SHIFT, type MeterReading } from "../host/mcu/meter.js";
import { measureDailyOperations, operationCosts, type DailyOperations } from "../host/mcu/measure.js";
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
    } finally {
      await store.close();
    }
    const stackHighWater = token.meter().stackHighWaterBytes;
    token.restart(); // power-on of a token with records
    capture("boot");
    readings.boot = token.meter().boot;
    const where = "path" in plugin ? `TCG plugin bench/mcu-mix.c (built with the host's cc)` : `no instruction mix: ${plugin.skipped}`;
    return { readings, mixes, stackHighWater: Math.max(stackHighWater, token.meter().stackHighWaterBytes), plugin: where };
  } finally {
    token.close();
    rmSync(dir, { recursive: true, force: true });
  }
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
  const { readings, mixes, stackHighWater, plugin } = await measure();
  const staticRam = product.dataBytes + product.bssBytes + product.noinitBytes;
  const ram = staticRam + stackHighWater;
  console.log(`build/mcu/token.elf (wasm2c 1.0.32 output, arm-none-eabi-gcc ${build.optimize}, -mcpu=cortex-m0)`);
  console.log(
    `  flash  ${pad(group(product.flashBytes), 7)} B  (text + rodata + data image)          budget ${group(FLASH_BUDGET)} B  ${verdict(product.flashBytes <= FLASH_BUDGET)}`,
  );
  console.log(
    `  RAM    ${pad(group(ram), 7)} B  (data ${product.dataBytes} + bss ${group(product.bssBytes)} + noinit ${product.noinitBytes} + stack high-water ${group(stackHighWater)})  budget ${group(RAM_BUDGET)} B  ${verdict(ram <= RAM_BUDGET)}`,
  );
  console.log(
    `         of which the firmware's linear memory ${group(product.memoryBytes)} B (its staticBytes() ${group(product.staticBytes)}, rounded to 8); the stack region is ${group(product.stackBytes)} B`,
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
    ["press until the code is drawn", "press", "press"],
    ["  the once-an-hour press (records the time in flash)", "pressRecordingTime", "press"],
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
  console.log(`\nbattery: CR2032 (225 mAh to 2.0 V, 1 %/year self-discharge), nRF51822 asleep in System ON with its RTC, ${PANEL.part},`);
  console.log(
    `the panel on 60 s per press and refreshed every second; low-battery warning below ${LOW_BATTERY_MILLIVOLTS} mV, no code below ${BROWN_OUT_MILLIVOLTS} mV;`,
  );
  console.log(`the CPU's time at CPI ${ASSUMED_CPI} (docs/hardware.md)\n`);
  console.log(
    `${pad("presses a day", 14)} ${pad("average µA", 11)} ${pad("years to warning", 17)} ${pad("years to last code", 19)} ${pad("warning lead", 13)}  goal`,
  );
  for (const presses of [5, 10, 20]) {
    const life = lifetime({ pressesPerDay: presses }, LOW_BATTERY_MILLIVOLTS, BROWN_OUT_MILLIVOLTS, costs);
    const goal =
      presses === 10 ? `>= 7 years ${verdict(life.lastCodeYears >= 7)}, lead >= 30 days ${verdict(life.warningLeadDays >= 30)}` : "";
    console.log(
      `${pad(presses, 14)} ${pad(life.averageMicroamps.toFixed(2), 11)} ${pad(life.warningYears.toFixed(2), 17)} ${pad(life.lastCodeYears.toFixed(2), 19)} ${pad(`${life.warningLeadDays.toFixed(0)} days`, 13)}  ${goal}`,
    );
  }
  const drift = (Object.keys(costs) as OperationName[])
    .map(
      (k) =>
        `${k} ${costs[k].instructions} (${MEASURED_COSTS[k].instructions}), ${costs[k].panelLines} lines (${MEASURED_COSTS[k].panelLines})`,
    )
    .join("; ");
  console.log(`\nmeasured now (host/board/energy.ts's recorded costs, which the board simulator uses): ${drift}`);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s of wall time for the emulated measurements)`);
}

await main();
