// Properties of the built modules that are exact and can be checked: one page of memory, never
// grown; no allocator; sizes within budget; the two ABI files agree.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as hostAbi from "../host/abi.js";
import { CORE_FILES } from "../host/core.js";
import { buildDir, wasmBytes } from "../host/wasm.js";

/** Parses `export const NAME: type = value;` lines of assembly/abi.ts. */
function assemblyConstants(): Record<string, number> {
  const source = readFileSync(new URL("../assembly/abi.ts", import.meta.url), "utf8");
  const constants: Record<string, number> = {};
  for (const match of source.matchAll(/^export const (\w+): \w+ = (-?\d+);/gm)) constants[match[1]] = Number(match[2]);
  return constants;
}

describe("built modules", () => {
  it.each(Object.values(CORE_FILES))("%s: one 64 KiB page, initial and maximum, never grown, nothing allocated", (file) => {
    const module = new WebAssembly.Module(wasmBytes(file));
    const memory = WebAssembly.Module.exports(module).find((e) => e.name === "memory");
    expect(memory?.kind).toBe("memory");
    const instance = new WebAssembly.Instance(module, { env: { abort() { throw new Error("abort"); } } });
    const buffer = (instance.exports.memory as WebAssembly.Memory).buffer;
    expect(buffer.byteLength).toBe(65536);
    expect(() => (instance.exports.memory as WebAssembly.Memory).grow(1)).toThrow();
  });

  it("the debug text has no memory.grow and no allocator", () => {
    const wat = readFileSync(buildDir() + "core.debug.wat", "utf8");
    expect(wat).toContain("(memory $0 1 1)");
    expect(wat).not.toContain("memory.grow");
    expect(wat).not.toMatch(/__alloc|__new/);
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
