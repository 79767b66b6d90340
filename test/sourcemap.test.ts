// Debug builds carry source maps (asconfig.json "sourceMap", scripts/build-wasm.js): a wasm frame of a
// stack trace maps to the AssemblyScript line it ran, which is what a debugger shows. Release builds
// carry none. The maps are read with source-map-js (a decoder we did not write).
import { existsSync, readFileSync } from "node:fs";
import asc from "assemblyscript/asc";
import { SourceMapConsumer } from "source-map-js";
import { describe, expect, it } from "vitest";
import { Board } from "../host/board/board.js";
import { CORE_FILES } from "../host/core.js";
import { FIRMWARE_FILES, loadFirmware } from "../host/token/firmware.js";
import { buildDir } from "../host/wasm.js";
import { instantiateModule } from "../host/wasm-instance.js";

/** The UTF-8 value of the module's `sourceMappingURL` custom section, or undefined. */
function sourceMappingUrl(file: string): string | undefined {
  const module = new WebAssembly.Module(readFileSync(buildDir() + file));
  const [section] = WebAssembly.Module.customSections(module, "sourceMappingURL");
  if (!section) return undefined;
  const bytes = new Uint8Array(section);
  // The section holds one name: its length (LEB128; under 128 here) and its bytes.
  return Buffer.from(bytes.subarray(1, 1 + bytes[0])).toString("utf8");
}

/** The wasm frames (function name, byte offset in the module) of the error `run` throws. */
function wasmFrames(run: () => unknown): { name: string; offset: number }[] {
  const { prepareStackTrace, stackTraceLimit } = Error;
  Error.prepareStackTrace = (_error, sites) => sites;
  Error.stackTraceLimit = 50;
  try {
    run();
  } catch (error) {
    const sites = (error as { stack: unknown }).stack as NodeJS.CallSite[];
    // For a wasm frame V8 reports line 1 and column = byte offset + 1.
    return sites
      .filter((site) => site.getFileName()?.startsWith("wasm://"))
      .map((site) => ({ name: site.getFunctionName() ?? "?", offset: (site.getColumnNumber() ?? 0) - 1 }));
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
  throw new Error("expected an error");
}

const DEBUG_FILES = [CORE_FILES.debug, FIRMWARE_FILES.debug];
const RELEASE_FILES = [CORE_FILES.release, CORE_FILES.small, FIRMWARE_FILES.release];

describe("source maps of the debug builds", () => {
  it.each(DEBUG_FILES)("%s names its map, which holds the AssemblyScript sources", (file) => {
    expect(sourceMappingUrl(file)).toBe(`./${file}.map`);
    const map = JSON.parse(readFileSync(`${buildDir()}${file}.map`, "utf8"));
    const own = (map.sources as string[]).filter((source) => source.startsWith("assembly/"));
    expect(own.length).toBeGreaterThan(3);
    const abi = (map.sources as string[]).indexOf("assembly/abi.ts");
    expect(map.sourcesContent[abi]).toBe(readFileSync(new URL("../assembly/abi.ts", import.meta.url), "utf8"));
  });

  it.each(RELEASE_FILES)("%s has none", (file) => {
    expect(sourceMappingUrl(file)).toBeUndefined();
    expect(existsSync(`${buildDir()}${file}.map`)).toBe(false);
  });

  it("a power cut inside the debug firmware points at the AssemblyScript line that was writing flash", () => {
    // The board cuts power by throwing from hal.flashProgram (host/board/flash.ts): the wasm frames
    // of that stack are the firmware's call chain at the moment the power went.
    const board = new Board({ randomSeed: 7 });
    board.flash.cutPowerAfter(1, "clean");
    const firmware = loadFirmware("debug", (memory) => ({ ...board.halImports(memory) }));
    const frames = wasmFrames(() => firmware.boot());
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.at(-1)?.name).toBe("assembly/token/boot");

    const map = new SourceMapConsumer(JSON.parse(readFileSync(`${buildDir()}${FIRMWARE_FILES.debug}.map`, "utf8")));
    const lines = frames.map(({ offset }) => map.originalPositionFor({ line: 1, column: offset }));
    // Binaryen maps the expressions it kept a location for; every frame that maps lands in assembly/.
    for (const position of lines.filter((p) => p.source !== null)) expect(position.source).toMatch(/(^|\/)assembly\/.+\.ts$/);
    // The innermost frame is the call of the HAL: its line in assembly/store/store.ts calls flashProgram.
    const inner = lines[0];
    expect(inner.source).toMatch(/assembly\/store\/store\.ts$/);
    const source = readFileSync(new URL("../assembly/store/store.ts", import.meta.url), "utf8").split("\n");
    expect(source[inner.line - 1]).toContain("flashProgram(");
    // The outermost is the export the host called.
    expect(lines.at(-1)?.source).toMatch(/assembly\/token\.ts$/);
  });
});

describe("instantiating a module compiled with asserts", () => {
  it("an AssemblyScript abort becomes an Error naming the message, file, line and column", async () => {
    // Our own builds route or strip abort; a module that imports env.abort still gets one.
    const { binary, error } = await asc.compileString(
      { "limits.ts": 'export function positive(x: i32): i32 {\n  assert(x > 0, "x must be positive");\n  return x;\n}\n' },
      { debug: true, runtime: "stub" },
    );
    expect(error).toBeNull();
    const module = new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>);
    expect(WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`)).toEqual(["env.abort"]);
    const exports = instantiateModule<{ positive(x: number): number }>(module);
    expect(exports.positive(5)).toBe(5);
    expect(() => exports.positive(0)).toThrow(/^abort: x must be positive at limits\.ts:2:\d+$/);
  }, 60_000);
});
