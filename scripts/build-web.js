#!/usr/bin/env node
// Builds the browser simulator into dist/web/: web/main.ts bundled with esbuild (the board, the token
// and its link from host/) as app.js, plus the page's static files. The
// firmware itself is not copied: the server serves build/token.wasm as /token.wasm.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/web");
mkdirSync(out, { recursive: true });

/** host/wasm.ts reads build/ with node:fs; in the page web/wasm-browser.ts takes its place. */
const browserWasm = {
  name: "browser-wasm",
  setup(b) {
    b.onResolve({ filter: /(^|\/)wasm\.js$/ }, (args) =>
      args.importer.startsWith(join(root, "host")) ? { path: join(root, "web/wasm-browser.ts") } : undefined,
    );
  },
};

await build({
  entryPoints: [join(root, "web/main.ts")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  inject: [join(root, "web/buffer-shim.ts")],
  plugins: [browserWasm],
  logLevel: "warning",
});
for (const file of ["index.html", "style.css", "favicon.svg"]) copyFileSync(join(root, "web", file), join(out, file));
console.log(`web: dist/web/ (app.js, ${["index.html", "style.css", "favicon.svg"].join(", ")})`);
