#!/usr/bin/env node
// Builds every WebAssembly module from assembly/ into build/.
// One table of targets: each entry file is built as a speed-optimised release (core only), a
// size-optimised release and a debug build with its text (.wat) beside it. Every build uses the stub
// runtime and exactly one 64 KiB page of memory, initial and maximum (the firmware never grows it).
import asc from "assemblyscript/asc";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// The flag sets live in asconfig.json (its "targets": speed, size, debug; its "options": the stub
// runtime and one 64 KiB page, initial and maximum). The debug target counts compression-function
// calls (COUNT_COMPRESSIONS) so tests can prove costs.
const speed = ["--target", "speed"];
const size = ["--target", "size"];
const debug = ["--target", "debug"];
// Debug builds also get a source map (asconfig.json "sourceMap"): build/X.debug.wasm.map, named by
// the module's sourceMappingURL section, with the sources inside it. A wasm frame in a stack trace
// (wasm-function[i]:0xOFFSET) then maps to an AssemblyScript line, and a debugger shows the line.
// The token's faults go to its HAL (hal.fault), not to an env.abort import with strings.
const firmware = ["--use", "abort=assembly/hal/onAbort"];

/** entry file -> the builds made of it: [output name, flags, write .wat] */
export const targets = {
  "assembly/token.ts": [
    ["token.wasm", [...size, ...firmware], false],
    ["token.debug.wasm", [...debug, ...firmware], true],
  ],
  "assembly/kdf-core.ts": [
    ["kdf.wasm", speed, false],
    ["kdf.small.wasm", size, false],
    ["kdf.debug.wasm", debug, true],
  ],
  "assembly/core.ts": [
    ["core.wasm", speed, false],
    ["core.small.wasm", size, false],
    ["core.debug.wasm", debug, true],
  ],
  "assembly/display/harness.ts": [
    ["display.debug.wasm", debug, true],
    ["display.wasm", size, false],
  ],
};

async function build(entry, out, flags, wat) {
  const args = [entry, "--config", "asconfig.json", "-o", join("build", out), ...flags];
  if (wat) args.push("-t", join("build", out.replace(/\.wasm$/, ".wat")));
  let log = "";
  const sink = {
    write: (s) => {
      log += s;
      return true;
    },
  };
  const { error } = await asc.main(args, { stdout: sink, stderr: sink });
  if (error) {
    process.stderr.write(log);
    throw new Error(`building ${out} from ${entry} failed: ${error.message}`);
  }
  // asc names the sources relative to this folder (assembly/x.ts) but sets sourceRoot to
  // "./<output name>"; the map lives in build/, so the folder is one level up.
  const map = join("build", `${out}.map`);
  if (flags.includes("debug")) writeFileSync(map, JSON.stringify({ ...JSON.parse(readFileSync(map, "utf8")), sourceRoot: "../" }));
}

process.chdir(root);
mkdirSync("build", { recursive: true });
const only = process.argv[2];
for (const [entry, builds] of Object.entries(targets)) {
  for (const [out, flags, wat] of builds) {
    if (only && !out.startsWith(only)) continue;
    await build(entry, out, flags, wat);
  }
}
