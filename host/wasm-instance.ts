// Instantiating a compiled module with @assemblyscript/loader, shared by Node (host/wasm.ts) and the
// browser bundle (web/wasm-browser.ts), which differ only in how they get the compiled module. The
// loader supplies AssemblyScript's `env.abort` (a module compiled with asserts imports it) and decodes
// its message and source position; the otp-token command carries the loader bundled in (see
// scripts/build-cli.js), so it costs no package resolution at start-up.
import { type Imports, instantiateSync } from "@assemblyscript/loader";

/**
 * Instantiates `module` and returns its exports with functions unwrapped to the raw WebAssembly
 * functions (the loader's wrappers cost a rest-array per call on hot paths), exported constants
 * (globals) read as numbers (bigint for i64) and the memory as it is.
 */
export function instantiateModule<T>(module: WebAssembly.Module, imports: Record<string, unknown> = {}): T {
  const { exports } = instantiateSync(module, imports as Imports);
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
