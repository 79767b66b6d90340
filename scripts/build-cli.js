#!/usr/bin/env node
// Builds the otp-token command (package.json "bin") with esbuild: dist/host/cli.js (host/cli.ts, which
// only dispatches) and one entry per subcommand in dist/cli/, the subcommands but `code` sharing chunks.
// Node spends 1-4 ms on each ES module it loads: `otp-token code` through tsc's one file per module
// loads nine, split into shared chunks six, as built here two (dist/host/cli.js and dist/cli/code.js),
// which is what keeps it within 1.3x of bare node (npm run bench: bench/startup.ts). The library
// (dist/host/ but this file) stays tsc's output. A module is bundled into more than one of these files
// (host/usage.ts is in every one): nothing may depend on the identity of its classes across them
// (describeError knows a UsageError by its name).
//
// Code that finds a file relative to its own module (import.meta.url) runs here from a chunk in
// dist/cli/, so:
// - dist/host/ and dist/cli/ are both two levels below the package: the paths the host code finds
//   build/ and dist/web/ by hold in the chunks as in tsc's files;
// - a module started by path (a worker thread) is an entry below, written beside the chunks under the
//   name its starter asks for: host/bank/sqlite/store.ts starts "./worker.js", host/bank/api/pskc-off-loop.ts
//   "./pskc-worker.js".
import { chmodSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
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
// The subcommands (host/cli.ts's COMMANDS): each an entry of its own in dist/cli/, which dist/host/cli.js
// imports by that name.
const SUBCOMMANDS = {
  bank: "host/cli/bank.ts",
  code: "host/cli/code.ts",
  demo: "host/cli/demo.ts",
  mcu: "host/cli/mcu.ts",
  serve: "host/web/command.ts",
  sim: "host/cli/sim.ts",
  token: "host/cli/token.ts",
};
// `otp-token code` is the one a script calls in a loop: its entry is one self-contained file (no chunks
// shared with the other subcommands), so the command loads two modules, dist/host/cli.js and it.
const STANDALONE = new Set(["code"]);
const common = {
  outdir: join(root, "dist"),
  bundle: true,
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
};
// host/cli.ts's dynamic imports of its subcommands become imports of their entries (external here).
const subcommandEntries = {
  name: "subcommand-entries",
  setup(b) {
    b.onResolve({ filter: /^\.\/(cli|web)\/[\w-]+\.js$/ }, (args) => {
      if (args.kind !== "dynamic-import" || args.importer !== join(root, "host/cli.ts")) return undefined;
      const source = relative(root, join(dirname(args.importer), args.path.replace(/\.js$/, ".ts")));
      const name = Object.keys(SUBCOMMANDS).find((key) => SUBCOMMANDS[key] === source);
      if (!name) return { errors: [{ text: `${source} is not in scripts/build-cli.js's SUBCOMMANDS` }] };
      return { path: `../cli/${name}.js`, external: true };
    });
  },
};
const entries = (names) => Object.fromEntries(names.map((name) => [`cli/${name}`, join(root, SUBCOMMANDS[name])]));
const results = await Promise.all([
  build({ ...common, entryPoints: { "host/cli": join(root, "host/cli.ts") }, plugins: [subcommandEntries] }),
  build({
    ...common,
    entryPoints: {
      ...entries(Object.keys(SUBCOMMANDS).filter((name) => !STANDALONE.has(name))),
      "cli/worker": join(root, "host/bank/sqlite/worker.ts"),
      "cli/pskc-worker": join(root, "host/bank/api/pskc-worker.ts"),
    },
    chunkNames: "cli/[name]-[hash]",
    splitting: true,
  }),
  ...[...STANDALONE].map((name) => build({ ...common, entryPoints: entries([name]) })),
]);
chmodSync(join(root, "dist/host/cli.js"), 0o755);
// Chunk names carry a hash of their content: remove those of earlier builds only now, so a command
// started before this build still finds its chunks.
const written = new Set(results.flatMap(({ metafile }) => Object.keys(metafile.outputs).map((path) => join(root, path))));
for (const file of readdirSync(join(root, "dist/cli"))) {
  if (!written.has(join(root, "dist/cli", file))) rmSync(join(root, "dist/cli", file));
}
