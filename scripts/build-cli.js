#!/usr/bin/env node
// Builds the otp-token command (package.json "bin") into dist/host/cli.js with esbuild: host/cli.ts
// and every subcommand bundled, split at the subcommands' dynamic imports into chunks in dist/cli/.
// Node spends about a millisecond on each ES module it loads; `otp-token code` through tsc's one file
// per module loads nine, bundled it loads six, which is what keeps it within 1.3x of bare node
// (npm run bench: bench/startup.ts). The library (dist/host/ but this file) stays tsc's output.
//
// Code that finds a file relative to its own module (import.meta.url) runs here from a chunk in
// dist/cli/, so:
// - dist/host/ and dist/cli/ are both two levels below the package: the paths the host code finds
//   build/ and dist/web/ by hold in the chunks as in tsc's files;
// - a module started by path (a worker thread) is an entry below, written beside the chunks under the
//   name its starter asks for: host/bank/sqlite/store.ts starts "./worker.js".
import { chmodSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// The packages the command leaves to be loaded from node_modules: every dependency but
// @assemblyscript/loader (a few kilobytes of plain JS on the start-up path of every subcommand, whose
// resolution as a package cost ~5 ms per start; bundled with its licence comment kept).
const { dependencies = {}, peerDependencies = {} } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const BUNDLED = new Set(["@assemblyscript/loader"]);
const external = [...Object.keys(dependencies), ...Object.keys(peerDependencies)]
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);
const { metafile } = await build({
  entryPoints: {
    "host/cli": join(root, "host/cli.ts"),
    "cli/worker": join(root, "host/bank/sqlite/worker.ts"),
  },
  outdir: join(root, "dist"),
  chunkNames: "cli/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Dependencies stay packages, installed beside us under their own licences (better-sqlite3, an
  // optional peer, is loaded at run time by the SQLite store), except the bundled loader above.
  external,
  legalComments: "eof",
  absWorkingDir: root,
  metafile: true,
  logLevel: "warning",
});
chmodSync(join(root, "dist/host/cli.js"), 0o755);
// Chunk names carry a hash of their content: remove those of earlier builds only now, so a command
// started before this build still finds its chunks.
const written = new Set(Object.keys(metafile.outputs).map((path) => join(root, path)));
for (const file of readdirSync(join(root, "dist/cli"))) {
  if (!written.has(join(root, "dist/cli", file))) rmSync(join(root, "dist/cli", file));
}
