// ABI 4: the firmware imports lightSensors (the optical channel's five sensors) and shows a transfer,
// so its interface is not ABI 3's. The host refuses a module that speaks another version, with an
// error that says which and what to do; here a built module is patched to answer another version.
import { describe, expect, it } from "vitest";
import { ABI_VERSION } from "../host/abi.js";
import { CORE_FILES, CoreInstance } from "../host/core.js";
import { FIRMWARE_FILES, type FirmwareBuild, loadFirmware } from "../host/token/firmware.js";
import { wasmBytes } from "../host/wasm.js";
import { registerWasmModule } from "../host/wasm-registry.js";

/** Reads an unsigned LEB128 at `bytes[at]`: [value, the offset after it]. */
function leb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [value, at];
  }
}

/**
 * A copy of `module` whose abiVersion() answers `version` (0-63): the export's body must be the
 * "no locals, i32.const ABI_VERSION, end" of a release build or the "global.get, return" of a debug one.
 */
function withAbiVersion(module: Uint8Array, version: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(module);
  let importedFunctions = 0;
  let abiFunction = -1;
  let codeStart = -1;
  for (let at = 8; at < bytes.length; ) {
    const id = bytes[at];
    const [size, body] = leb(bytes, at + 1);
    let p = body;
    if (id === 2 || id === 7) {
      let count: number;
      [count, p] = leb(bytes, p);
      for (let i = 0; i < count; i++) {
        if (id === 2) {
          for (let name = 0; name < 2; name++) {
            const [length, start] = leb(bytes, p);
            p = start + length; // the module's name, then the field's
          }
          const kind = bytes[p++];
          if (kind === 0) {
            importedFunctions++;
            [, p] = leb(bytes, p);
          } else if (kind === 1)
            p += bytes[p + 1] & 1 ? 4 : 3; // table: type, limits (flag, min[, max]), one-byte LEBs here
          else if (kind === 2)
            p += bytes[p] & 1 ? 3 : 2; // memory: limits
          else p += 2; // global: type, mutability
        } else {
          const [nameLength, name] = leb(bytes, p);
          const text = new TextDecoder().decode(bytes.subarray(name, name + nameLength));
          p = name + nameLength;
          const kind = bytes[p++];
          let index: number;
          [index, p] = leb(bytes, p);
          if (kind === 0 && text === "abiVersion") abiFunction = index;
        }
      }
    }
    if (id === 10) codeStart = body;
    at = body + size;
  }
  expect(abiFunction).toBeGreaterThanOrEqual(importedFunctions);
  let [count, p] = leb(bytes, codeStart);
  expect(count).toBeGreaterThan(abiFunction - importedFunctions);
  for (let i = 0; i < abiFunction - importedFunctions; i++) {
    const [size, body] = leb(bytes, p);
    p = body + size;
  }
  const [size, body] = leb(bytes, p);
  const code = Array.from(bytes.subarray(body, body + size));
  if (code[1] === 0x41) {
    // The optimised builds: i32.const ABI_VERSION.
    expect(code).toEqual([0x00, 0x41, ABI_VERSION, 0x0b]);
    bytes[body + 2] = version;
  } else {
    // The debug builds: global.get $ABI_VERSION, return; becomes i32.const version, return (as long).
    expect(code.length).toBe(5);
    expect([code[0], code[1], code[3], code[4]]).toEqual([0x00, 0x23, 0x0f, 0x0b]);
    bytes.set([0x41, version], body + 1);
  }
  return bytes;
}

const noHal = () => new Proxy({}, { get: (_, name) => (name === "rtcNow" ? () => 0n : () => 0) });
/** A HAL of functions that do nothing, one for each import of the firmware. */
const idleHal = (file: string) =>
  Object.fromEntries(
    WebAssembly.Module.imports(new WebAssembly.Module(wasmBytes(file))).map((i) => [i.name, i.name === "rtcNow" ? () => 0n : () => 0]),
  );

describe("ABI version", () => {
  it("is 4, the firmware's since it reads the light sensors", () => {
    expect(ABI_VERSION).toBe(4);
    for (const file of Object.values(FIRMWARE_FILES)) {
      const module = new WebAssembly.Module(wasmBytes(file));
      expect(WebAssembly.Module.imports(module).map((i) => i.name)).toContain("lightSensors");
      const instance = new WebAssembly.Instance(module, { hal: noHal() });
      expect((instance.exports.abiVersion as () => number)()).toBe(4);
    }
  });

  it.each(["release", "debug"] as FirmwareBuild[])("the host refuses %s firmware that speaks ABI 3, saying so", (build) => {
    const file = FIRMWARE_FILES[build];
    registerWasmModule(file, new WebAssembly.Module(withAbiVersion(wasmBytes(file), 3)));
    expect(() => loadFirmware(build, () => idleHal(file))).toThrow(`${file} speaks ABI 3, the host expects 4: rebuild with npm run build`);
    registerWasmModule(file, new WebAssembly.Module(withAbiVersion(wasmBytes(file), 5)));
    expect(() => loadFirmware(build, () => idleHal(file))).toThrow(`${file} speaks ABI 5, the host expects 4`);
  });

  it("the host refuses a core of another version", () => {
    const file = CORE_FILES.small;
    registerWasmModule(file, new WebAssembly.Module(withAbiVersion(wasmBytes(file), 3)));
    expect(() => new CoreInstance(file)).toThrow(`${file} speaks ABI 3, the host expects 4: rebuild with npm run build`);
  });
});
