// Compiled modules handed to the host by a bundle instead of read from build/ (host/wasm.ts asks here
// first): the browser's host/wasm.browser.ts and the single-file Node entry host/index.bundle.ts
// register the core (build/core.wasm) from its bytes inlined into dist/host/core-wasm.js.
const registered = new Map<string, WebAssembly.Module>();

/** Makes `module` the compiled `file` (e.g. "core.wasm") for this process. */
export function registerWasmModule(file: string, module: WebAssembly.Module): void {
  registered.set(file, module);
}

export function registeredWasmModule(file: string): WebAssembly.Module | undefined {
  return registered.get(file);
}

/** The bytes of an inlined module (base64, as dist/host/core-wasm.js holds them). */
export function inlinedBytes(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
