// host/wasm.ts for browser bundles: package.json's "browser" field maps dist/host/wasm.js to this file,
// so a bundler targeting the browser (esbuild --platform=browser, webpack, Vite) takes no node:fs. The
// core (build/core.wasm) comes inlined (dist/host/core-wasm.js, base64: about 24 KB for 18 KB of wasm)
// and is compiled asynchronously at import (top-level await: browsers refuse to compile a module over
// 4 KB synchronously on the main thread), so `import { totp } from "otp-token"` works as in Node.
// The other modules (the token's firmware, the small and debug cores) are the page's to preload.
import { CORE_WASM_BASE64 } from "./core-wasm.js";
import { instantiateModule } from "./wasm-instance.js";
import { inlinedBytes, registeredWasmModule, registerWasmModule } from "./wasm-registry.js";

if (!registeredWasmModule("core.wasm")) registerWasmModule("core.wasm", await WebAssembly.compile(inlinedBytes(CORE_WASM_BASE64)));

export function buildDir(): string {
  throw new Error("there is no build/ folder in a browser bundle: register the module (host/wasm-registry.ts)");
}

export function wasmModule(file: string): WebAssembly.Module {
  const module = registeredWasmModule(file);
  if (!module) throw new Error(`${file} is not in this browser bundle: compile it and registerWasmModule("${file}", module) first`);
  return module;
}

export function wasmBytes(): Uint8Array<ArrayBuffer> {
  throw new Error("wasm bytes are not kept in a browser bundle");
}

/** Instantiates `file` (see host/wasm-instance.ts): raw functions, constants as numbers. */
export function instantiate<T>(file: string, imports: Record<string, unknown> = {}): T {
  return instantiateModule<T>(wasmModule(file), imports);
}
