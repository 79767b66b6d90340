// Properties of the built modules that are exact and can be checked: one page of memory, never
// grown; no allocator; sizes within budget; the two ABI files agree.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as hostAbi from "../host/abi.js";
import { BROWN_OUT_MILLIVOLTS, LOW_BATTERY_MILLIVOLTS } from "../host/board/battery.js";
import { FLASH_PAGE_BYTES, FLASH_SIZE_BYTES } from "../host/board/flash.js";
import { LONG_PRESS_MS } from "../host/board/button.js";
import { CORE_FILES } from "../host/core.js";
import { FIRMWARE_FILES } from "../host/token/firmware.js";
import { buildDir, wasmBytes } from "../host/wasm.js";

/** Parses `export const NAME: type = value;` lines of assembly/abi.ts. */
function assemblyConstants(): Record<string, number> {
  const source = readFileSync(new URL("../assembly/abi.ts", import.meta.url), "utf8");
  const constants: Record<string, number> = {};
  for (const match of source.matchAll(/^export const (\w+): \w+ = (-?\d+);/gm)) constants[match[1]] = Number(match[2]);
  return constants;
}

describe("built modules", () => {
  it.each([...Object.values(CORE_FILES), ...Object.values(FIRMWARE_FILES)])(
    "%s: one 64 KiB page, initial and maximum, never grown, nothing allocated",
    (file) => {
      const module = new WebAssembly.Module(wasmBytes(file));
      const memory = WebAssembly.Module.exports(module).find((e) => e.name === "memory");
      expect(memory?.kind).toBe("memory");
      const hal = new Proxy({}, { get: (_, name) => (name === "rtcNow" ? () => 0n : () => 0) });
      const instance = new WebAssembly.Instance(module, {
        env: {
          abort() {
            throw new Error("abort");
          },
        },
        hal,
      });
      const buffer = (instance.exports.memory as WebAssembly.Memory).buffer;
      expect(buffer.byteLength).toBe(65536);
      expect(() => (instance.exports.memory as WebAssembly.Memory).grow(1)).toThrow();
    },
  );

  it.each(["core.debug.wat", "token.debug.wat"])("%s has no memory.grow and no allocator", (file) => {
    const wat = readFileSync(buildDir() + file, "utf8");
    expect(wat).toContain("(memory $0 1 1)");
    expect(wat).not.toContain("memory.grow");
    expect(wat).not.toMatch(/__alloc|__new/);
  });

  it("the token imports only the hal module", () => {
    for (const file of Object.values(FIRMWARE_FILES)) {
      const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasmBytes(file)));
      expect(imports.every((i) => i.module === "hal")).toBe(true);
    }
  });

  it("token.wasm stays under 24 KiB and its static memory under 8 KiB (a Cortex-M0 token has 16 KiB of RAM)", () => {
    expect(wasmBytes(FIRMWARE_FILES.release).length).toBeLessThan(24 * 1024);
    for (const file of Object.values(FIRMWARE_FILES)) {
      const hal = new Proxy({}, { get: (_, name) => (name === "rtcNow" ? () => 0n : () => 0) });
      const instance = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes(file)), { hal });
      const staticBytes = (instance.exports.staticBytes as () => number)();
      expect(staticBytes).toBeGreaterThan(2048);
      expect(staticBytes).toBeLessThan(8192);
    }
  });

  it("the firmware's board facts agree with the board simulator", () => {
    const assembly = assemblyConstants();
    expect(assembly.FLASH_SIZE_BYTES).toBe(FLASH_SIZE_BYTES);
    expect(assembly.FLASH_PAGE_BYTES).toBe(FLASH_PAGE_BYTES);
    expect(assembly.LOW_BATTERY_MILLIVOLTS).toBe(LOW_BATTERY_MILLIVOLTS);
    expect(assembly.BROWN_OUT_MILLIVOLTS).toBe(BROWN_OUT_MILLIVOLTS);
    expect(assembly.LONG_PRESS_SECONDS * 1000).toBe(LONG_PRESS_MS);
  });

  it("the size-optimised core stays under 8 KiB", () => {
    expect(wasmBytes(CORE_FILES.small).length).toBeLessThan(8192);
  });

  it("host/abi.ts mirrors assembly/abi.ts exactly", () => {
    const assembly = assemblyConstants();
    expect(Object.keys(assembly).length).toBeGreaterThan(5);
    const host: Record<string, unknown> = { ...hostAbi };
    delete host.STATUS_TEXT;
    expect(host).toEqual(assembly);
  });
});
