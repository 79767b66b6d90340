// Shared by the tests: every test that runs wasm runs it on each build of the same sources.
import type { CoreBuild } from "../host/core.js";

/** Release (speed), release (size) and debug builds of the core. */
export const CORE_BUILDS: CoreBuild[] = ["release", "small", "debug"];

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
export const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"));
export const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"));

/** A deterministic byte pattern, different for every (length, seed). */
export function pattern(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = (seed * 2654435761 + length * 40503 + 1) >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}
