#!/usr/bin/env node
// Writes dist/host/core-wasm.js: build/core.wasm (the speed build) as base64, for the bundles that
// cannot read build/ (host/wasm.browser.ts, host/index.bundle.ts; its declaration is host/core-wasm.d.ts).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wasm = readFileSync(join(root, "build/core.wasm"));
const out = join(root, "dist/host/core-wasm.js");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `// build/core.wasm (${wasm.length} bytes) as base64: written by scripts/build-inline-wasm.js.\nexport const CORE_WASM_BASE64 = "${wasm.toString("base64")}";\n`,
);
console.log(`inline: dist/host/core-wasm.js (${wasm.length} bytes of wasm)`);
