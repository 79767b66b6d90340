// The instruction-mix plugin's side in the bench: builds bench/mcu-mix.c with the host's cc, reads the
// windows it writes (one per metered firmware call), turns a mix into Cortex-M0 cycles, and the blocks
// into function names from the ELF's symbols.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const SOURCE = fileURLToPath(new URL("../../bench/mcu-mix.c", import.meta.url));

export interface MixWindow {
  instructions: number;
  alu: number;
  loadStore: number;
  multiply: number;
  loadStoreMultiple: number;
  conditionalBranches: number;
  branches: number;
  branchLinks: number;
  other32: number;
  registersMoved: number;
  popsToPc: number;
  taken: number;
  notTaken: number;
  /** Instructions executed per translation block start address. */
  blocks: Map<number, number>;
}

/** Compiles the plugin into `dir`, or says why it cannot. */
export function buildMixPlugin(dir: string): { path: string } | { skipped: string } {
  const path = join(dir, "mcu-mix.so");
  if (existsSync(path) && statSync(path).mtimeMs >= statSync(SOURCE).mtimeMs) return { path };
  mkdirSync(dirname(path), { recursive: true });
  const result = spawnSync("cc", ["-shared", "-fPIC", "-O2", "-o", path, SOURCE], { encoding: "utf8" });
  if (result.error) return { skipped: "no host C compiler (cc) to build the TCG plugin" };
  if (result.status !== 0) return { skipped: `the TCG plugin did not compile: ${result.stderr.trim().split("\n")[0]}` };
  return { path };
}

/** The last complete window the plugin wrote to `path`. */
export function lastWindow(path: string): MixWindow {
  const text = readFileSync(path, "utf8");
  const start = text.lastIndexOf("\nW ") + 1;
  const lines = text.slice(start).split("\n");
  const w = lines[0].split(" ").slice(1).map(Number);
  if (lines[0][0] !== "W" || w.length !== 13) throw new Error(`no instruction-mix window in ${path}`);
  const blocks = new Map<number, number>();
  for (const line of lines.slice(1)) {
    if (line === "E") break;
    const [, address, count] = line.split(" ");
    blocks.set(parseInt(address, 16), (blocks.get(parseInt(address, 16)) ?? 0) + Number(count));
  }
  const [
    instructions,
    alu,
    loadStore,
    multiply,
    loadStoreMultiple,
    conditionalBranches,
    branches,
    branchLinks,
    other32,
    registersMoved,
    popsToPc,
    taken,
    notTaken,
  ] = w;
  return {
    instructions,
    alu,
    loadStore,
    multiply,
    loadStoreMultiple,
    conditionalBranches,
    branches,
    branchLinks,
    other32,
    registersMoved,
    popsToPc,
    taken,
    notTaken,
    blocks,
  };
}

/**
 * Cycles under the ARM Cortex-M0 TRM's timings (DDI 0432C, Table 3-1): 1 for data processing, 2 for a
 * load or store, 1+N for LDM/STM/PUSH/POP of N registers (4+N for a POP that loads the pc), 3 for a
 * taken branch and 1 for one not taken, 3 for B, BX and BLX, 4 for BL and the other 32-bit
 * instructions, and `multiplyCycles` for MULS (1 with the fast multiplier, 32 with the small one: an
 * implementer's option). No flash wait states.
 */
export function cycles(w: MixWindow, multiplyCycles: number): number {
  return (
    w.alu +
    2 * w.loadStore +
    multiplyCycles * w.multiply +
    w.loadStoreMultiple +
    w.registersMoved +
    3 * w.popsToPc +
    3 * w.taken +
    w.notTaken +
    3 * w.branches +
    4 * w.branchLinks +
    4 * w.other32
  );
}

interface Symbol {
  address: number;
  size: number;
  name: string;
}

/** The ELF's code symbols with their sizes (arm-none-eabi-nm). */
export function codeSymbols(elf: string): Symbol[] {
  const out = spawnSync("arm-none-eabi-nm", ["-S", "-n", elf], { encoding: "utf8" }).stdout ?? "";
  const symbols: Symbol[] = [];
  for (const line of out.split("\n")) {
    const [address, size, type, name] = line.split(" ");
    if (name && /^[tTW]$/.test(type)) symbols.push({ address: parseInt(address, 16) & ~1, size: parseInt(size, 16), name });
  }
  return symbols;
}

/** Instructions per function (the function containing each block's start), largest first. */
export function byFunction(w: MixWindow, symbols: Symbol[]): [string, number][] {
  const totals = new Map<string, number>();
  for (const [address, count] of w.blocks) {
    const symbol = symbols.find((s) => address >= s.address && address < s.address + s.size);
    const name = symbol?.name ?? `0x${address.toString(16)}`;
    totals.set(name, (totals.get(name) ?? 0) + count);
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}
