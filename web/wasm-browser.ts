// The browser's stand-in for host/wasm.ts (scripts/build-web.js swaps it in when bundling): the page
// compiles build/token.wasm once, asynchronously (as browsers require for a module this size), and
// host/token/firmware.ts then instantiates it synchronously (host/wasm-instance.ts), as in Node.
import { instantiateModule } from "../host/wasm-instance.js";

const modules = new Map<string, WebAssembly.Module>();

/** Fetches and compiles `/file` (e.g. token.wasm) so instantiate(file) can run synchronously. */
export async function preloadModule(file: string): Promise<void> {
  const response = await fetch(`/${file}`);
  if (!response.ok) throw new Error(`/${file}: HTTP ${response.status}; run npm run build`);
  modules.set(file, await WebAssembly.compileStreaming(response));
}

export function buildDir(): string {
  throw new Error("there is no build/ folder in the browser: use preloadModule()");
}

export function wasmModule(file: string): WebAssembly.Module {
  const module = modules.get(file);
  if (!module) throw new Error(`${file} was not preloaded: call preloadModule("${file}") first`);
  return module;
}

export function wasmBytes(): Uint8Array<ArrayBuffer> {
  throw new Error("wasm bytes are not kept in the browser");
}

/** Instantiates `file` (see host/wasm-instance.ts): raw functions, constants as numbers. */
export function instantiate<T>(file: string, imports: Record<string, unknown> = {}): T {
  return instantiateModule<T>(wasmModule(file), imports);
}
