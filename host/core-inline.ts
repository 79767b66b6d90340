// Registers the inlined core (dist/host/core-wasm.js) as build/core.wasm, synchronously (Node compiles
// a module of any size synchronously); imported first by host/index.bundle.ts.
import { CORE_WASM_BASE64 } from "./core-wasm.js";
import { inlinedBytes, registeredWasmModule, registerWasmModule } from "./wasm-registry.js";

if (!registeredWasmModule("core.wasm")) registerWasmModule("core.wasm", new WebAssembly.Module(inlinedBytes(CORE_WASM_BASE64)));
