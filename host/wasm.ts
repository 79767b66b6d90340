// Locating and loading the WebAssembly modules built into build/ by scripts/build-wasm.js.
import { instantiateSync, type Imports } from "@assemblyscript/loader";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The build/ folder: beside host/ when run from source (tests), two levels up from dist/host/. */
export function buildDir(): string {
  for (const relative of ["../build/", "../../build/"]) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(dir + "core.wasm")) return dir;
  }
  throw new Error("build/core.wasm is missing: run `npm run build` (npm install does it) first");
}

const modules = new Map<string, WebAssembly.Module>();

/** The compiled module for a file in build/, compiled once per process. */
export function wasmModule(file: string): WebAssembly.Module {
  let module = modules.get(file);
  if (!module) {
    module = new WebAssembly.Module(readFileSync(buildDir() + file));
    modules.set(file, module);
  }
  return module;
}

export function wasmBytes(file: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(buildDir() + file));
}

/**
 * Instantiates with @assemblyscript/loader and returns the exports with functions unwrapped to the
 * raw WebAssembly functions (the loader's wrappers cost a rest-array per call on hot paths) and
 * exported constants read as numbers.
 */
export function instantiate<T>(file: string, imports: Record<string, unknown> = {}): T {
  const { exports } = instantiateSync(wasmModule(file), imports as Imports);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value === "function") {
      out[name] = (value as { original?: unknown }).original ?? value;
    } else if (value instanceof WebAssembly.Global) {
      out[name] = typeof value.value === "bigint" ? value.value : Number(value.value);
    } else {
      out[name] = value;
    }
  }
  return out as T;
}
