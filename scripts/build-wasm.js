#!/usr/bin/env node
// Builds every WebAssembly module from assembly/ into build/.
// One table of targets: each entry file is built as a speed-optimised release (core only), a
// size-optimised release and a debug build with its text (.wat) beside it. Every build uses the stub
// runtime and exactly one 64 KiB page of memory, initial and maximum (the firmware never grows it).
import asc from "assemblyscript/asc";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const common = ["--runtime", "stub", "--initialMemory", "1", "--maximumMemory", "1", "--disable", "simd"];
const release = ["--noAssert", "--converge"];
const speed = ["--optimizeLevel", "3", "--shrinkLevel", "0", ...release];
const size = ["--optimizeLevel", "3", "--shrinkLevel", "2", ...release];
// The debug build counts compression-function calls (COUNT_COMPRESSIONS) so tests can prove costs.
const debug = ["--debug", "--use", "COUNT_COMPRESSIONS=1"];

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
  "assembly/display/harness.ts": [["display.debug.wasm", debug, true], ["display.wasm", size, false]],
};

async function build(entry, out, flags, wat) {
  const args = [entry, "-o", join("build", out), ...common, ...flags];
  if (wat) args.push("-t", join("build", out.replace(/\.wasm$/, ".wat")));
  let log = "";
  const sink = { write: (s) => { log += s; return true; } };
  const { error } = await asc.main(args, { stdout: sink, stderr: sink });
  if (error) {
    process.stderr.write(log);
    throw new Error(`building ${out} from ${entry} failed: ${error.message}`);
  }
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
