// Instantiating a compiled module, shared by Node (host/wasm.ts) and the browser bundle
// (web/wasm-browser.ts), which differ only in how they get the compiled module. Our modules take
// numbers only (no managed objects, stub runtime), so plain WebAssembly.Instance is all it takes:
// no glue library (@assemblyscript/loader was one: an install dependency and, resolved as a package,
// ~5 ms on every start of the otp-token command for nothing our modules use).

/** AssemblyScript's `abort(message, file, line, column)`; a module compiled with asserts imports it. */
function abortImport(memory: () => WebAssembly.Memory | undefined) {
  return (message: number, file: number, line: number, column: number): never => {
    throw new Error(`abort: ${readString(memory(), message)} at ${readString(memory(), file)}:${line}:${column}`);
  };
}

/** An AssemblyScript string in memory: UTF-16 code units, the byte length in the 4 bytes before it. */
function readString(memory: WebAssembly.Memory | undefined, pointer: number): string {
  if (!memory || pointer === 0) return "?";
  const bytes = new Uint32Array(memory.buffer)[(pointer - 4) >>> 2];
  return String.fromCharCode(...new Uint16Array(memory.buffer, pointer, bytes >>> 1));
}

/**
 * Instantiates `module` and returns its exports: functions as the raw WebAssembly functions,
 * exported constants (globals) read as numbers (bigint for i64), the memory as it is.
 */
export function instantiateModule<T>(module: WebAssembly.Module, imports: Record<string, unknown> = {}): T {
  let memory: WebAssembly.Memory | undefined;
  const env = { abort: abortImport(() => memory), ...(imports.env as object | undefined) };
  const { exports } = new WebAssembly.Instance(module, { ...imports, env } as WebAssembly.Imports);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(exports)) {
    if (value instanceof WebAssembly.Global) {
      out[name] = typeof value.value === "bigint" ? value.value : Number(value.value);
    } else {
      if (value instanceof WebAssembly.Memory) memory = value;
      out[name] = value;
    }
  }
  return out as T;
}
