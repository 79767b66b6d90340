// Locating and loading the WebAssembly modules built into build/ by scripts/build-wasm.js.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { instantiateModule } from "./wasm-instance.js";
import { registeredWasmModule } from "./wasm-registry.js";

/** The build/ folder: beside host/ when run from source (tests), two levels up from dist/host/. */
export function buildDir(): string {
  for (const relative of ["../build/", "../../build/"]) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}core.wasm`)) return dir;
  }
  throw new Error(
    'build/core.wasm is not beside this code: in a checkout, run `npm run build`; in a bundle, bundle otp-token\'s "module" entry (it carries the core) or copy build/ beside the bundle',
  );
}

const modules = new Map<string, WebAssembly.Module>();

/** The compiled module for a file in build/, compiled once per process. */
export function wasmModule(file: string): WebAssembly.Module {
  let module = modules.get(file) ?? registeredWasmModule(file);
  if (!module) {
    module = new WebAssembly.Module(readFileSync(buildDir() + file));
    modules.set(file, module);
  }
  return module;
}

export function wasmBytes(file: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(buildDir() + file));
}

/** Instantiates `file` (see host/wasm-instance.ts): raw functions, constants as numbers. */
export function instantiate<T>(file: string, imports: Record<string, unknown> = {}): T {
  return instantiateModule<T>(wasmModule(file), imports);
}
